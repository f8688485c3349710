"""Btanh's gain is ``n / sum_i (1 - x_i^2)``, not 1: its exact steady state against tanh (issue 16)."""

from __future__ import annotations

import math

import pytest
import torch

from neuroemu.stochastic.activations import btanh, btanh_states, btanh_steady_state, stanh_steady_state
from neuroemu.stochastic.sng import Source, compare


def test_a_one_input_btanh_is_a_stanh():
    x = torch.linspace(-0.95, 0.95, 9, dtype=torch.float64)
    for states in (2, 4, 10):
        assert torch.allclose(btanh_steady_state(x[:, None], states), stanh_steady_state(x, states),
                              atol=1e-12)


def test_the_exact_steady_state_is_what_the_counter_settles_to():
    n, states, length, lanes = 8, 16, 4096, 256
    g = torch.Generator().manual_seed(0)
    xs = 2 * torch.rand(4, n, generator=g, dtype=torch.float64) - 1
    burn = states * states  # relaxes within (r / sigma)^2 <= r^2 cycles
    for k, x in enumerate(xs):
        randoms = Source("random", seed=k).draw(lanes * n, length + burn).view(lanes, n, length + burn)
        counts = compare(((x + 1) / 2).expand(lanes, n), randoms).sum(1)
        out = btanh(counts, n, states)[:, burn:]
        decoded = float(2 * out.double().mean() - 1)
        tol = 4 * math.sqrt(states**2 / (length * lanes))  # autocorrelation time below r^2 cycles
        assert abs(decoded - float(btanh_steady_state(x, states))) <= tol


@pytest.mark.parametrize("n", [16, 32, 64])
def test_for_inputs_uniform_in_pm1_btanh_is_tanh_of_the_sum_times_its_gain(n):
    g = torch.Generator().manual_seed(n)
    x = 2 * torch.rand(60, n, generator=g, dtype=torch.float64) - 1
    y = btanh_steady_state(x, btanh_states(n, 1.0))  # r = 2n: "tanh(t)"
    t = x.sum(-1)
    gain = n / (1 - x * x).sum(-1)
    assert float(gain.mean()) == pytest.approx(1.5, abs=0.06)  # 1 / (1 - E x^2) = 3 / 2
    assert float((y - torch.tanh(t)).abs().max()) > 0.19
    assert float((y - torch.tanh(t * gain)).abs().max()) <= 0.036
