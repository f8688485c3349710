"""Each part a crossbar layer composes, against exact references: tiling and the tiled MVM, the DAC, the ADC,
the programmed cells, drift compensation and the digital periphery."""

import math

import pytest
import torch
import torch.nn.functional as F

from neuroemu.crossbar.adc import Adc
from neuroemu.crossbar.cells import Cells
from neuroemu.crossbar.dac import Dac
from neuroemu.crossbar.digital import column_scale, recombine
from neuroemu.crossbar.drift import GlobalDriftCompensation
from neuroemu.crossbar.mapping import map_weights
from neuroemu.crossbar.tiling import TiledMvm, Tiling
from neuroemu.devices import device_model

# ------------------------------------------------------------------ tiling


def test_tiles_cover_the_matrix_and_count_arrays():
    tiling = Tiling(10, 7, 3, (4, 3))
    assert tiling.row_tiles == [(0, 4), (4, 8), (8, 10)] and tiling.col_tiles == [(0, 3), (3, 6), (6, 7)]
    assert tiling.partial_sums == 3 * 3 and tiling.arrays == 3 * 3 * 3
    whole = Tiling(10, 7, 1)
    assert whole.array == (10, 7) and whole.row_tiles == [(0, 10)] and whole.arrays == 1


def test_array_max_and_array_sums_by_hand():
    tiling = Tiling(3, 4, 1, (2, 2))  # row tiles [0, 2), [2, 3); column tiles [0, 2), [2, 4)
    peak = torch.tensor([[1.0, 5.0, 2.0, 0.5], [3.0, 1.0, 0.0, 0.0]])
    assert tiling.array_max(peak).tolist() == [[5.0, 5.0, 2.0, 2.0], [3.0, 3.0, 0.0, 0.0]]
    g_plus = torch.arange(12.0).view(1, 1, 4, 3)  # (T, S, out, in): G⁺[j, i] = 3j + i
    g_minus = torch.ones(1, 1, 4, 3)
    # G⁺ of the arrays (row tile, column tile): (0, 0) inputs 0, 1 of outputs 0, 1: 0+1+3+4 = 8;
    # (0, 1): 6+7+9+10 = 32; (1, 0) input 2: 2+5 = 7; (1, 1): 8+11 = 19; G⁻ adds one per cell: 4, then 2
    expected = [[12.0, 12.0, 36.0, 36.0], [9.0, 9.0, 21.0, 21.0]]
    assert tiling.array_sums(g_plus, g_minus)[0].tolist() == expected
    reference = torch.full((1, 1, 1, 3), 3.0)  # one reference column per array, counted once: 2 then 1 cell
    expected = [[14.0, 14.0, 38.0, 38.0], [10.0, 10.0, 22.0, 22.0]]
    assert tiling.array_sums(g_plus, reference)[0].tolist() == expected


@pytest.mark.parametrize("array", [None, (5, 4), (16, 2)])
def test_tiled_partial_sums_add_up_to_the_matrix_product(array):
    torch.manual_seed(0)
    trials, slices, out, inp, batch = 2, 2, 6, 12, 3
    g = torch.randn(trials, slices, out, inp, dtype=torch.float64)
    x = torch.randn(batch * trials, inp, dtype=torch.float64)
    tiling = Tiling(inp, out, slices, array)
    mvm = TiledMvm(tiling, None, (inp,))
    p = mvm.partial_sums(x, trials, mvm.weights(g))  # (B, T, K, out)
    k = tiling.partial_sums
    assert p.shape == (batch, trials, k, out)
    total = p.view(batch, trials, len(tiling.row_tiles), slices, out).sum(2)  # over row tiles
    xt = x.view(batch, trials, inp)
    exact = torch.einsum("bti,tsoi->btso", xt, g)
    assert torch.allclose(total, exact, rtol=0, atol=1e-12)


