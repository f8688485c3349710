"""Phase-change memory: programming noise, drift with a per-device exponent, 1/f read noise.

The statistical model of S. R. Nandakumar et al., "Phase-change memory models for deep learning training
and inference", ICECS 2019, used by V. Joshi et al., Nat. Commun. 11, 2473 (2020); every coefficient comes
from the ``pcm_device`` card (see :class:`neuroemu.cards.devices.PcmDevice` for the formulas).
Times are measured
from the end of programming: a read at ``t`` happens at ``t + t0`` on the model's clock, where ``t0`` is the
time of the first read (the drift reference), so ``t = 0`` means no drift.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from neuroemu.devices import rng
from neuroemu.devices.base import DeviceModel, Programmed, check_time

__all__ = ["PcmModel"]


class PcmModel(DeviceModel):
    """Nandakumar et al. (ICECS 2019) PCM model, vectorised over a leading trial dimension."""

    KIND = "pcm_device"

    def sigma_prog(self, g_target: torch.Tensor) -> torch.Tensor:
        """Programming-noise standard deviation (S) at target ``g_target`` (S): c0 + c1·ĝ + c2·ĝ², ≥ 0."""
        c = self.card
        ghat = g_target / self.g_max
        return (c.prog_c0 + c.prog_c1 * ghat + c.prog_c2 * ghat**2).clamp(min=0.0)  # type: ignore[attr-defined]

    def nu_moments(self, g_target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(μ_ν, σ_ν) of the drift exponent at target ``g_target`` (S)."""
        c = self.card
        log_g = torch.log((g_target.abs() / self.g_max).clamp(min=c.nu_ghat_floor))  # type: ignore[attr-defined]
        mu = (c.nu_mu_slope * log_g + c.nu_mu_offset).clamp(c.nu_mu_min, c.nu_mu_max)  # type: ignore[attr-defined]
        sigma = (c.nu_sigma_slope * log_g + c.nu_sigma_offset).clamp(  # type: ignore[attr-defined]
            c.nu_sigma_min, c.nu_sigma_max)  # type: ignore[attr-defined]
        return mu, sigma

    def q_s(self, g: torch.Tensor) -> torch.Tensor:
        """1/f read-noise amplitude Q_s at conductance ``g`` (S)."""
        c = self.card
        ghat_pow = ((g.abs() / self.g_max) ** c.read_q_exponent).clamp(min=c.read_q_floor)  # type: ignore[attr-defined]
        return (c.read_q_coeff / ghat_pow).clamp(max=c.read_q_max)  # type: ignore[attr-defined]

    def drift_factor(self, nu: torch.Tensor, t: float) -> torch.Tensor:
        """((t + t0)/t0)^(−ν): the conductance ratio after ``t`` seconds."""
        t0 = self.card.t0  # type: ignore[attr-defined]
        return torch.pow(torch.tensor((t + t0) / t0, dtype=nu.dtype), -nu)

    def read_sigma_factor(self, t: float) -> float:
        """sqrt(ln((t + t0 + t_read)/(2 t_read))): the time dependence of the accumulated 1/f noise."""
        t_read = self.card.read_pulse_width  # type: ignore[attr-defined]
        return math.sqrt(math.log((t + self.card.t0 + t_read) / (2 * t_read)))  # type: ignore[attr-defined]

    def program(self, g_target: torch.Tensor, generators: Sequence[torch.Generator]) -> Programmed:
        """Programmed conductances (clamped at 0: a conductance cannot be negative) and drift exponents."""
        self.check_targets(g_target)
        shape = g_target.shape
        z = rng.randn((2, *shape), generators)  # per trial: programming noise, then drift exponent
        g = (g_target + self.sigma_prog(g_target) * z[:, 0]).clamp(min=0.0)
        mu, sigma = self.nu_moments(g_target)
        nu = (mu + sigma * z[:, 1]).abs()
        return {"g": g, "nu": nu}

    def read_sigma(self, state: Programmed, t: float) -> torch.Tensor | None:
        """|G(t)| · Q_s(G_prog) · sqrt(ln((t + t0 + t_read)/(2 t_read))): the σ of the 1/f read noise
        :meth:`read` draws (before its clamp at 0)."""
        t = check_time(t)
        g_prog, nu = state["g"], state["nu"]
        g = g_prog * self.drift_factor(nu, t) if t > 0 else g_prog
        return g.abs() * self.q_s(g_prog) * self.read_sigma_factor(t)

    def read(self, state: Programmed, t: float, generators: Sequence[torch.Generator] | None) -> torch.Tensor:
        t = check_time(t)
        g_prog, nu = state["g"], state["nu"]
        g = g_prog * self.drift_factor(nu, t) if t > 0 else g_prog
        if generators is None:
            return g
        z = rng.randn(g.shape[1:], generators)
        sigma = self.q_s(g_prog) * self.read_sigma_factor(t)
        return (g + g.abs() * sigma * z).clamp(min=0.0)
