"""The managed periphery: output noise and per-read noise per MVM, input management per vector, iterative
bound management (exact references where they exist, variances from theory, batch-size independence)."""

import copy
import math

import pytest
import torch
from torch import nn

import neuroemu
from neuroemu.crossbar import Crossbar, calibrate, crossbar_layers, set_time
from neuroemu.ledger import Ledger, recording
from neuroemu.nets import LeNet5


def _run_in_batches(model: nn.Module, x: torch.Tensor, batch: int) -> torch.Tensor:
    set_time(model, 0.0)  # restarts the noise counters
    with torch.inference_mode():
        return torch.cat([model(x[i:i + batch]) for i in range(0, len(x), batch)], dim=-2)


def _images(n: int, seed: int = 1) -> torch.Tensor:
    return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("extra", [{"output_noise": 0.3},
                                   {"output_noise": 0.1, "adc_noise": 0.5, "input_management": "per_vector",
                                    "bound_management": "iterative", "adc_range": 2.0}])
def test_same_noise_whatever_the_batch_size(extra):
    torch.manual_seed(0)
    spec = Crossbar(device="ideal", array=(64, 64), dac_bits=6, adc_bits=6, trials=3, seed=5, **extra)
    model = neuroemu.map(LeNet5(), spec)
    x = _images(12)
    calibrate(model, x)
    whole, pieces = _run_in_batches(model, x, 12), _run_in_batches(model, x, 5)
    assert torch.equal(whole, pieces)
    assert not torch.equal(whole[0], whole[1])  # each chip has its own noise
    quiet = neuroemu.map(LeNet5(), Crossbar(**{**spec.__dict__, "output_noise": 0.0, "adc_noise": 0.0}))
    calibrate(quiet, x)
    assert not torch.equal(_run_in_batches(quiet, x, 12), whole)


def _linear(fan_in: int = 16, outputs: int = 8) -> nn.Linear:
    torch.manual_seed(3)
    return nn.Linear(fan_in, outputs, bias=False)


def test_output_noise_sigma_is_the_configured_one():
    """Output noise σ = output_noise × (g_max − g_min) × DAC codes at full scale, per column and MVM."""
    sigma, n_images = 0.25, 2000
    layer = _linear()
    common = {"device": "ideal", "dac_bits": 8, "dac_range": 1.0, "seed": 7}
    noisy = neuroemu.map(copy.deepcopy(layer), Crossbar(**common, output_noise=sigma))
    exact = neuroemu.map(copy.deepcopy(layer), Crossbar(**common))
    x = torch.rand(n_images, 16, generator=torch.Generator().manual_seed(4))
    with torch.inference_mode():
        error = noisy(x) - exact(x)
    (xbar,) = crossbar_layers(noisy)
    unit = xbar.column_scale(1)[0, 0] * xbar.adc.g_range * xbar.dac.codes_per_full_scale  # one σ_out
    z = error / unit.view(1, -1)
    n = z.numel()
    variance = sigma**2
    assert abs(z.mean().item()) < 5 * math.sqrt(variance / n)
    assert abs(z.var().item() - variance) < 5 * variance * math.sqrt(2 / n)


@pytest.mark.parametrize("scaling", ["column", "tile"])
def test_output_noise_in_weight_units_does_not_depend_on_the_weight_scale(scaling):
    """``output_unit="weight"`` (aihwkit's default weight_scaling_omega = 0): σ_out is output_noise in the
    layer's own output units at full-scale input, whatever the largest weight; in device units (aihwkit's
    omega = 1) it is output_noise × the largest weight of the column (or tile) that g_max maps to."""
    sigma, n_images = 0.25, 2000
    x = torch.rand(n_images, 16, generator=torch.Generator().manual_seed(4))
    for w_max in (0.4, 2.5):
        layer = _linear()
        with torch.no_grad():
            layer.weight.mul_(w_max / layer.weight.abs().max())
        common = {"device": "ideal", "dac_bits": 8, "dac_range": 1.0, "seed": 7, "scaling": scaling,
                  "array": (16, 4)}
        exact = neuroemu.map(copy.deepcopy(layer), Crossbar(**common))
        for unit in ("weight", "device"):
            spec = Crossbar(**common, output_noise=sigma, output_unit=unit)
            noisy = neuroemu.map(copy.deepcopy(layer), spec)
            with torch.inference_mode():
                error = noisy(x) - exact(x)
            if unit == "weight":
                expected = torch.full((8,), sigma)
            else:  # the largest |w| of each column (scaling column) or of each 4-column tile
                w = layer.weight.detach().abs()
                tiles = w.view(2, 4, 16).amax((1, 2)).repeat_interleave(4)
                peak = w.amax(1) if scaling == "column" else tiles
                expected = sigma * peak
            z = error / expected.view(1, -1)
            n = z.numel()
            assert abs(z.var().item() - 1) < 5 * math.sqrt(2 / n), (w_max, unit)


