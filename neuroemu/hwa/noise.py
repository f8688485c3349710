"""The weight error a crossbar chip makes, drawn from a device card, for hardware-aware training.

A weight matrix W (out, in) is mapped as the crossbar mapping does (:mod:`neuroemu.crossbar.mapping`,
differential pairs, scale per output column w_max = max_j |W_ij|): G± = g_min + max(±W/w_max, 0)·g_range.
The device model of the card then programs one chip instance of those targets and reads it ``time`` seconds
later (programming noise, drift, read noise: exactly :meth:`DeviceModel.program` / :meth:`DeviceModel.read`
with a single trial); with ``drift_compensation`` the read-out is multiplied by α = Σ G(0) / Σ G(t) over the
layer (Joshi et al. 2020's global drift compensation, one factor per layer here instead of per array). The
weight error is ΔW = s·((G⁺ − G⁻)_read − (G⁺ − G⁻)_target)·w_max/g_range, s the noise scale. Stuck-at faults
are not drawn (a faulty cell is not a training signal; repair handles them, :mod:`neuroemu.crossbar.repair`).
"""

from __future__ import annotations

import torch

from neuroemu.devices import DeviceModel

__all__ = ["WeightNoise"]


class WeightNoise:
    """Draws ΔW for a weight matrix from ``device`` (see the module)."""

    def __init__(self, device: DeviceModel, *, time: float = 0.0, drift_compensation: bool = True,
                 scale: float = 1.0) -> None:
        if not scale >= 0:
            raise ValueError(f"noise scale must be >= 0, got {scale}")
        if not time >= 0:
            raise ValueError(f"time must be >= 0 s, got {time}")
        self.device, self.time, self.scale = device, float(time), float(scale)
        self.drift_compensation = drift_compensation

    def targets(self, weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(G⁺, G⁻, w_max): targets (out, in) of ``weight`` (out, in) and the per-column scale (out,)."""
        w = weight.detach().double()
        w_max = w.abs().amax(dim=1)
        w_max = torch.where(w_max > 0, w_max, torch.ones_like(w_max))
        m = (w / w_max[:, None]).clamp(-1.0, 1.0)
        g_min, g_range = self.device.g_min, self.device.g_max - self.device.g_min
        g_plus = self.device.quantize(g_min + m.clamp(min=0) * g_range).clamp(g_min, self.device.g_max)
        g_minus = self.device.quantize(g_min + (-m).clamp(min=0) * g_range).clamp(g_min, self.device.g_max)
        return g_plus, g_minus, w_max

    def read(self, g_plus: torch.Tensor, g_minus: torch.Tensor,
             generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """One chip instance of (G⁺, G⁻) programmed and read at ``time`` (drift-compensated if asked)."""
        device, gens = self.device, [generator]
        states = [device.program(g.float(), gens) for g in (g_plus, g_minus)]
        read = [device.read(s, self.time, gens if device.STOCHASTIC else None)[0] for s in states]
        if self.drift_compensation and self.time > 0:
            ref = [device.read(s, 0.0, gens if device.STOCHASTIC else None)[0] for s in states]
            alpha = (ref[0].double().sum() + ref[1].double().sum()) / \
                (read[0].double().sum() + read[1].double().sum()).clamp(min=1e-30)
            read = [r * float(alpha) for r in read]
        return read[0], read[1]

    def delta(self, weight: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """ΔW (the shape and dtype of ``weight``, no gradient) for one freshly drawn chip instance."""
        flat = weight.detach().reshape(weight.shape[0], -1)
        g_plus, g_minus, w_max = self.targets(flat)
        r_plus, r_minus = self.read(g_plus, g_minus, generator)
        g_range = self.device.g_max - self.device.g_min
        # the mapped (clipped, quantised) weight's error plus the device error
        w_read = (r_plus.double() - r_minus.double()) * (w_max / g_range)[:, None]
        err = w_read - flat.double()
        return (self.scale * err).to(weight.dtype).reshape(weight.shape)
