"""Hardware-aware training: the injected weight error has the card's statistics; converters; wrapping."""

import math

import pytest
import torch

from neuroemu.cards import load_card
from neuroemu.devices import device_model
from neuroemu.hwa import HwaConfig, HwaLayer, WeightNoise, hwa_unwrap, hwa_wrap
from neuroemu.hwa.layers import quantize_ste
from neuroemu.nets import LeNet5


def _rram_sigma1(card, g: float) -> float:
    """σ_1(g) (S) of the card's first fit, written out independently of the device model."""
    ghat = g / card.g_max
    return max(sum(getattr(card, f"sigma1_c{i}") * ghat**i for i in range(5)), 0.0)


def test_rram_weight_error_has_the_cards_statistics():
    # every weight at half the column maximum: G+ = g_max/2, G- = 0 (g_min); at t = 0 (before the first fit
    # time) G+ reads G_T + σ1(G_T) z and G- reads max(σ1(0) z', 0) (a half-normal): d2d and read noise are 0
    card = load_card("rram-wan2022")
    assert card.d2d_sigma == 0 and card.read_noise == 0
    noise = WeightNoise(device_model(card), time=0.0)
    out, n_in = 200, 100
    weight = torch.full((out, n_in), 0.5)
    weight[:, 0] = 1.0  # the column maximum: w_max = 1
    delta = noise.delta(weight, torch.Generator().manual_seed(1))[:, 1:].double().flatten()
    g_range = card.g_max - card.g_min
    s_plus, s_minus = _rram_sigma1(card, card.g_max / 2), _rram_sigma1(card, 0.0)
    mean = -s_minus / math.sqrt(2 * math.pi) / g_range
    var = (s_plus**2 + s_minus**2 * (0.5 - 1 / (2 * math.pi))) / g_range**2
    n = delta.numel()
    assert abs(float(delta.mean()) - mean) < 5 * math.sqrt(var / n)
    # variance of a sample variance of near-Gaussian data: 2 σ⁴ / n (5σ band)
    assert abs(float(delta.var()) - var) < 5 * var * math.sqrt(2 / n)


def test_pcm_drift_compensation_restores_the_total_conductance():
    device = device_model("pcm-joshi2020")
    weight = torch.randn(30, 40, generator=torch.Generator().manual_seed(0))
    comp = WeightNoise(device, time=3.15e7, drift_compensation=True)
    plain = WeightNoise(device, time=3.15e7, drift_compensation=False)
    g_plus, g_minus, _ = comp.targets(weight)
    r_comp = comp.read(g_plus, g_minus, torch.Generator().manual_seed(2))
    r_plain = plain.read(g_plus, g_minus, torch.Generator().manual_seed(2))
    total_plain = float(r_plain[0].double().sum() + r_plain[1].double().sum())
    total_target = float(g_plus.sum() + g_minus.sum())
    total_comp = float(r_comp[0].double().sum() + r_comp[1].double().sum())
    assert total_plain < 0.8 * total_target  # a year of drift (ν ≈ 0.05–0.1) loses > 20 % of conductance
    assert abs(total_comp - total_target) < 0.02 * total_target


def test_noise_is_fresh_per_draw_and_reproducible():
    noise = WeightNoise(device_model("pcm-joshi2020"))
    weight = torch.randn(8, 9, generator=torch.Generator().manual_seed(0))
    gen = torch.Generator().manual_seed(5)
    a, b = noise.delta(weight, gen), noise.delta(weight, gen)
    assert not torch.equal(a, b)
    assert torch.equal(a, noise.delta(weight, torch.Generator().manual_seed(5)))
    assert torch.equal(WeightNoise(device_model("pcm-joshi2020"), scale=0.0).delta(weight, gen),
                       torch.zeros_like(weight))


def test_ideal_device_error_is_zero():
    weight = torch.randn(8, 9, generator=torch.Generator().manual_seed(0))
    delta = WeightNoise(device_model("ideal")).delta(weight, torch.Generator().manual_seed(0))
    assert torch.allclose(delta, torch.zeros_like(weight), atol=1e-6)


def test_quantize_ste_levels_and_gradient():
    x = torch.linspace(0, 1, 1000, requires_grad=True)
    q = quantize_ste(x, 3)
    assert len(torch.unique(q.detach())) == 8
    assert float((q - x).detach().abs().max()) <= 0.5 / 7 + 1e-6
    q.sum().backward()
    assert torch.equal(x.grad, torch.ones_like(x))
    signed = quantize_ste(torch.linspace(-1, 1, 1000), 3)
    assert len(torch.unique(signed)) == 7  # codes -3..3


def test_wrap_trains_noisily_and_unwraps_to_the_same_parameters():
    model = LeNet5()
    keys = set(model.state_dict())
    hwa_wrap(model, HwaConfig(device="pcm-joshi2020", seed=3))
    assert sum(isinstance(m, HwaLayer) for m in model.modules()) == 5
    x = torch.rand(4, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    model.train()
    y1, y2 = model(x), model(x)
    assert not torch.equal(y1, y2)  # fresh noise every forward
    y1.sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.eval()
    assert torch.equal(model(x), model(x))
    hwa_unwrap(model)
    assert set(model.state_dict()) == keys


@pytest.mark.parametrize("kwargs", [{"noise_scale": -1.0}, {"time": -1.0}, {"adc_bits": 0}, {"dac_bits": 25}])
def test_config_rejects_bad_values(kwargs):
    with pytest.raises(ValueError, match="hwa"):
        HwaConfig(device="pcm-joshi2020", **kwargs)