def test_fixed_adc_range_in_weight_units_clips_at_that_many_weight_units():
    """A fixed adc_range with output_unit="weight" clips each output at ±adc_range (at full-scale input)
    in the layer's own units, aihwkit's out_bound with weight_scaling_omega = 0."""
    layer = nn.Linear(4, 2, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[0.5, 0.5, 0.5, 0.5], [0.1, -0.1, 0.1, -0.1]]))
    spec = Crossbar(device="ideal", dac_bits=8, dac_range=1.0, adc_bits=9, adc_range=1.0,
                    output_unit="weight", scaling="layer")
    emulated = neuroemu.map(layer, spec)
    with torch.inference_mode():
        y = emulated(torch.ones(1, 4))
    assert y[0, 0].item() == pytest.approx(1.0, abs=2 / 256)  # 2.0 clipped at 1 weight unit
    assert y[0, 1].item() == pytest.approx(0.0, abs=2 / 256)
    device_units = neuroemu.map(layer, Crossbar(**{**spec.__dict__, "output_unit": "device"}))
    with torch.inference_mode():
        assert device_units(torch.ones(1, 4))[0, 0].item() == pytest.approx(0.5, abs=1 / 256)  # max|w| = 0.5


def test_per_read_noise_has_the_devices_variance_at_every_mvm():
    """read_noise='per_read': the same input read N times gives N independent draws with variance
    Σ_i code_i² (σ⁺_ij² + σ⁻_ij²); the mean is the noise-free read-out."""
    layer, n_images = _linear(), 4000
    spec = Crossbar(device="pcm-joshi2020", read_noise="per_read", time=3600.0, seed=2)
    model = neuroemu.map(copy.deepcopy(layer), spec)
    (xbar,) = crossbar_layers(model)
    x0 = torch.rand(1, 16, generator=torch.Generator().manual_seed(5))
    with torch.inference_mode():
        y = model(x0.expand(n_images, 16))
    s_plus, s_minus = xbar.cells.read_sigma(3600.0)
    var_g = (s_plus.pow(2) + s_minus.pow(2))[0, 0]  # (out, in)
    scale = xbar.column_scale(1)[0, 0]  # output units per S·input
    expected_var = (var_g * x0.pow(2)).sum(1) * scale.pow(2)
    g_plus, g_minus = xbar.cells.read_expected(3600.0)
    expected_mean = ((g_plus - g_minus)[0, 0] * x0).sum(1) * scale
    n = n_images
    assert torch.all((y.mean(0) - expected_mean).abs() < 5 * (expected_var / n).sqrt())
    assert torch.all((y.var(0) - expected_var).abs() < 5 * expected_var * math.sqrt(2 / n))
    frozen = neuroemu.map(copy.deepcopy(layer), Crossbar(device="pcm-joshi2020", time=3600.0, seed=2))
    with torch.inference_mode():
        assert frozen(x0.expand(4, 16)).std(0).max() == 0  # frozen: one draw per read time


def test_per_vector_input_management_with_ideal_converters_is_the_float_model():
    model = LeNet5().eval()
    emulated = neuroemu.map(copy.deepcopy(model), Crossbar(input_management="per_vector", array=(64, 64)))
    x = _images(8)
    calibrate(emulated, x)
    with torch.inference_mode():
        assert torch.allclose(emulated(x), model(x), atol=1e-5, rtol=1e-4)


def test_per_vector_input_management_follows_the_input_scale():
    """Each vector fills the DAC: y(2^k x) = 2^k y(x) exactly; a fixed calibrated range clips instead."""
    layer = _linear()
    x = torch.randn(50, 16, generator=torch.Generator().manual_seed(6))
    common = {"device": "ideal", "dac_bits": 5, "seed": 1}
    managed = neuroemu.map(copy.deepcopy(layer), Crossbar(**common, input_management="per_vector"))
    fixed = neuroemu.map(copy.deepcopy(layer), Crossbar(**common))
    calibrate(managed, x)
    calibrate(fixed, x)
    with torch.inference_mode():
        assert torch.equal(managed(64 * x), 64 * managed(x))
        error_managed = (managed(64 * x) - layer(64 * x)).abs().max()
        error_fixed = (fixed(64 * x) - layer(64 * x)).abs().max()
    assert error_managed < error_fixed / 10


def _saturating(**extra):
    layer = _linear(32, 6)
    spec = Crossbar(device="ideal", dac_bits=7, adc_bits=8, adc_range=0.5, input_management="per_vector",
                    seed=3, **extra)
    model = neuroemu.map(copy.deepcopy(layer), spec)
    return layer, model


