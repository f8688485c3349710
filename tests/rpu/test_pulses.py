"""Stochastic pulse trains, exact coincidence counts and the expected update (Gokmen & Vlasov 2016)."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from neuroemu.cards import load_card
from neuroemu.devices.updates import PulsedUpdateModel
from neuroemu.rpu.pulses import coincidences, pulse_constant, pulse_train
from neuroemu.rpu.tile import AnalogTile, TileConfig

IDEAL = dataclasses.replace(load_card("rpu-gokmen2016"), dw_min_dtod=0.0, dw_min_std=0.0, up_down_dtod=0.0,
                            w_bound_dtod=0.0)


def test_coincidences_equal_a_pulse_by_pulse_loop():
    gen = torch.Generator().manual_seed(0)
    bl, n_x, n_d = 13, 7, 5
    x = torch.rand(n_x, generator=gen) * 2 - 1
    d = torch.rand(n_d, generator=gen) * 2 - 1
    px = pulse_train(x, 0.9, torch.rand(bl, n_x, generator=gen))
    pd = pulse_train(d, 1.1, torch.rand(bl, n_d, generator=gen))
    counts = coincidences(px, pd)
    brute = torch.zeros(n_x, n_d)
    for t in range(bl):
        for i in range(n_x):
            for j in range(n_d):
                if px[t, i] != 0 and pd[t, j] != 0:
                    brute[i, j] += px[t, i] * pd[t, j]
    assert torch.equal(counts, brute)
    assert counts.abs().sum() > 0


def test_pulse_probability_is_scale_times_value():
    gen = torch.Generator().manual_seed(1)
    x = torch.tensor([0.1, -0.5, 0.0, 2.0])
    n = 20000
    p = pulse_train(x, 0.8, torch.rand(n, 4, generator=gen))
    expected = torch.tensor([0.08, -0.4, 0.0, 1.0])
    sigma = (expected.abs() * (1 - expected.abs()) / n).sqrt()
    assert torch.all((p.mean(0) - expected).abs() <= 5 * sigma + 1e-9)


def test_pulse_constant():
    assert pulse_constant(0.01, 10, 0.001) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="bl"):
        pulse_constant(0.01, 0, 0.001)


@pytest.mark.parametrize("update_management", [False, True])
def test_expected_update_is_lr_x_delta(update_management):
    """Mean of many single-sample pulsed updates from W = 0 equals −η·x·δᵀ within 5 σ of the count noise."""
    model = PulsedUpdateModel(IDEAL)
    config = TileConfig(lr=0.01, bl=10, update_management=update_management)
    x = torch.tensor([0.9, -0.3, 0.0, 0.6, 1.0])  # the last entry plays the bias input
    d = torch.tensor([0.5, -0.2, 0.05])
    trials = 4000
    gen = torch.Generator().manual_seed(2)
    tile = AnalogTile(4, 3, model, config, gen)
    total = torch.zeros(5, 3)
    for _ in range(trials):
        tile.w.zero_()
        tile.update(x, d, torch.rand(10, 5, generator=gen), torch.rand(10, 3, generator=gen))
        total += tile.w
    mean = total / trials
    expected = -0.01 * torch.outer(x, d)
    # a coincidence count is a sum of BL Bernoulli(p) with p = p_x·p_δ: var = BL·p(1-p), times Δw_min²
    cx = cd = 1.0
    if update_management:
        ratio = (float(d.abs().max()) / float(x.abs().max())) ** 0.5
        cx, cd = ratio, 1 / ratio
    p = (torch.outer(x.abs() * cx, d.abs() * cd)).clamp(max=1)
    sigma = 0.001 * (10 * p * (1 - p) / trials).sqrt()
    assert torch.all((mean - expected).abs() <= 5 * sigma + 1e-7)
