"""Weights → conductances: round trips, clipping, bit slicing."""

import dataclasses

import pytest
import torch

from neuroemu.cards import load_card
from neuroemu.crossbar import map_weights
from neuroemu.devices import device_model


@pytest.fixture
def weights() -> torch.Tensor:
    torch.manual_seed(1)
    return torch.randn(12, 30)


@pytest.mark.parametrize("mapping", ["differential", "reference"])
@pytest.mark.parametrize("scaling", ["column", "layer"])
def test_ideal_round_trip_is_exact(weights, mapping, scaling):
    device = device_model("ideal")
    m = map_weights(weights, device, mapping=mapping, scaling=scaling)
    assert float(m.g_plus.min()) >= device.g_min and float(m.g_plus.max()) <= device.g_max
    back = m.effective_weight(m.g_plus - m.g_minus)
    assert torch.allclose(back, weights.double(), atol=1e-12)


def test_differential_round_trip_within_the_level_step(weights):
    card = load_card("ideal")
    device = device_model(card)

    class Levels(type(device)):  # the ideal device restricted to 16 levels
        @property
        def levels(self) -> int:
            return 16

    device = Levels(card)
    m = map_weights(weights, device, scaling="column")
    g_step = (device.g_max - device.g_min) / 15
    on_grid = (m.g_plus - device.g_min) / g_step
    assert torch.allclose(on_grid, on_grid.round(), atol=1e-9)
    back = m.effective_weight(m.g_plus - m.g_minus)
    step = m.w_unit.view(-1, 1) * g_step
    assert torch.all((back - weights.double()).abs() <= step / 2 + 1e-12)


@pytest.mark.parametrize(("cells", "bits"), [(1, 4), (2, 2), (4, 2), (3, 3)])
def test_bit_slicing_reproduces_the_quantised_weight_exactly(weights, cells, bits):
    device = device_model("ideal")
    m = map_weights(weights, device, slicing=(cells, bits))
    assert m.g_plus.shape == (cells, 12, 30)
    top = 2 ** (bits * cells) - 1
    w_max = weights.double().abs().amax(1, keepdim=True)
    expected = torch.round(weights.double().abs() / w_max * top) / top * w_max * weights.sign()
    back = m.effective_weight(m.g_plus - m.g_minus)
    assert torch.allclose(back, expected, atol=1e-12, rtol=0)
    g_range = device.g_max - device.g_min
    levels = torch.unique(torch.round((m.g_plus - device.g_min) / g_range * (2**bits - 1)))
    assert len(levels) <= 2**bits


def test_weight_clip_warns_and_counts(weights):
    w = weights.clone()
    w[0, 0] = 50.0
    with pytest.warns(UserWarning, match="1 of 360 weights"):
        m = map_weights(w, device_model("ideal"), weight_clip=4.0)
    assert m.clipped == 1


def test_rejects_nan_weights_and_bad_choices(weights):
    device = device_model("ideal")
    w = weights.clone()
    w[1, 1] = float("nan")
    with pytest.raises(ValueError, match="finite"):
        map_weights(w, device)
    with pytest.raises(ValueError, match="mapping"):
        map_weights(weights, device, mapping="single")
    with pytest.raises(ValueError, match="slicing"):
        map_weights(weights, device, mapping="reference", slicing=(2, 2))
    assert dataclasses.is_dataclass(map_weights(weights, device))
