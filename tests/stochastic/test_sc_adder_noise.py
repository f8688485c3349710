"""The adders' noise (``mux_moments``, ``apc_moments``, ``or_moments``) against bit-exact single blocks.

Each test runs ``TRIALS`` independent ``L``-cycle trials of one block on independent random bits (fixed
seeds) as one long stream cut into trials, and compares the decoded outputs' sample mean and variance with
the closed forms: the mean within 4 standard errors (``sqrt(var / TRIALS)``), the variance within 4 standard
errors of a sample variance (``sqrt(2 / (TRIALS - 1))`` relative, for near-normal counts) widened by the
counts' excess kurtosis."""

from __future__ import annotations

import math

import pytest
import torch

from neuroemu.stochastic.adders import (
    apc_moments,
    mux_add,
    mux_moments,
    mux_select,
    or_add,
    or_moments,
    parallel_count,
)
from neuroemu.stochastic.bitstream import Bitstream

LENGTH = 64
TRIALS = 4000


def _bits(p: torch.Tensor, seed: int) -> torch.Tensor:
    """Independent bits ``(n, TRIALS * LENGTH)``, input ``i`` 1 with probability ``p[i]``."""
    g = torch.Generator().manual_seed(seed)
    return torch.rand(len(p), TRIALS * LENGTH, generator=g, dtype=torch.float64) < p[:, None]


def _check(samples: torch.Tensor, mean: float, var: float) -> None:
    """Sample mean and variance of ``samples`` against ``mean`` and ``var`` (see the module)."""
    assert abs(float(samples.mean()) - mean) < 4 * math.sqrt(var / len(samples))
    tolerance = 4 * math.sqrt(2.5 / (len(samples) - 1))  # 2 + excess kurtosis, bounded by 0.5 here
    assert float(samples.var()) / var == pytest.approx(1.0, abs=tolerance)


def test_a_mux_gives_a_bernoulli_stream_of_the_mean_value_noise_n_over_root_l_on_the_sum():
    v = torch.tensor([-0.9, -0.5, -0.2, 0.0, 0.3, 0.6, 0.8, 1.0], dtype=torch.float64)
    bits = _bits((v + 1) / 2, seed=1)
    select = mux_select(len(v), torch.rand(TRIALS * LENGTH, generator=torch.Generator().manual_seed(2)))
    out = mux_add(bits.to(torch.uint8), select, dim=0).view(TRIALS, LENGTH)
    decoded = 2 * out.double().mean(1) - 1
    mean, var = mux_moments(v, LENGTH)
    assert float(mean) == pytest.approx(0.1375) and float(var) == pytest.approx((1 - 0.1375**2) / LENGTH)
    _check(decoded, float(mean), float(var))
    # as an estimate of the sum: n times the value, variance n² (1 - m²) / L, at least n times the
    # counter's sum (1 - v_i²) / L (mean of v_i² >= m²): 13 times here
    _, apc_var = apc_moments(v, LENGTH)
    assert len(v) ** 2 * float(var) / float(apc_var) == pytest.approx(13.05, abs=0.01)


def test_a_mux_of_exact_inputs_is_as_noisy_the_select_alone_draws_it():
    v = torch.tensor([-1.0, 1.0, 1.0, 1.0], dtype=torch.float64)  # constant streams: no input noise
    bits = _bits((v + 1) / 2, seed=3)
    select = mux_select(4, torch.rand(TRIALS * LENGTH, generator=torch.Generator().manual_seed(4)))
    decoded = 2 * mux_add(bits.to(torch.uint8), select, dim=0).view(TRIALS, LENGTH).double().mean(1) - 1
    mean, var = mux_moments(v, LENGTH)
    assert float(var) == pytest.approx(0.75 / LENGTH)
    _check(decoded, float(mean), float(var))


def test_an_exact_counter_adds_no_noise_to_its_inputs():
    v = torch.linspace(-0.95, 0.95, 25, dtype=torch.float64)
    v[::3] = 1.0  # exact inputs add nothing
    bits = _bits((v + 1) / 2, seed=5)
    counts = parallel_count(bits, dim=0).view(TRIALS, LENGTH)
    decoded = (2 * counts - len(v)).double().mean(1)
    mean, var = apc_moments(v, LENGTH)
    assert float(var) == pytest.approx(float((1 - v * v).sum()) / LENGTH)
    _check(decoded, float(mean), float(var))
    # the inputs' own variance, and no more: exact inputs give an exact count
    exact = _bits(torch.tensor([1.0, 0.0, 1.0], dtype=torch.float64), seed=6)
    assert parallel_count(exact, dim=0).unique().tolist() == [2]


def test_an_or_adder_is_biased_below_the_sum_by_its_overlaps():
    p = torch.tensor([0.05, 0.1, 0.15, 0.2], dtype=torch.float64)
    bits = _bits(p, seed=7)
    streams = [Bitstream.from_bits(row.view(TRIALS, LENGTH).to(torch.uint8), "unipolar") for row in bits]
    out = streams[0]
    for s in streams[1:]:
        out = or_add(out, s)
    decoded = out.probability()
    mean, var, bias = or_moments(p, LENGTH)
    assert float(mean) == pytest.approx(1 - 0.95 * 0.9 * 0.85 * 0.8)
    assert float(bias) == pytest.approx(float(mean) - 0.5) and float(bias) < -0.08  # no length removes it
    _check(decoded, float(mean), float(var))
