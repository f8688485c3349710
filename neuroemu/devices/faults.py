"""Stuck-at faults, for any device: cells that read g_max (stuck-at-ON) or g_min (stuck-at-OFF) at all times.

A fabricated array has cells that no longer switch: stuck in the low-resistance state (stuck-at-ON, or
stuck-at-1: it reads g_max) or in the high-resistance state (stuck-at-OFF, stuck-at-0: it reads g_min),
whatever it was programmed to (C.-Y. Chen et al., "RRAM defect modeling and failure analysis based on march
test and a novel squeeze-search scheme", IEEE Trans. Computers 64(1), 180–190 (2015), who measured both
fractions on an HfO2 RRAM array). The mechanism is the same for every technology, so it lives here once,
apart from the device models: every device card may give ``stuck_on_rate`` and ``stuck_off_rate`` (default
0), and :class:`StuckAtFaults` applies them to the conductances any device model programs and reads.

Each cell is stuck independently: at programming, one uniform draw u ∈ [0, 1) per cell, from the same
per-trial generators as the device's own programming draws and after them, makes it stuck ON when
u < stuck_on_rate and stuck OFF when stuck_on_rate ≤ u < stuck_on_rate + stuck_off_rate. A fault is
permanent: every later read (at any time, with any read noise) of a stuck cell returns its stuck level.
With both rates 0 nothing is drawn, so the device's draws, and every conductance, stay as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from neuroemu.cards import Card
from neuroemu.devices import rng

__all__ = ["OFF", "ON", "StuckAtFaults"]

#: fault codes of :meth:`StuckAtFaults.draw` (0: a working cell)
ON, OFF = 1, 2


@dataclass(frozen=True)
class StuckAtFaults:
    """Stuck-at fault rates (fractions of cells) and how they act (see the module)."""

    on_rate: float = 0.0  #: stuck_on_rate: fraction of cells stuck at g_max
    off_rate: float = 0.0  #: stuck_off_rate: fraction of cells stuck at g_min

    def __post_init__(self) -> None:
        for name, value in (("stuck_on_rate", self.on_rate), ("stuck_off_rate", self.off_rate)):
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
        if self.on_rate + self.off_rate > 1:
            raise ValueError(f"stuck_on_rate + stuck_off_rate must be <= 1, got {self.on_rate!r} + "
                             f"{self.off_rate!r}")

    @classmethod
    def of(cls, card: Card, on_rate: float | None = None, off_rate: float | None = None) -> StuckAtFaults:
        """The rates of device ``card``, each replaced by ``on_rate`` / ``off_rate`` where given."""
        return cls(card.stuck_on_rate if on_rate is None else on_rate,  # type: ignore[attr-defined]
                   card.stuck_off_rate if off_rate is None else off_rate)  # type: ignore[attr-defined]

    @property
    def active(self) -> bool:
        """Whether any cell can be stuck (otherwise nothing is drawn)."""
        return self.on_rate > 0 or self.off_rate > 0

    def draw(self, shape: Sequence[int], generators: Sequence[torch.Generator]) -> torch.Tensor | None:
        """Fault codes (trials, *shape), int8: 0 working, :data:`ON`, :data:`OFF`; ``None`` (and no draw)
        when both rates are 0."""
        if not self.active:
            return None
        u = rng.rand(shape, generators)
        fault = torch.zeros(u.shape, dtype=torch.int8)
        fault[u < self.on_rate] = ON
        fault[(u >= self.on_rate) & (u < self.on_rate + self.off_rate)] = OFF
        return fault

    def apply(self, g: torch.Tensor, fault: torch.Tensor | None, g_min: float, g_max: float) -> torch.Tensor:
        """Conductances ``g`` (trials, *shape) read from cells with ``fault`` codes: stuck cells → their
        level (g_max ON, g_min OFF); ``g`` itself without faults."""
        if fault is None:
            return g
        g = torch.where(fault == ON, torch.full_like(g, g_max), g)
        return torch.where(fault == OFF, torch.full_like(g, g_min), g)

