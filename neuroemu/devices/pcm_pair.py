"""A PCM differential pair trained by SET pulses only, with refresh (Nandakumar et al., "Mixed-precision deep
learning based on computational memory", Front. Neurosci. 14:406, 2020; Boybat et al., "Neuromorphic
computing with multi-memristive synapses", Nat. Commun. 9:2514, 2018).

:class:`PcmPairModel` reads an ``rpu_pcm_pair`` card. A weight is w = w_max·(ĝ⁺ − ĝ⁻), ĝ = (G − G_min)/
(G_max − G_min) of each of the two cells. PCM can only be potentiated gradually (partial crystallisation by
SET pulses; a RESET melts the cell back to G_min at once), so a weight increase sends SET pulses to G⁺ and a
decrease sends them to G⁻. Each SET pulse raises ĝ along the saturating curve of
:class:`~neuroemu.devices.saturating.SaturatingCurve` (P_max = ``set_pulses``, A = ``a_set``·P_max): the
step shrinks as the cell crystallises, n pulses from ĝ give b − (b − ĝ)e^{−n/A} in closed form. A train of
n pulses carries cycle-to-cycle noise c2c_sigma·sqrt(n)·z (relative to the window); ĝ is clipped to [0, 1].

**Refresh** (Nandakumar 2020, Sec. 2.3): after an update, a pair with one side above
``refresh_threshold`` is refreshed: both cells are RESET (ĝ = 0) and the difference ĝ⁺ − ĝ⁻ is programmed
back onto one side with SET pulses, as many as the curve needs from 0 to reach |ĝ⁺ − ĝ⁻| (rounded to the
nearest pulse, noise-free: an iterative program-and-verify), so the weight moves by at most half a SET step
at that conductance. A pair whose other side is already at G_min is not refreshed (a refresh would rewrite
the same state): its weight sits at the top of its range. The model returns, per update, the number of
refreshes, the SET pulses they cost and their RESET pulses (two per refresh).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from neuroemu.cards.rpu_devices import PcmPairDevice
from neuroemu.devices.saturating import SaturatingCurve
from neuroemu.devices.updates import NormalStream

__all__ = ["PairArray", "PcmPairModel"]


@dataclass
class PairArray:
    """The state of an array of pairs: ``table`` (..., 2) holds ĝ⁺ and ĝ⁻; ``lo`` / ``hi`` the weight
    bounds ∓w_max (scalars: every pair has the same range)."""

    table: torch.Tensor
    lo: torch.Tensor
    hi: torch.Tensor

    @property
    def plus(self) -> torch.Tensor:
        return self.table[..., 0]

    @property
    def minus(self) -> torch.Tensor:
        return self.table[..., 1]

    def take(self, index: torch.Tensor, shape: tuple[int, ...] | torch.Size) -> PairArray:
        """The pairs at linear indices ``index`` (row-major), as arrays of ``shape`` (a gathered copy)."""
        return PairArray(self.table.view(-1, 2).index_select(0, index).view(*shape, 2), self.lo, self.hi)

    def put(self, index: torch.Tensor, part: PairArray) -> None:
        """Write a gathered ``part`` back at linear indices ``index``."""
        self.table.view(-1, 2).index_copy_(0, index, part.table.view(-1, 2))


class PcmPairModel:
    """The update behaviour of an ``rpu_pcm_pair`` card (see the module docstring)."""

    stateful = True

    def __init__(self, card: PcmPairDevice) -> None:
        if not isinstance(card, PcmPairDevice):
            raise TypeError(f"PcmPairModel needs an rpu_pcm_pair card, got {type(card).__name__}")
        self.card = card
        self.curve = SaturatingCurve(card.set_pulses, card.a_set)

    @property
    def dw_min(self) -> float:
        """The nominal weight step (mean SET step over the window) for the pulse constant."""
        return self.card.dw_min

    def sample(self, shape: tuple[int, int], generator: torch.Generator) -> PairArray:
        """An array of pairs, both cells RESET."""
        wm = self.card.w_max
        return PairArray(torch.zeros(*shape, 2), torch.tensor(-wm), torch.tensor(wm))

    def program(self, w: torch.Tensor, dev: PairArray) -> None:
        """Program weights ``w`` (clipped to ±w_max in place) onto the pairs: the positive part on G⁺, the
        negative part on G⁻, the other cell RESET (program-and-verify, exact)."""
        wm = self.card.w_max
        w.clamp_(-wm, wm)
        dev.table[..., 0] = w.clamp(min=0) / wm
        dev.table[..., 1] = (-w).clamp(min=0) / wm

    def weight(self, dev: PairArray) -> torch.Tensor:
        """w = w_max·(ĝ⁺ − ĝ⁻)."""
        return (dev.plus - dev.minus) * self.card.w_max

    def apply(self, w: torch.Tensor, s: torch.Tensor, dev: PairArray, normals: NormalStream, *,
              against: bool = False, magnitude: torch.Tensor | None = None) -> torch.Tensor:
        """SET pulses for signed counts ``s`` (> 0: G⁺, < 0: G⁻; ``against``: the opposite), then refresh;
        ``dev`` and ``w`` are updated in place. Returns (refreshes, their SET pulses, their RESET pulses)."""
        c = self.card
        signed = -s if against else s
        count = s.abs() if magnitude is None else magnitude
        side = (signed < 0).long()  # 0: G⁺, 1: G⁻
        g = dev.table.gather(-1, side.unsqueeze(-1)).squeeze(-1)
        new = self.curve.advance(g, count)
        if c.c2c_sigma > 0:
            new.add_(count.sqrt().mul_(normals.take(tuple(s.shape))), alpha=c.c2c_sigma)
        new = torch.where(count > 0, new.clamp_(0.0, 1.0), g)
        dev.table.scatter_(-1, side.unsqueeze(-1), new.unsqueeze(-1))
        stats = self._refresh(dev)
        torch.mul(dev.plus - dev.minus, c.w_max, out=w)
        return stats

    def apply_counts(self, w: torch.Tensor, n_up: torch.Tensor, n_down: torch.Tensor, dev: PairArray,
                     normals: NormalStream) -> torch.Tensor:
        """``n_up`` SET pulses to G⁺ and ``n_down`` to G⁻ of every pair (both >= 0; the convolution tiles of
        :mod:`neuroemu.rpu.lenet`), then refresh; ``dev`` and ``w`` are updated in place. The two cells are
        distinct devices, so the order of the pulses does not matter and the closed form is exact; c2c noise
        c2c_sigma·sqrt(n)·z per cell; the refresh check runs once per call (not after every pulse).
        Returns (refreshes, their SET pulses, their RESET pulses)."""
        c = self.card
        for side, count in ((0, n_up), (1, n_down)):
            g = dev.table[..., side]
            new = self.curve.advance(g, count)
            if c.c2c_sigma > 0:
                new.add_(count.sqrt().mul_(normals.take(tuple(count.shape))), alpha=c.c2c_sigma)
            dev.table[..., side] = torch.where(count > 0, new.clamp_(0.0, 1.0), g)
        stats = self._refresh(dev)
        torch.mul(dev.plus - dev.minus, c.w_max, out=w)
        return stats

    def _refresh(self, dev: PairArray) -> torch.Tensor:
        """Refresh the pairs with one side above the threshold and the other above G_min (in place)."""
        plus, minus = dev.plus, dev.minus
        due = (torch.maximum(plus, minus) > self.card.refresh_threshold) & (torch.minimum(plus, minus) > 0)
        n = int(due.sum())
        if n == 0:
            return torch.zeros(3, dtype=torch.float64)
        diff = (plus - minus)[due]
        pulses = self.curve.position(diff.abs()).round_()
        value = self.curve.at(pulses).clamp_(max=1.0)
        pos = diff >= 0
        rows = dev.table[due]
        rows[:, 0] = torch.where(pos, value, 0.0)
        rows[:, 1] = torch.where(pos, 0.0, value)
        dev.table[due] = rows
        return torch.tensor([n, float(pulses.sum()), 2 * n], dtype=torch.float64)
