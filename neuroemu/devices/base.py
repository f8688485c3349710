"""The device-model interface: program target conductances, then read them at a time t.

A device model turns a device card into behaviour. Every tensor it returns has a leading **trial**
dimension: ``program`` draws one independent device instance per generator (one generator per Monte Carlo
trial, see :mod:`neuroemu.devices.rng`), so ``T`` chips are programmed and read as one batched computation.
Conductances are in siemens throughout.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar

import torch

from neuroemu.cards import Card

__all__ = ["DeviceModel", "Programmed"]

#: what ``program`` returns: named tensors, each of shape (trials, *target.shape)
Programmed = dict[str, torch.Tensor]


class DeviceModel(ABC):
    """Behaviour of one device card: finite levels, programming, read-out (noise, drift).

    Stuck-at faults are applied on top by :class:`~neuroemu.devices.faults.StuckAtFaults`."""

    #: the card kind this model implements
    KIND: ClassVar[str] = ""
    #: whether ``program`` / ``read`` draw random numbers (an ideal device does not)
    STOCHASTIC: ClassVar[bool] = True

    def __init__(self, card: Card) -> None:
        if card.kind != self.KIND:
            raise ValueError(f"{type(self).__name__} needs a {self.KIND!r} card, got {card.name!r} "
                             f"of kind {card.kind!r}")
        self.card = card

    @property
    def g_min(self) -> float:
        """Lowest programmable conductance (S)."""
        return float(self.card.g_min)  # type: ignore[attr-defined]

    @property
    def g_max(self) -> float:
        """Highest programmable conductance (S)."""
        return float(self.card.g_max)  # type: ignore[attr-defined]

    @property
    def levels(self) -> int | None:
        """Number of programmable conductance levels between g_min and g_max; ``None``: a continuum."""
        return None

    def quantize(self, g_target: torch.Tensor) -> torch.Tensor:
        """Snap target conductances to the nearest programmable level (identity for a continuum)."""
        n = self.levels
        if n is None:
            return g_target
        step = (self.g_max - self.g_min) / (n - 1)
        return self.g_min + torch.round((g_target - self.g_min) / step).clamp(0, n - 1) * step

    @abstractmethod
    def program(self, g_target: torch.Tensor, generators: Sequence[torch.Generator]) -> Programmed:
        """Program ``g_target`` (any shape, S) into ``len(generators)`` device instances."""

    @abstractmethod
    def read(self, state: Programmed, t: float, generators: Sequence[torch.Generator] | None) -> torch.Tensor:
        """Conductances (trials, *shape) read ``t`` seconds after programming; ``generators=None``: no
        read noise (the expected read-out at time ``t``)."""

    def read_sigma(self, state: Programmed, t: float) -> torch.Tensor | None:
        """Standard deviation (S) of one fresh Gaussian read-noise draw of every device, (trials, *shape),
        read ``t`` s after programming, around the expected read-out; ``None``: the device has no Gaussian
        read noise (no read noise, or read disturb that is not additive). A crossbar that redraws the read
        noise at every MVM (``Crossbar.read_noise="per_read"``) uses it."""
        return None

    def check_targets(self, g_target: torch.Tensor) -> None:
        """Reject targets outside [g_min, g_max] (a mapping bug, never silently clipped)."""
        if not torch.isfinite(g_target).all():
            raise ValueError("target conductances must be finite")
        lo, hi = float(g_target.min()), float(g_target.max())
        tol = 1e-6 * self.g_max  # float32 rounding of the targets
        if lo < self.g_min - tol or hi > self.g_max + tol:
            raise ValueError(f"target conductances [{lo:.4g}, {hi:.4g}] S lie outside the device range "
                             f"[{self.g_min:.4g}, {self.g_max:.4g}] S of card {self.card.name!r}")


def check_time(t: float) -> float:
    """A read time in seconds after programming: finite and >= 0."""
    t = float(t)
    if not t >= 0 or t == float("inf"):
        raise ValueError(f"time must be a finite number of seconds >= 0, got {t}")
    return t