def test_tiled_convolution_partial_sums_add_up_to_the_convolution():
    torch.manual_seed(1)
    trials, out, kernel, batch = 2, 3, (2, 3, 3), 2
    inp = math.prod(kernel)
    g = torch.randn(trials, 1, out, inp, dtype=torch.float64)
    x = torch.randn(batch * trials, 2, 6, 6, dtype=torch.float64)
    conv = {"stride": (1, 1), "padding": (1, 1), "dilation": (1, 1)}
    mvm = TiledMvm(Tiling(inp, out, 1, (7, 2)), conv, kernel)
    p = mvm.partial_sums(x, trials, mvm.weights(g))  # (B, T, K = 3 row tiles, out, 6, 6)
    assert p.shape == (batch, trials, 3, out, 6, 6)
    for t in range(trials):
        exact = F.conv2d(x.view(batch, trials, 2, 6, 6)[:, t], g[t, 0].view(out, *kernel), **conv)
        assert torch.allclose(p[:, t].sum(1), exact, rtol=0, atol=1e-12)


# ------------------------------------------------------------------ DAC


def test_dac_codes_by_hand():
    x = torch.tensor([-1.0, -0.3, 0.0, 0.2, 0.5, 0.99, 2.0])
    unsigned = Dac(3, 1.0, False)  # codes 0..7, step 1/7
    assert unsigned.codes(x).tolist() == [0, 0, 0, 1, 4, 7, 7] and unsigned.unit == pytest.approx(1 / 7)
    signed = Dac(3, 1.0, True)  # codes -4..3, step 1/4
    assert signed.codes(x).tolist() == [-4, -1, 0, 1, 2, 3, 3] and signed.unit == 0.25
    assert Dac(None, "calibrated", None).codes(x) is x and Dac(None, 1.0, None).unit == 1.0


@pytest.mark.parametrize("signed", [False, True])
def test_bit_planes_reconstruct_the_codes(signed):
    dac = Dac(5, 1.0, signed, bit_serial=True)
    codes = dac.codes(torch.linspace(-1.2, 1.2, 101))
    planes, weights = dac.bit_planes(codes)
    assert planes.shape == (5, 101) and set(planes.unique().tolist()) <= {0.0, 1.0}
    assert torch.equal((planes * weights.view(-1, 1)).sum(0), codes)
    assert dac.cycles == 5 and dac.event_bits == 1


def test_dac_calibration_range_sign_and_two_level_drivers():
    dac = Dac(4, "calibrated", None)
    with pytest.raises(RuntimeError, match="not calibrated"):
        dac.codes(torch.zeros(1))
    dac.observe(torch.tensor([0.1, 0.7]))
    dac.observe(torch.tensor([0.3, 1.6]))
    dac.finish_calibration()
    assert dac.full_scale == pytest.approx(1.6) and dac.signed is False  # no negative input: unsigned
    forced = Dac(4, "calibrated", True)
    forced.observe(torch.tensor([0.5]))
    forced.finish_calibration()
    assert forced.signed is True and forced.codes_per_full_scale == 8
    binary = Dac(8, "calibrated", None, bit_serial=True)
    binary.observe(torch.tensor([1.0, -1.0, 1.0]))
    binary.finish_calibration()
    assert binary.two_level and (binary.bits, binary.bit_serial, binary.codes_per_full_scale) == (1, False, 1)
    assert binary.codes(torch.tensor([-1.0, 0.0, 1.0])).tolist() == [-1.0, 1.0, 1.0]
    assert binary.unit == 1.0 and binary.cycles == 1 and binary.event_bits == 1


# ------------------------------------------------------------------ ADC


def test_adc_fixed_range_rounds_and_clips_by_hand():
    # 3 bits, full scale 2 devices x 10 S x 1 code: 20 S, LSB 5 S, codes -4..3
    adc = Adc(3, 2.0, 0.0, shape=(1, 4), g_range=10.0, seed=0)
    fs = adc.full_scale(codes_per_full_scale=1)
    assert fs.tolist() == [[20.0] * 4]
    lsb = adc.lsb(fs)
    p = torch.tensor([7.4, 7.6, -12.6, 99.0]).view(1, 1, 1, 4)  # (rows, T, K, out)
    assert adc.convert(p.clone(), lsb).flatten().tolist() == [1.0, 2.0, -3.0, 3.0]
    assert adc.full_scale(codes_per_full_scale=8).tolist() == [[160.0] * 4]  # fixed range scales with codes