def test_iterative_bound_management_never_saturates_after_its_repeats():
    x = torch.rand(200, 32, generator=torch.Generator().manual_seed(8))
    layer, plain = _saturating()
    _, managed = _saturating(bound_management="iterative", bound_halvings=8)
    (xbar,) = crossbar_layers(managed)
    ledger, plain_ledger = Ledger(), Ledger()
    with torch.inference_mode(), recording(managed, ledger), recording(plain, plain_ledger):
        y, y_plain = managed(x), plain(x)
    assert xbar.repeated_reads > 0 and xbar.saturated_reads == 0
    with torch.inference_mode():
        exact = layer(x)
    assert (exact - y).abs().mean() < (exact - y_plain).abs().mean() / 3  # clipping was the larger error
    extra = ledger.count("adc_conversion") - plain_ledger.count("adc_conversion")
    assert extra == xbar.repeated_reads * 6
    assert ledger.count("crossbar_mvm") - plain_ledger.count("crossbar_mvm") == xbar.repeated_reads


def test_bound_management_stops_after_its_halvings():
    x = 1000 * torch.rand(20, 32, generator=torch.Generator().manual_seed(8))
    _, managed = _saturating(bound_management="iterative", bound_halvings=1, output_noise=0.0)
    (xbar,) = crossbar_layers(managed)
    with torch.inference_mode():
        managed(x)
    assert xbar.saturated_reads > 0  # one halving is not enough for this range


@pytest.mark.parametrize("kwargs,message", [
    ({"output_noise": 0.1, "dac_bits": 4, "input_mode": "bit_serial"}, "input_mode='dac'"),
    ({"output_noise": 0.1}, "needs dac_bits"),
    ({"bound_management": "iterative", "dac_bits": 4}, "needs adc_bits"),
    ({"output_noise": -1.0, "dac_bits": 4}, "output_noise"),
    ({"input_management": "tile"}, "input_management"),
])
def test_bad_periphery_options(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Crossbar(device="ideal", **kwargs)


def test_per_read_noise_needs_gaussian_read_noise():
    with pytest.raises(ValueError, match="no Gaussian read noise"):
        neuroemu.map(_linear(), Crossbar(device="sttram-pmtj", read_noise="per_read", slicing=(8, 1)))


def _drift_layer(**extra):
    torch.manual_seed(4)
    layer = nn.Linear(100, 10)
    spec = Crossbar(device="pcm-joshi2020", array=(64, 64), time=86400.0, drift_compensation=True, trials=2,
                    seed=9, **extra)
    return layer, neuroemu.map(copy.deepcopy(layer), spec)


def test_drift_estimated_through_an_ideal_periphery_is_the_ratio_of_column_sums():
    """Without converters or noise, α of an array = Σ_columns |Σ_rows ΔG(0)| / Σ_columns |Σ_rows ΔG(t)|."""
    _, model = _drift_layer(drift_estimate="periphery")
    (xbar,) = crossbar_layers(model)
    with torch.inference_mode():
        model(torch.rand(3, 100))
    expected = torch.empty(2, 2, 10)  # (trials, row tiles, out): one array per row tile here
    sums = {}
    for t in (0.0, 86400.0):
        g_plus, g_minus = xbar.cells.read(t)
        diff = (g_plus - g_minus)[:, 0]  # (T, out, in)
        sums[t] = torch.stack([diff[..., a:b].sum(-1).abs().sum(-1) for a, b in ((0, 64), (64, 100))], 1)
    expected = (sums[0.0] / sums[86400.0]).unsqueeze(-1).expand(2, 2, 10)
    assert torch.allclose(xbar._alpha, expected, rtol=1e-5)
    exact = xbar.drift.factors(xbar.cells, *xbar.cells.read(86400.0))
    assert (xbar._alpha - exact).abs().max() > 1e-4  # a different estimate than Σ G


def test_drift_read_through_the_periphery_keeps_accuracy_close_to_the_exact_estimate():
    layer, exact = _drift_layer()
    _, through = _drift_layer(drift_estimate="periphery", dac_bits=7, adc_bits=9, adc_range=12.0,
                              output_noise=0.06, input_management="per_vector")
    _, none = _drift_layer(drift_estimate="periphery", dac_bits=7, adc_bits=9, adc_range=12.0)
    set_time(none, 86400.0, drift_compensation=False)
    x = torch.rand(64, 100, generator=torch.Generator().manual_seed(2))
    for model in (exact, through, none):
        calibrate(model, x)
    with torch.inference_mode():
        ref = layer(x)
        errors = [(model(x) - ref.unsqueeze(0)).pow(2).mean().sqrt() for model in (exact, through, none)]
    assert errors[0] < errors[2] / 2 and errors[1] < errors[2] / 2
