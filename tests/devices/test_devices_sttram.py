"""STT-RAM model: Néel–Brown write errors, retention flips, d2d spread (tolerances: K binomial s.e.)."""

import dataclasses
import math

import pytest
import torch

from neuroemu.cards import load_card
from neuroemu.devices import SttramModel, rng

K = 5.0
TRIALS, DEVICES = 4, 5000
N = TRIALS * DEVICES


def _model(**changes) -> SttramModel:
    return SttramModel(dataclasses.replace(load_card("sttram-pmtj"), **changes))


def _binomial_ok(frac: float, p: float) -> bool:
    return abs(frac - p) <= K * math.sqrt(p * (1 - p) / N) + 1e-12


def test_two_levels_from_r_p_and_tmr():
    card = load_card("sttram-pmtj")
    model = SttramModel(card)
    assert model.levels == 2
    assert model.g_max == pytest.approx(1 / 4000) and model.g_min == pytest.approx(1 / (4000 * 2.5))
    assert card.retention_time == pytest.approx(1e-9 * math.exp(40))


@pytest.mark.parametrize("ratio", [0.9, 1.0, 1.05])
def test_write_error_rate_follows_neel_brown(ratio):
    # no device-to-device spread: every cell has the nominal Δ and I_c0
    model = _model(delta_sigma=0.0, i_c0_sigma=0.0, write_current=ratio * 60e-6, write_pulse_width=5e-9)
    target = torch.full((DEVICES,), model.g_max)
    state = model.program(target, rng.trial_generators(0, TRIALS, "write"))
    p_sw = 1 - math.exp(-5e-9 / (1e-9 * math.exp(40 * (1 - ratio))))
    assert _binomial_ok(float(state["on"].double().mean()), p_sw)
    off = model.program(torch.full((DEVICES,), model.g_min), rng.trial_generators(0, TRIALS, "write"))
    assert not bool(off["on"].any())  # cells left in the reset state are never written


def test_retention_flips_follow_the_two_state_rate():
    model = _model(delta_sigma=0.0, r_p_sigma=0.0, r_ap_sigma=0.0)
    state = model.program(torch.full((DEVICES,), model.g_max), rng.trial_generators(1, TRIALS, "ret"))
    assert bool(state["on"].all())  # 1.5 I_c0 writes succeed
    t = 3.15e7
    g = model.read(state, t, None)
    flipped = float((g == model.g_min).double().mean())
    p = (1 - math.exp(-2 * t / (1e-9 * math.exp(40)))) / 2
    assert _binomial_ok(flipped, p)
    assert bool((model.read(state, 0.0, None) == model.g_max).all())


def test_device_to_device_resistance_spread():
    model = _model()
    state = model.program(torch.full((DEVICES,), model.g_max), rng.trial_generators(2, TRIALS, "d2d"))
    r_p = state["r_p"].double().flatten()
    assert abs(float(r_p.std()) / 4000 - 0.03) < K * 0.03 / math.sqrt(2 * N)
