"""Tiling, per-array ADC, calibration and ledger events of the emulated layers."""

import pytest
import torch
from torch import nn

import neuroemu
from neuroemu.cost import Ledger, recording
from neuroemu.crossbar import Crossbar, calibrate


def _linear(in_features: int = 10, out_features: int = 6) -> nn.Module:
    torch.manual_seed(2)
    return nn.Sequential(nn.Linear(in_features, out_features)).eval()


def test_fine_adc_and_dac_are_close_to_float():
    model = _linear(40, 9)
    x = torch.rand(32, 40)
    emulated = neuroemu.map(model, Crossbar(device="ideal", array=(16, 4), dac_bits=16, adc_bits=20))
    calibrate(emulated, x)
    with torch.inference_mode():
        diff = (emulated(x) - model(x)).abs().max()
    assert float(diff) < 1e-3


def test_single_array_outputs_lie_on_the_adc_grid():
    model = _linear(12, 5)
    x = torch.rand(200, 12)
    bits = 3
    emulated = neuroemu.map(model, Crossbar(device="ideal", dac_bits=8, adc_bits=bits))
    calibrate(emulated, x[:50])
    layer = emulated[0]
    with torch.inference_mode():
        y = emulated(x) - layer.bias
    # one LSB in output units, per column
    step = (layer.adc_full_scale()[0] / 2 ** (bits - 1)) * layer.column_scale(1)[0, 0]
    codes = y / step
    assert torch.allclose(codes, codes.round(), atol=1e-3)
    assert codes.round().min() >= -(2 ** (bits - 1)) and codes.round().max() <= 2 ** (bits - 1) - 1
    for col in range(5):
        assert len(torch.unique(codes[:, col].round())) <= 2**bits


def test_each_row_tile_has_its_own_adc():
    model = _linear(12, 5)
    x = torch.rand(100, 12)
    one = neuroemu.map(model, Crossbar(device="ideal", dac_bits=8, adc_bits=2))
    tiled = neuroemu.map(model, Crossbar(device="ideal", array=(6, 5), dac_bits=8, adc_bits=2))
    calibrate(one, x)
    calibrate(tiled, x)
    assert tiled[0].adc_full_scale().shape == (2, 5) and one[0].adc_full_scale().shape == (1, 5)
    with torch.inference_mode():
        y_one, y_tiled, y_float = one(x), tiled(x), model(x)
    assert not torch.allclose(y_one, y_tiled)
    # two 2-bit conversions carry more information than one
    assert float((y_tiled - y_float).pow(2).mean()) < float((y_one - y_float).pow(2).mean())


def test_fixed_adc_range_clips():
    model = _linear(8, 3)
    x = torch.rand(20, 8)
    emulated = neuroemu.map(model, Crossbar(device="ideal", adc_bits=4, adc_range=1e-3))
    layer = emulated[0]
    assert float(layer.adc_full_scale().max()) == pytest.approx(1e-3 * 25e-6)
    with torch.inference_mode():
        y = emulated(x) - layer.bias
    codes = y / (layer.adc_full_scale()[0] / 8 * layer.column_scale(1)[0, 0])
    assert float(codes.max()) == pytest.approx(7, abs=1e-3)
    assert float(codes.min()) == pytest.approx(-8, abs=1e-3)


def test_uncalibrated_ranges_are_an_error():
    emulated = neuroemu.map(_linear(), Crossbar(device="ideal", adc_bits=8))
    with pytest.raises(RuntimeError, match="calibrate"):
        emulated(torch.rand(2, 10))


def test_ledger_counts():
    model = _linear(10, 6)
    batch, trials = 5, 2
    emulated = neuroemu.map(model, Crossbar(device="ideal", array=(4, 4), dac_bits=6, adc_bits=7,
                                            trials=trials))
    calibrate(emulated, torch.rand(8, 10))
    ledger = Ledger()
    with recording(emulated, ledger), torch.inference_mode():
        out = emulated(torch.rand(batch, 10))
    assert out.shape == (trials, batch, 6)
    n = batch * trials  # MVMs; 3 row tiles x 2 column tiles
    assert ledger.count("crossbar_mvm", layer="0") == n * 3 * 2
    assert ledger.count("cell_read") == n * 2 * 60
    assert ledger.count("dac_conversion", bits=6) == n * 10 * 2
    assert ledger.count("adc_conversion", bits=7) == n * 6 * 3
    assert ledger.count("tile_partial_sum_add") == n * 6 * 2
    assert ledger.count("shift_add") == 0
    assert ledger.count("bias_add") == n * 6


def test_ledger_counts_convolution_positions_and_slices():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 3, 3, bias=False)).eval()
    emulated = neuroemu.map(model, Crossbar(device="ideal", slicing=(4, 2), adc_bits=8))
    calibrate(emulated, torch.rand(4, 2, 6, 6))
    ledger = Ledger()
    with recording(emulated, ledger), torch.inference_mode():
        emulated(torch.rand(3, 2, 6, 6))
    n = 3 * 16  # images x output positions
    assert ledger.count("adc_conversion", bits=8) == n * 3 * 4
    assert ledger.count("shift_add") == n * 3 * 3
    assert ledger.count("cell_read") == n * 2 * 4 * 3 * 18
    assert ledger.count("bias_add") == 0
