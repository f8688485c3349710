"""Resistive RAM: write-verify spread that grows with time, device-to-device gain, read noise.

Model (coefficients from an ``rram_device`` card, e.g. Wan et al., Nature 2022, Extended Data Fig. 3):
the conductance of a cell programmed to target G_T, read t seconds after programming, is

    G(t) = gain · (G_T + σ_1(ĝ)·z_1 + sqrt(max(σ_t(ĝ)² − σ_1(ĝ)², 0))·z_2) · (1 + read_noise·z_r)

with ĝ = G_T / g_max, σ_1 the fit at the first fit time (programming spread), σ_t the spread at time t
(σ_t² interpolated linearly in ln t between the three fit times; before the first fit time σ_1; after the
last one the last fit, with a warning), gain = max(1 + d2d_sigma·z_d, 0), z_1, z_2, z_d drawn once at
programming (so one device's deviations at different times are correlated) and z_r per read-out.
Conductances stay ≥ 0. Stuck-at faults (the card's ``stuck_on_rate`` / ``stuck_off_rate``) are applied
on top, as for every device, by :class:`neuroemu.devices.faults.StuckAtFaults`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import torch

from neuroemu.devices import rng
from neuroemu.devices.base import DeviceModel, Programmed, check_time

__all__ = ["RramModel"]


class RramModel(DeviceModel):
    """An ``rram_device`` card as behaviour, vectorised over a leading trial dimension."""

    KIND = "rram_device"

    @property
    def levels(self) -> int | None:
        return self.card.levels  # type: ignore[attr-defined]

    def fit_times(self) -> tuple[float, float, float]:
        c = self.card
        return c.fit_time_1, c.fit_time_2, c.fit_time_3  # type: ignore[attr-defined]

    def sigma_fit(self, k: int, g_target: torch.Tensor) -> torch.Tensor:
        """σ (S) of fit ``k`` (1, 2, 3) at targets ``g_target`` (S): Σ_i c_i ĝ^i, clipped at 0."""
        ghat = g_target / self.g_max
        total = torch.zeros_like(g_target)
        for i in range(4, -1, -1):  # Horner
            total = total * ghat + getattr(self.card, f"sigma{k}_c{i}")
        return total.clamp(min=0.0)

    def sigma_at(self, g_target: torch.Tensor, t: float) -> torch.Tensor:
        """σ_t (S): the spread ``t`` seconds after programming (σ² linear in ln t between fit times)."""
        times = self.fit_times()
        if t <= times[0]:
            return self.sigma_fit(1, g_target)
        if t > times[2]:
            warnings.warn(f"{self.card.name}: t = {t:g} s is beyond the last fit time {times[2]:g} s; "
                          "using the last fit (no extrapolation)", stacklevel=3)
            return self.sigma_fit(3, g_target)
        k = 1 if t <= times[1] else 2
        w = (math.log(t) - math.log(times[k - 1])) / (math.log(times[k]) - math.log(times[k - 1]))
        var = (1 - w) * self.sigma_fit(k, g_target) ** 2 + w * self.sigma_fit(k + 1, g_target) ** 2
        return var.sqrt()

    def program(self, g_target: torch.Tensor, generators: Sequence[torch.Generator]) -> Programmed:
        """Draw each instance's spread and gain; (trials, *shape) tensors."""
        self.check_targets(g_target)
        z = rng.randn((3, *g_target.shape), generators)
        gain = (1 + self.card.d2d_sigma * z[:, 2]).clamp(min=0.0)  # type: ignore[attr-defined]
        target = g_target.unsqueeze(0).expand_as(gain)
        return {"target": target, "z_prog": z[:, 0], "z_relax": z[:, 1], "gain": gain}

    def read_sigma(self, state: Programmed, t: float) -> torch.Tensor | None:
        """G(t) · read_noise: the σ of the multiplicative read noise :meth:`read` draws (``None`` without
        read noise)."""
        read_noise = self.card.read_noise  # type: ignore[attr-defined]
        if read_noise <= 0:
            return None
        return self.read(state, t, None) * read_noise

    def read(self, state: Programmed, t: float, generators: Sequence[torch.Generator] | None) -> torch.Tensor:
        t = check_time(t)
        target = state["target"][0]
        s1 = self.sigma_fit(1, target)
        extra = (self.sigma_at(target, t) ** 2 - s1**2).clamp(min=0.0).sqrt()
        g = state["gain"] * (state["target"] + s1 * state["z_prog"] + extra * state["z_relax"])
        read_noise = self.card.read_noise  # type: ignore[attr-defined]
        if generators is not None and read_noise > 0:
            g = g * (1 + read_noise * rng.randn(target.shape, generators))
        return g.clamp(min=0.0)
