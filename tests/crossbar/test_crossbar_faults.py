"""Stuck-at faults on crossbar layers of any device: the card's rates or the spec's override."""

import copy
import dataclasses
import math

import pytest
import torch
from torch import nn

import neuroemu
from neuroemu.cards import load_card
from neuroemu.crossbar import Crossbar, crossbar_layers
from neuroemu.devices.faults import OFF, ON
from neuroemu.specs import SpecError

K = 5.0


def _layer() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(64, 48))


def _run(model: nn.Module, spec: Crossbar) -> tuple[nn.Module, torch.Tensor]:
    emulated = neuroemu.map(copy.deepcopy(model), spec)
    with torch.inference_mode():
        return emulated, emulated(torch.rand(5, 64, generator=torch.Generator().manual_seed(1)))


@pytest.mark.parametrize("device", ["ideal", "pcm-joshi2020"])
def test_override_rates_hit_the_binomial_fraction_and_stuck_cells_read_their_level(device):
    on, off, trials = 0.05, 0.02, 8
    emulated, _ = _run(_layer(), Crossbar(device=device, trials=trials, stuck_on_rate=on, stuck_off_rate=off))
    (layer,) = crossbar_layers(emulated)
    codes = torch.cat([s.flatten() for s in layer.cells.stuck])
    cells = codes.numel()
    assert cells == trials * layer.devices
    for level, rate in ((ON, on), (OFF, off)):
        fraction = float((codes == level).double().mean())
        assert abs(fraction - rate) <= K * math.sqrt(rate * (1 - rate) / cells)
    for g, stuck in zip(layer.cells.read(3600.0), layer.cells.stuck, strict=True):
        assert torch.all(g[stuck == ON] == layer.device.g_max)
        assert torch.all(g[stuck == OFF] == layer.device.g_min)


def test_override_is_the_card_with_those_rates():
    card = dataclasses.replace(load_card("pcm-joshi2020"), stuck_on_rate=0.1, stuck_off_rate=0.05)
    spec = {"trials": 3, "dac_bits": 6, "adc_bits": 6, "adc_range": 8.0, "dac_range": 1.0}
    _, from_card = _run(_layer(), Crossbar(device=card, **spec))
    _, overridden = _run(_layer(), Crossbar(device="pcm-joshi2020", stuck_on_rate=0.1, stuck_off_rate=0.05,
                                            **spec))
    _, clean = _run(_layer(), Crossbar(device="pcm-joshi2020", **spec))
    assert torch.equal(from_card, overridden) and not torch.equal(clean, overridden)


def test_zero_override_on_a_faulty_card_is_the_fault_free_card():
    """No fault draw at all when both rates are 0: every other number stays the same."""
    spec = {"trials": 2, "dac_bits": 8, "adc_bits": 8, "dac_range": 1.0, "adc_range": 16.0}
    _, faulty = _run(_layer(), Crossbar(device="rram-wan2022-faulty", stuck_on_rate=0.0, stuck_off_rate=0.0,
                                        **spec))
    _, clean = _run(_layer(), Crossbar(device="rram-wan2022", **spec))
    assert torch.equal(faulty, clean)


def test_fault_rates_are_validated():
    with pytest.raises(SpecError, match=r"Crossbar.stuck_on_rate must be None or a number in \[0, 1\]"):
        Crossbar(stuck_on_rate=1.2)
    with pytest.raises(SpecError, match=r"stuck_on_rate \+ Crossbar.stuck_off_rate must be <= 1"):
        Crossbar(stuck_on_rate=0.6, stuck_off_rate=0.6)
    with pytest.raises(ValueError, match=r"stuck_on_rate \+ stuck_off_rate must be <= 1, got 0.99 \+ 0.0175"):
        neuroemu.map(_layer(), Crossbar(device="rram-wan2022-faulty", stuck_on_rate=0.99))
