"""The counter-based normal draws (neuroemu.devices.rng.counter_normal_trials) equal the plain formula bit for
bit, whatever the shape, the stacking dim, the trial list and the blocking."""

import pytest
import torch

from neuroemu.devices import rng

_MASK64 = (1 << 64) - 1


def _mix(x: torch.Tensor) -> torch.Tensor:
    """splitmix64's output function on int64 tensors (wrapping products, logical shifts by masking)."""
    def shr(v: torch.Tensor, bits: int) -> torch.Tensor:
        return (v >> bits) & ((1 << (64 - bits)) - 1)
    x = x + (0x9E3779B97F4A7C15 - (1 << 64))
    x = (x ^ shr(x, 30)) * (0xBF58476D1CE4E5B9 - (1 << 64))
    x = (x ^ shr(x, 27)) * (0x94D049BB133111EB - (1 << 64))
    return x ^ shr(x, 31)


def _reference(seed: int, trial: int, label: str, counters: torch.Tensor) -> torch.Tensor:
    """The stream's definition written plainly: two splitmix64 uniforms per counter, Box–Muller in float64."""
    key = torch.tensor(rng._derive(seed, trial, label), dtype=torch.int64)
    c = counters.to(torch.int64) * 2
    u1 = ((_mix(key ^ _mix(c)) >> 11 & ((1 << 53) - 1)) + 1).double() * 2.0**-53
    u2 = (_mix(key ^ _mix(c + 1)) >> 11 & ((1 << 53) - 1)).double() * 2.0**-53
    return (torch.sqrt(-2.0 * torch.log(u1)) * torch.cos(2.0 * torch.pi * u2)).float()


def _stacked(seed: int, trials: list[int], label: str, counters: torch.Tensor, dim: int) -> torch.Tensor:
    return torch.stack([_reference(seed, t, label, counters) for t in trials], dim=dim)


def _counters(shape: tuple[int, ...], seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(-(2**62), 2**62, shape, generator=g)


_CASES = [
    ((5, 6), [0, 1, 2, 5], 1),
    ((5, 6), [3], 0),
    ((30, 40), [4, 9, 11], 1),
    ((3, 7, 11), [2, 0], -1),     # trials last
    ((9, 5, 4), [1, 2, 3], 2),
    ((), [0, 8], 0),              # one counter
    ((6, 0), [0], 1),             # no counters
]
_BIG = [
    ((2, 40000), [0, 1], 1),      # 80,000 draws per row: several default blocks along a row
    ((1000, 40), [4, 9, 11], 1),  # short rows: a default block spans several rows
    ((70000,), [5], 0),
]


@pytest.mark.parametrize(("block", "shape", "trials", "dim"),
                         [(b, *c) for b in (7, 64, 1000) for c in _CASES]
                         + [(None, *c) for c in _CASES + _BIG])
def test_blocked_draws_equal_the_plain_formula(monkeypatch, block, shape, trials, dim):
    """``block``: the draws per block (None: the default); small blocks cut rows and trials into pieces."""
    if block is not None:
        monkeypatch.setattr(rng, "_BLOCK", block)
    counters = _counters(shape)
    got = rng.counter_normal_trials(11, trials, "l/adc-noise", counters, dim=dim)
    want = _stacked(11, trials, "l/adc-noise", counters, dim % (counters.dim() + 1))
    assert got.dtype == torch.float32 and got.shape == want.shape and got.is_contiguous()
    assert torch.equal(got, want)


def test_more_trials_than_a_block_and_an_int_count(monkeypatch):
    monkeypatch.setattr(rng, "_BLOCK", 16)
    counters = torch.arange(12, dtype=torch.int32).view(3, 4) * 1000 + 5
    got = rng.counter_normal_trials(2, 40, "x", counters, dim=1)
    assert torch.equal(got, _stacked(2, list(range(40)), "x", counters, 1))


def test_counters_of_any_layout_and_integer_dtype():
    base = _counters((50, 80), seed=1)
    for counters in (base[:, ::3], base.t(), base.to(torch.int32), base[10:20, 5:60]):
        got = rng.counter_normal_trials(5, [1, 4], "y", counters, dim=0)
        assert torch.equal(got, _stacked(5, [1, 4], "y", counters, 0))


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_the_bits_do_not_depend_on_the_thread_count(monkeypatch, threads):
    monkeypatch.setattr(rng, "_BLOCK", 512)
    counters = _counters((20, 300), seed=2)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        got = rng.counter_normal_trials(4, [0, 3, 6], "t", counters, dim=1)
    finally:
        torch.set_num_threads(before)
    assert torch.equal(got, _stacked(4, [0, 3, 6], "t", counters, 1))


def test_counter_normal_is_the_one_trial_case():
    counters = torch.tensor([0, 1, 2, -1, 2**62, -(2**63)])
    assert torch.equal(rng.counter_normal(3, 7, "z", counters), _reference(3, 7, "z", counters))


def test_no_trials():
    assert rng.counter_normal_trials(0, [], "x", torch.arange(6).view(2, 3), dim=1).shape == (2, 0, 3)


def test_draws_are_standard_normal():
    """Mean 0 and variance 1 within 5 standard errors (n = 200,000: se(mean) ≈ 0.0022, se(var) ≈ 0.0032)."""
    x = rng.counter_normal_trials(1, 2, "stats", torch.arange(100_000), dim=0).double()
    n = x.numel()
    assert abs(x.mean().item()) < 5 / n**0.5
    assert abs(x.var().item() - 1) < 5 * (2 / n) ** 0.5