def test_adc_calibration_per_array_and_integer_steps_by_hand():
    tiling = Tiling(4, 4, 1, (4, 2))  # one row tile, column tiles [0, 2), [2, 4)
    peaks = torch.tensor([3.0, -5.0, 2.0, 0.0]).view(1, 1, 1, 4)
    float_adc = Adc(3, "calibrated", 0.0, shape=(1, 4), g_range=10.0, seed=0)
    float_adc.observe(peaks)
    float_adc.finish_calibration(tiling, g_step=None)
    assert float_adc.full_scale(1).tolist() == [[5.0, 5.0, 2.0, 2.0]]  # the array's largest |partial sum|
    # integer sums of g_step = 0.5 S: peak 5 S = 10 steps, 2^(b-1) = 4 codes -> k = ceil(11 / 4) = 3 steps
    # per LSB; peak 2 S = 4 steps -> k = ceil(5 / 4) = 2
    integer_adc = Adc(3, "calibrated", 0.0, shape=(1, 4), g_range=10.0, seed=0)
    integer_adc.observe(peaks)
    integer_adc.finish_calibration(tiling, g_step=0.5)
    lsb = integer_adc.lsb(integer_adc.full_scale(1))
    assert lsb.tolist() == [[1.5, 1.5, 1.0, 1.0]]
    # peak 1.5 S = 3 steps fits in 3 codes: k = 1, lossless; a silent array too (k = ceil(1/4) = 1)
    small = Adc(3, "calibrated", 0.0, shape=(1, 2), g_range=10.0, seed=0)
    small.observe(torch.tensor([1.5, 0.0]).view(1, 1, 1, 2))
    small.finish_calibration(Tiling(4, 2, 1, (4, 1)), g_step=0.5)
    assert small.lsb(small.full_scale(1)).tolist() == [[0.5, 0.5]]
    silent = Adc(3, "calibrated", 0.0, shape=(1, 2), g_range=10.0, seed=0)  # float weights: one device
    silent.observe(torch.tensor([1.5, 0.0]).view(1, 1, 1, 2))
    silent.finish_calibration(Tiling(4, 2, 1, (4, 1)), g_step=None)
    assert silent.full_scale(1).tolist() == [[1.5, 10.0]]
    sums = torch.tensor([-1.5, -0.5, 0.0, 1.0, 1.5]).view(1, 1, 1, 5)
    one_step = Adc(3, 1.0, 0.0, shape=(1, 5), g_range=2.0, seed=0)  # LSB = 1·2 S / 4 = one 0.5 S step
    lsb = one_step.lsb(one_step.full_scale(1))
    assert one_step.convert(sums.clone(), lsb).flatten().tolist() == [-3, -1, 0, 2, 3]  # exact integer sums


def test_adc_noise_is_normal_with_sigma_lsbs_and_indexed_by_image():
    adc = Adc(8, 1.0, 0.5, shape=(2, 50), g_range=1.0, seed=3, name="fc")
    lsb = torch.full((2, 50), 1.0)
    zeros = torch.zeros(400, 1, 2, 50) + 0.25  # rounding to 0 unless the noise moves it
    codes = adc.convert(zeros.clone(), lsb)
    exact_noise = adc._noise(torch.Size((400, 1, 2, 50)), 1, 0)
    assert torch.equal(codes, (zeros + exact_noise).round().clamp(-128, 127))
    n = exact_noise.numel()
    assert abs(float(exact_noise.mean())) < 5 * 0.5 / math.sqrt(n)
    assert abs(float(exact_noise.std()) - 0.5) < 5 * 0.5 / math.sqrt(2 * n)
    second = adc._noise(torch.Size((100, 1, 2, 50)), 1, 300)  # images 300..399 in a later batch
    assert torch.equal(second, exact_noise[300:])


# ------------------------------------------------------------------ cells, drift, digital


