"""RRAM trained by identical pulses: nonlinear, asymmetric potentiation and depression (NeuroSim's model).

:class:`RramUpdateModel` reads an ``rpu_rram_device`` card. One device per weight; a reference device at
the middle of the window subtracts the offset, so w = w_max·(2ĝ − 1) with ĝ = (G − G_min)/(G_max − G_min)
(the linear weight-to-conductance mapping of NeuroSim, Chen, Peng & Yu, IEEE TCAD 37:3067, 2018, Sec. III).
n potentiation pulses move ĝ along the LTP curve of :class:`~neuroemu.devices.saturating.SaturatingCurve`
(P_max = ``pulses_ltp``, A = ``a_ltp``·P_max), n depression pulses along the mirrored LTD curve (its own P_max
and A), both in closed form. Asymmetry comes from the two curves: at a given ĝ the up and the down step
differ, ΔĝLTP = (b_p − ĝ)(1 − e^{−1/A_p}) against ΔĝLTD = (b_d − 1 + ĝ)(1 − e^{−1/A_d}).

Cycle-to-cycle noise as in NeuroSim: a write of n pulses adds c2c_sigma·(G_max − G_min)·sqrt(n)·z, z a
fresh standard normal; ĝ is then clipped to [0, 1] (the window). No device-to-device variation (NeuroSim's
default for the cited devices is none). The model has no state beyond w itself.
"""

from __future__ import annotations

import torch

from neuroemu.cards.rpu_devices import RramUpdateDevice
from neuroemu.devices.saturating import SaturatingCurve
from neuroemu.devices.updates import NormalStream

__all__ = ["BoundArray", "RramUpdateModel"]


class BoundArray:
    """The (shared) bounds of an array whose devices carry no per-device parameters."""

    def __init__(self, lo: float, hi: float) -> None:
        self.lo, self.hi = torch.tensor(lo), torch.tensor(hi)

    def take(self, index: torch.Tensor, shape: tuple[int, ...] | torch.Size) -> BoundArray:
        return self


class RramUpdateModel:
    """The update behaviour of an ``rpu_rram_device`` card (see the module docstring)."""

    stateful = False

    def __init__(self, card: RramUpdateDevice) -> None:
        if not isinstance(card, RramUpdateDevice):
            raise TypeError(f"RramUpdateModel needs an rpu_rram_device card, got {type(card).__name__}")
        self.card = card
        self.ltp = SaturatingCurve(card.pulses_ltp, card.a_ltp)
        self.ltd = SaturatingCurve(card.pulses_ltd, card.a_ltd)

    @property
    def dw_min(self) -> float:
        """The nominal weight step (mean over the window and the two directions) for the pulse constant."""
        return self.card.dw_min

    def sample(self, shape: tuple[int, int], generator: torch.Generator) -> BoundArray:
        return BoundArray(-self.card.w_max, self.card.w_max)

    def program(self, w: torch.Tensor, dev: BoundArray) -> None:
        """Program weights ``w`` (in place: clipped to ±w_max; write-verify to any level, no noise)."""
        w.clamp_(-self.card.w_max, self.card.w_max)

    def apply(self, w: torch.Tensor, s: torch.Tensor, dev: BoundArray, normals: NormalStream, *,
              against: bool = False, magnitude: torch.Tensor | None = None) -> None:
        """Move ``w`` in place by ``s`` signed pulse counts (> 0 potentiation; ``against``: the opposite)."""
        wm = self.card.w_max
        g = w.mul(0.5 / wm).add_(0.5)
        n_up = (-s if against else s).clamp(min=0)
        n_dn = (s if against else -s).clamp(min=0)
        up = self.ltp.advance(g, n_up)
        down = 1.0 - self.ltd.advance(1.0 - g, n_dn)
        g = torch.where(n_up > 0, up, torch.where(n_dn > 0, down, g))
        if self.card.c2c_sigma > 0:
            count = s.abs() if magnitude is None else magnitude
            g.add_(count.sqrt().mul_(normals.take(tuple(s.shape))), alpha=self.card.c2c_sigma)
        g.clamp_(0.0, 1.0)
        torch.mul(g, 2 * wm, out=w).sub_(wm)

    def apply_counts(self, w: torch.Tensor, n_up: torch.Tensor, n_down: torch.Tensor, dev: BoundArray,
                     normals: NormalStream) -> None:
        """Move ``w`` in place by ``n_up`` potentiation and ``n_down`` depression pulses per device (both
        >= 0; the convolution tiles of :mod:`neuroemu.rpu.lenet`): the LTP curve's closed form for n_up,
        then the LTD curve's for n_down from there (exact when all potentiations come first; an interleaved
        order differs by second-order terms in the step), c2c noise c2c_sigma·sqrt(n_up + n_down)·z, then the
        clip to the window."""
        wm = self.card.w_max
        g = self.ltp.advance(w.mul(0.5 / wm).add_(0.5), n_up)
        g = 1.0 - self.ltd.advance(1.0 - g, n_down)
        if self.card.c2c_sigma > 0:
            g.add_((n_up + n_down).sqrt_().mul_(normals.take(tuple(w.shape))), alpha=self.card.c2c_sigma)
        g.clamp_(0.0, 1.0)
        torch.mul(g, 2 * wm, out=w).sub_(wm)
