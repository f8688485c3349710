"""RRAM model: spread against the card's σ(ĝ) fits, d2d gain, read noise (faults: test_devices_faults).

Tolerances are K standard errors of each estimate, from the sample size (K = 5)."""

import dataclasses
import math

import pytest
import torch

from neuroemu.cards import load_card
from neuroemu.devices import RramModel, rng

K = 5.0
TRIALS, DEVICES = 4, 5000
N = TRIALS * DEVICES


def _model(**changes) -> RramModel:
    return RramModel(dataclasses.replace(load_card("rram-wan2022"), **changes))


def _poly(coeffs, ghat):  # µS → S
    return sum(c * ghat**i for i, c in enumerate(coeffs)) * 1e-6


FITS = {1.0: [0.348, 16.030, -43.853, 45.393, -16.815], 86400.0: [0.701, 22.086, -50.773, 47.095, -16.458],
        172800.0: [0.782, 20.274, -43.507, 37.062, -11.934]}


@pytest.mark.parametrize("t", [1.0, 86400.0, 172800.0])
@pytest.mark.parametrize("ghat", [0.25, 0.75])
def test_spread_matches_the_published_fit(t, ghat):
    model = _model()
    target = torch.full((DEVICES,), ghat * model.g_max)
    state = model.program(target, rng.trial_generators(0, TRIALS, "rram"))
    g = model.read(state, t, None).double().flatten()
    sigma = _poly(FITS[t], ghat)
    assert abs(float(g.mean()) - ghat * model.g_max) < K * sigma / math.sqrt(N)
    assert abs(float(g.std()) - sigma) < K * sigma / math.sqrt(2 * N)


def test_deviations_at_two_times_are_correlated_and_interpolated():
    model = _model()
    target = torch.full((DEVICES,), 0.5 * model.g_max)
    state = model.program(target, rng.trial_generators(0, TRIALS, "rram"))
    g1 = model.read(state, 1.0, None).double().flatten()
    t = 3600.0
    gt = model.read(state, t, None).double().flatten()
    s1, s2 = _poly(FITS[1.0], 0.5), _poly(FITS[86400.0], 0.5)
    w = math.log(t) / math.log(86400.0)
    expected = math.sqrt((1 - w) * s1**2 + w * s2**2)
    assert abs(float(gt.std()) - expected) < K * expected / math.sqrt(2 * N)
    assert float(torch.corrcoef(torch.stack([g1, gt]))[0, 1]) > 0.5
    with pytest.warns(UserWarning, match="beyond the last fit time"):
        model.read(state, 3.15e7, None)


def test_d2d_gain_read_noise_and_levels():
    model = _model(d2d_sigma=0.1, read_noise=0.02, levels=16)
    assert model.levels == 16
    q = model.quantize(torch.linspace(0, model.g_max, 101, dtype=torch.float64))
    assert len(torch.unique(q)) == 16
    target = torch.full((DEVICES,), 0.5 * model.g_max)
    # pure gain: switch the fitted spread off
    no_spread = {f"sigma{k}_c{i}": 0.0 for k in (1, 2, 3) for i in range(5)}
    flat = _model(d2d_sigma=0.1, read_noise=0.02, **no_spread)
    state = flat.program(target, rng.trial_generators(2, TRIALS, "d2d"))
    g = flat.read(state, 1.0, None).double().flatten() / (0.5 * flat.g_max)
    assert abs(float(g.std()) - 0.1) < K * 0.1 / math.sqrt(2 * N)
    noisy = flat.read(state, 1.0, rng.trial_generators(2, TRIALS, "read")).double().flatten()
    noisy = noisy / (0.5 * flat.g_max)
    ratio = noisy / g
    assert abs(float(ratio.std()) - 0.02) < K * 0.02 / math.sqrt(2 * N)


def test_card_checks():
    card = load_card("rram-wan2022")
    with pytest.raises(ValueError, match="fit_time_1"):
        dataclasses.replace(card, fit_time_1=1e6)
    with pytest.raises(ValueError, match="stuck_on_rate"):
        dataclasses.replace(card, stuck_on_rate=0.7, stuck_off_rate=0.5)
