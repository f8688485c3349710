"""Reproducible random streams: one ``torch.Generator`` per (seed, trial, purpose).

Every stochastic draw of a device model takes a generator derived here from the experiment seed, the trial
index and a label naming what is drawn (layer, array, quantity, read time). Trial ``k`` of seed ``s`` sees the
same numbers whether 1 or 1000 trials run together, whatever the batch size or thread count.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import torch

__all__ = ["generator", "rand", "randn", "trial_generators"]


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
