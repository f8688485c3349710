"""Stuck-at faults, one device-independent part for every device card (neuroemu.devices.faults).

Statistical checks use a fixed seed and a tolerance of K standard deviations of the binomial fraction,
sqrt(p(1 − p)/N) for N independent cells (K = 5)."""

import dataclasses
import math

import pytest
import torch

from neuroemu.cards import CardError, load_card
from neuroemu.devices import StuckAtFaults, device_model, rng
from neuroemu.devices.faults import OFF, ON

K = 5.0
TRIALS, CELLS = 4, 5000
N = TRIALS * CELLS
CARDS = ["ideal", "pcm-joshi2020", "rram-wan2022", "sttram-pmtj"]


def _targets(model) -> torch.Tensor:
    """Half the cells at g_max, half at g_min (also valid targets of a two-level device)."""
    return torch.tensor([model.g_max, model.g_min]).repeat(CELLS // 2)


@pytest.mark.parametrize("card", CARDS)
@pytest.mark.parametrize(("on", "off"), [(0.0904, 0.0175), (0.01, 0.0), (0.0, 0.3)])
def test_stuck_fractions_are_binomial_and_stuck_cells_read_their_level(card, on, off):
    model = device_model(dataclasses.replace(load_card(card), stuck_on_rate=on, stuck_off_rate=off))
    faults = StuckAtFaults.of(model.card)
    assert (faults.on_rate, faults.off_rate) == (on, off)
    target = _targets(model)
    generators = rng.trial_generators(1, TRIALS, "faults")
    state = model.program(target, generators)
    stuck = faults.draw(target.shape, generators)
    assert stuck.shape == (TRIALS, CELLS) and stuck.dtype == torch.int8
    for level, rate in ((ON, on), (OFF, off)):
        fraction = float((stuck == level).double().mean())
        assert abs(fraction - rate) <= K * math.sqrt(rate * (1 - rate) / N), (level, fraction, rate)
    for t in (1.0, 1e5):
        noise = rng.trial_generators(2, TRIALS, f"read@{t}") if model.STOCHASTIC else None
        clean = model.read(state, t, noise)
        noise = rng.trial_generators(2, TRIALS, f"read@{t}") if model.STOCHASTIC else None
        g = faults.apply(model.read(state, t, noise), stuck, model.g_min, model.g_max)
        assert torch.all(g[stuck == ON] == model.g_max) and torch.all(g[stuck == OFF] == model.g_min)
        assert torch.equal(g[stuck == 0], clean[stuck == 0])  # working cells: untouched


@pytest.mark.parametrize("card", CARDS)
def test_no_faults_draw_nothing_and_change_nothing(card):
    model = device_model(card)
    faults = StuckAtFaults.of(model.card)
    assert not faults.active and (faults.on_rate, faults.off_rate) == (0.0, 0.0)  # the default
    generators = rng.trial_generators(0, 2, "x")
    before = [g.get_state() for g in generators]
    assert faults.draw((10,), generators) is None
    assert all(torch.equal(a, g.get_state()) for a, g in zip(before, generators, strict=True))
    g = torch.rand(2, 10)
    assert faults.apply(g, None, model.g_min, model.g_max) is g


def test_rram_draws_keep_their_order():
    """rram-wan2022-faulty gives the numbers of the model that drew its faults itself: per trial generator,
    three normal draws per cell (spread, relaxation, gain), then one uniform per cell for the faults."""
    card = load_card("rram-wan2022-faulty")
    model = device_model(card)
    target = torch.linspace(0.0, model.g_max, 257)
    generators = rng.trial_generators(5, 3, "layer/plus")
    state = model.program(target, generators)
    stuck = StuckAtFaults.of(card).draw(target.shape, generators)
    again = rng.trial_generators(5, 3, "layer/plus")
    z = rng.randn((3, *target.shape), again)
    u = rng.rand(target.shape, again)
    assert torch.equal(state["z_prog"], z[:, 0]) and torch.equal(state["z_relax"], z[:, 1])
    on, off = card.stuck_on_rate, card.stuck_off_rate
    expected = torch.where(u < on, ON, torch.where((u >= on) & (u < on + off), OFF, 0)).to(torch.int8)
    assert torch.equal(stuck, expected)
    # the fault-free card draws the same devices: its cells differ only where the faulty card's are stuck
    clean = device_model(load_card("rram-wan2022")).program(target, rng.trial_generators(5, 3, "layer/plus"))
    assert torch.equal(clean["z_prog"], state["z_prog"]) and torch.equal(clean["gain"], state["gain"])


@pytest.mark.parametrize("card", CARDS)
def test_every_device_card_checks_its_fault_rates(card):
    base = load_card(card)
    assert base.stuck_on_rate == 0.0 and base.stuck_off_rate == 0.0
    with pytest.raises(CardError, match=r"params\.stuck_on_rate.*params\.stuck_off_rate.*<= 1"):
        dataclasses.replace(base, stuck_on_rate=0.7, stuck_off_rate=0.5)
    with pytest.raises(CardError, match=r"params\.stuck_off_rate"):
        dataclasses.replace(base, stuck_off_rate=-0.1)


@pytest.mark.parametrize(("on", "off", "message"), [
    (1.5, 0.0, r"stuck_on_rate must be a number in \[0, 1\], got 1.5"),
    (0.0, True, r"stuck_off_rate must be a number in \[0, 1\], got True"),
    (0.6, 0.6, r"stuck_on_rate \+ stuck_off_rate must be <= 1, got 0.6 \+ 0.6"),
])
def test_bad_rates_are_rejected(on, off, message):
    with pytest.raises(ValueError, match=message):
        StuckAtFaults(on, off)
