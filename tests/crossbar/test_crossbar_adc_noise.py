"""ADC input noise: per-conversion Gaussian draws, batch-size independent, with the variance theory gives."""

import math

import pytest
import torch
from torch import nn

import neuroemu
from neuroemu.crossbar import Crossbar, calibrate, crossbar_layers, set_time
from neuroemu.devices import rng
from neuroemu.nets import LeNet5


def _run_in_batches(model: nn.Module, x: torch.Tensor, batch: int) -> torch.Tensor:
    set_time(model, 0.0)  # restarts the conversion-noise counter
    with torch.inference_mode():
        return torch.cat([model(x[i:i + batch]) for i in range(0, len(x), batch)], dim=-2)


@pytest.mark.parametrize("input_mode", ["dac", "bit_serial"])
def test_same_noise_whatever_the_batch_size(input_mode):
    torch.manual_seed(0)
    spec = Crossbar(device="ideal", array=(64, 64), dac_bits=6, adc_bits=6, adc_noise=0.7, trials=3, seed=5,
                    input_mode=input_mode)
    model = neuroemu.map(LeNet5(), spec)
    x = torch.rand(12, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    calibrate(model, x)
    whole, pieces = _run_in_batches(model, x, 12), _run_in_batches(model, x, 5)
    assert torch.equal(whole, pieces)
    assert not torch.equal(whole[0], whole[1])  # each trial (chip) has its own noise
    noiseless = neuroemu.map(LeNet5(), Crossbar(**{**spec.__dict__, "adc_noise": 0.0}))
    calibrate(noiseless, x)
    assert not torch.equal(_run_in_batches(noiseless, x, 12), whole)


def test_rounding_error_variance_is_sigma_squared_plus_one_twelfth():
    """round(v + σz) − v has mean ≈ 0 and variance σ² + 1/12 (Sheppard) for σ ≳ 0.5; v spread over codes."""
    sigma, n_images, fan_in, outputs = 1.0, 2500, 8, 8
    torch.manual_seed(3)
    layer = nn.Linear(fan_in, outputs, bias=False)
    common = {"device": "ideal", "adc_bits": 8, "adc_range": float(fan_in), "seed": 11}
    noisy = neuroemu.map(layer, Crossbar(**common, adc_noise=sigma))
    exact = neuroemu.map(layer, Crossbar(device="ideal", seed=11))
    x = torch.rand(n_images, fan_in, generator=torch.Generator().manual_seed(4))
    with torch.inference_mode():
        error = noisy(x) - exact(x)
    (xbar,) = crossbar_layers(noisy)
    unit = xbar.adc.lsb(xbar.adc_full_scale()) * xbar.column_scale(1)[0]  # one ADC code in output units
    codes = error / unit.view(1, outputs)
    n = codes.numel()
    variance = sigma**2 + 1 / 12
    assert abs(codes.mean().item()) < 5 * math.sqrt(variance / n)
    # the sample variance of n draws has standard error ≈ variance·sqrt(2/n) (near-Gaussian draws)
    assert abs(codes.var().item() - variance) < 5 * variance * math.sqrt(2 / n)


@pytest.mark.parametrize("kwargs,message", [({"adc_bits": 8, "adc_noise": -0.1}, "adc_noise"),
                                            ({"adc_noise": 0.5}, "needs adc_bits")])
def test_bad_adc_noise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Crossbar(device="ideal", **kwargs)


def test_a_bare_layer_is_mapped():
    layer = nn.Linear(5, 3)
    emulated = neuroemu.map(layer, Crossbar(device="ideal"))
    assert len(crossbar_layers(emulated)) == 1
    x = torch.rand(4, 5)
    with torch.inference_mode():
        assert torch.allclose(emulated(x), layer(x), atol=1e-5)


def test_trial_vectorised_draws_equal_the_per_trial_streams():
    """counter_normal_trials is the per-trial counter_normal stacked, bit for bit, for any trial subset."""
    counters = torch.arange(30).view(5, 6) * 7 + 3
    per_trial = torch.stack([rng.counter_normal(9, t, "l/adc-noise", counters) for t in (0, 1, 2, 5)], dim=1)
    assert torch.equal(rng.counter_normal_trials(9, [0, 1, 2, 5], "l/adc-noise", counters), per_trial)
    first_three = rng.counter_normal_trials(9, 3, "l/adc-noise", counters, dim=0)
    assert torch.equal(first_three, per_trial[:, :3].movedim(1, 0))
