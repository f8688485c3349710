"""Reproducible random streams: one ``torch.Generator`` per (seed, trial, purpose).

Every stochastic draw of a device model takes a generator derived here from the experiment seed, the trial
index and a label naming what is drawn (layer, array, quantity, read time). Trial ``k`` of seed ``s`` sees the
same numbers whether 1 or 1000 trials run together, whatever the batch size or thread count.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import torch

__all__ = ["counter_normal", "counter_normal_trials", "generator", "rand", "randn", "trial_generators"]


def _derive(seed: int, trial: int, label: str) -> int:
    digest = hashlib.sha256(f"{seed}\x1f{trial}\x1f{label}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def generator(seed: int, trial: int, label: str) -> torch.Generator:
    """A CPU generator seeded from ``(seed, trial, label)`` through SHA-256 (independent streams)."""
    gen = torch.Generator()
    gen.manual_seed(_derive(int(seed), int(trial), label))
    return gen


def trial_generators(seed: int, trials: Sequence[int] | int, label: str) -> list[torch.Generator]:
    """One generator per trial index (``trials`` an int means ``range(trials)``)."""
    indices = range(trials) if isinstance(trials, int) else trials
    return [generator(seed, k, label) for k in indices]


def randn(shape: Sequence[int], generators: Sequence[torch.Generator]) -> torch.Tensor:
    """Standard normal draws of shape ``(len(generators), *shape)``: row ``k`` from ``generators[k]``."""
    out = torch.empty((len(generators), *shape))
    for row, g in zip(out, generators, strict=True):
        torch.randn(tuple(shape), generator=g, out=row)
    return out


def rand(shape: Sequence[int], generators: Sequence[torch.Generator]) -> torch.Tensor:
    """Uniform [0, 1) draws of shape ``(len(generators), *shape)``: row ``k`` from ``generators[k]``."""
    out = torch.empty((len(generators), *shape))
    for row, g in zip(out, generators, strict=True):
        torch.rand(tuple(shape), generator=g, out=row)
    return out


# splitmix64 (Steele, Lea & Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014) on int64
# tensors: multiplication wraps modulo 2^64 in torch, and right shifts are made logical by masking.
_GOLDEN = 0x9E3779B97F4A7C15 - (1 << 64)
_MIX1 = 0xBF58476D1CE4E5B9 - (1 << 64)
_MIX2 = 0x94D049BB133111EB - (1 << 64)


def _shr(x: torch.Tensor, bits: int) -> torch.Tensor:
    return (x >> bits) & ((1 << (64 - bits)) - 1)


def _mix(x: torch.Tensor) -> torch.Tensor:
    x = x + _GOLDEN
    x = (x ^ _shr(x, 30)) * _MIX1
    x = (x ^ _shr(x, 27)) * _MIX2
    return x ^ _shr(x, 31)


def counter_normal(seed: int, trial: int, label: str, counters: torch.Tensor) -> torch.Tensor:
    """Standard normal draws indexed by integer ``counters`` (a counter-based generator).

    Draw ``c`` of stream ``(seed, trial, label)`` depends on nothing else, so values indexed by, e.g., an
    image's position in the test set are the same whatever the batch size or the order of batches. Two
    splitmix64 hashes of the counter give two uniforms; Box–Muller turns them into one normal draw.
    """
    key = torch.tensor(_derive(int(seed), int(trial), label), dtype=torch.int64)
    c = counters.to(torch.int64) * 2
    u1 = (_shr(_mix(key ^ _mix(c)), 11) + 1).double() * 2.0**-53  # (0, 1]
    u2 = _shr(_mix(key ^ _mix(c + 1)), 11).double() * 2.0**-53  # [0, 1)
    return (torch.sqrt(-2.0 * torch.log(u1)) * torch.cos(2.0 * torch.pi * u2)).float()


def counter_normal_trials(seed: int, trials: Sequence[int] | int, label: str, counters: torch.Tensor,
                          *, dim: int = 1) -> torch.Tensor:
    """:func:`counter_normal` for several trials at once, stacked along ``dim`` (no Python loop over trials).

    Equals ``torch.stack([counter_normal(seed, t, label, counters) for t in trials], dim=dim)`` bit for bit:
    draw ``c`` of trial ``t`` depends only on ``(seed, t, label, c)``, so it is independent of the batch
    size and of how the trials are grouped."""
    indices = range(trials) if isinstance(trials, int) else trials
    keys = torch.tensor([_derive(int(seed), int(t), label) for t in indices], dtype=torch.int64)
    dim = dim % (counters.dim() + 1)
    keys = keys.view(-1, *([1] * (counters.dim() - dim)))
    c = counters.to(torch.int64).unsqueeze(dim) * 2
    u1 = _uniform53(_mix_(torch.bitwise_xor(keys, _mix(c))), 1)  # (0, 1]
    u2 = _uniform53(_mix_(torch.bitwise_xor(keys, _mix(c.add_(1)))), 0)  # [0, 1)
    return u1.log_().mul_(-2.0).sqrt_().mul_(u2.mul_(2.0 * torch.pi).cos_()).float()


def _mix_(x: torch.Tensor) -> torch.Tensor:
    """:func:`_mix` in place (the same bits, one scratch tensor for the shifts)."""
    x.add_(_GOLDEN)
    scratch = torch.empty_like(x)
    for bits, factor in ((30, _MIX1), (27, _MIX2), (31, None)):
        torch.bitwise_right_shift(x, bits, out=scratch).bitwise_and_((1 << (64 - bits)) - 1)
        x.bitwise_xor_(scratch)
        if factor is not None:
            x.mul_(factor)
    return x


def _uniform53(x: torch.Tensor, offset: int) -> torch.Tensor:
    """The top 53 bits of ``x`` (+ ``offset``) as a double in units of 2^-53."""
    x.bitwise_right_shift_(11).bitwise_and_((1 << 53) - 1)
    if offset:
        x.add_(offset)
    return x.double().mul_(2.0**-53)