def test_cells_count_devices_and_average_conductances_by_hand():
    ideal = device_model("ideal")
    w = torch.tensor([[1.0, -0.5], [0.0, 2.0], [-1.0, 1.0]])  # (out 3, in 2)
    differential = map_weights(w, ideal)
    cells = Cells(ideal, differential, name="l", trials=2, seed=0)
    assert cells.devices == 2 * 3 * 2
    cells.program()
    g_plus, g_minus = cells.read(5.0)
    assert torch.equal(g_plus[1], differential.g_plus.float())
    assert torch.equal(g_minus[0], differential.g_minus.float())
    # column scaling: per output the larger |w| at g_max; Σ (G⁺ + G⁻) = (1 + 0.5 + 0 + 1 + 1 + 1)·g_max
    assert cells.mean_conductance(g_plus, g_minus) == pytest.approx(4.5 * ideal.g_max / 12, rel=1e-7)
    assert cells.mean_target_conductance() == pytest.approx(4.5 * ideal.g_max / 12, rel=1e-12)
    reference = map_weights(w, ideal, mapping="reference")
    tiles = Cells(ideal, reference, name="l", trials=1, seed=0, reference_tiles=2)
    assert tiles.devices == 3 * 2 + 2 * 2  # the reference column once per column tile
    with pytest.raises(RuntimeError, match="not programmed"):
        tiles.read(0.0)


def test_cells_expected_read_has_no_read_noise():
    pcm = device_model("pcm-joshi2020")
    mapped = map_weights(torch.randn(8, 16, generator=torch.Generator().manual_seed(0)), pcm)
    cells = Cells(pcm, mapped, name="l", trials=3, seed=0)
    cells.program()
    noisy, expected = cells.read(100.0), cells.read_expected(100.0)
    assert not torch.equal(noisy[0], expected[0])
    assert torch.equal(expected[0], pcm.read(cells.states[0], 100.0, None))
    assert torch.equal(cells.read(100.0)[0], noisy[0])  # the same read noise stream at the same time


def test_global_drift_compensation_restores_every_array_sum():
    pcm = device_model("pcm-joshi2020")
    mapped = map_weights(torch.randn(6, 10, generator=torch.Generator().manual_seed(0)), pcm)
    tiling = Tiling(10, 6, 1, (4, 4))
    cells = Cells(pcm, mapped, name="l", trials=2, seed=1)
    cells.program()
    drift = GlobalDriftCompensation(tiling)
    later = cells.read(86400.0)
    alpha = drift.factors(cells, *later)
    assert alpha.shape == (2, tiling.partial_sums, 6)
    assert bool((alpha > 1).all())  # PCM conductance drifts down
    restored = alpha * tiling.array_sums(*later)
    assert torch.allclose(restored, tiling.array_sums(*cells.read(0.0)), rtol=1e-6, atol=0)
    drift.reset()
    assert drift._reference is None


def test_column_scale_and_recombination_by_hand():
    ideal = device_model("ideal")
    mapped = map_weights(torch.tensor([[2.0, -1.0], [0.5, 0.25]]), ideal, slicing=(2, 1))
    # slices s = 0, 1 of 2 bits: factors 2^s·(2 − 1)/3; w_unit = max|w_row| / g_max
    scale = column_scale(mapped, row_tiles=1, input_unit=0.5, trials=1)
    w_unit = torch.tensor([2.0, 0.5]) / ideal.g_max
    expected = torch.stack([w_unit / 3, 2 * w_unit / 3]) * 0.5
    assert torch.allclose(scale[0], expected.float(), rtol=1e-6)
    alpha = torch.full((1, 2, 2), 2.0)
    lsb = torch.full((2, 2), 3.0)
    assert torch.allclose(column_scale(mapped, 1, 0.5, 1, alpha, lsb), scale * 6.0, rtol=1e-6)
    p = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])  # (B 1, T 1, K 2, out 2)
    ones = torch.ones(1, 2, 2)
    assert recombine(p.clone(), ones, torch.tensor([10.0, 20.0])).tolist() == [[14.0, 26.0]]
    single = torch.tensor([[[[1.0, 2.0]]]])
    three = torch.full((1, 1, 2), 3.0)
    assert recombine(single.clone(), three, torch.tensor([1.0, 1.0])).tolist() == [[4.0, 7.0]]
