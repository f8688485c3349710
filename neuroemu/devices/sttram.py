"""STT-RAM: a binary magnetic tunnel junction written and disturbed by thermally activated switching.

Model (constants from an ``sttram_device`` card): each device instance draws R_P, R_AP = R_P,nom·(1 + TMR),
Δ and I_c0 with relative Gaussian device-to-device spreads. Programming starts from an array reset to the
antiparallel (AP, OFF, g_min) state and applies one write pulse (I_write, t_write) to every cell whose target
is the parallel (P, ON, g_max) state; the pulse switches the cell with the Néel–Brown probability

    P_sw = 1 − exp(−t_p / τ),   τ = τ0 · exp(Δ · (1 − I / I_c0))

(thermal-activation regime; for I > I_c0 the formula gives τ < τ0 and P_sw → 1, the precessional regime
is not modelled separately), so a write fails with probability 1 − P_sw. After programming, at zero current
a cell flips between its two states with rate 1/(τ0·e^Δ) in each direction, so after t seconds it is in the
other state with probability (1 − exp(−2t/(τ0·e^Δ)))/2 (retention loss). Each read-out applies V_read for
t_read and flips a cell with P_sw(I = V_read·G) (read disturb). Source of the switching law: W. F. Brown,
Phys. Rev. 130, 1677 (1963); Z. Li and S. Zhang, Phys. Rev. B 69, 134416 (2004) (spin-torque-lowered
barrier); see the card for the device numbers.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from neuroemu.devices import rng
from neuroemu.devices.base import DeviceModel, Programmed, check_time

__all__ = ["SttramModel"]


class SttramModel(DeviceModel):
    """An ``sttram_device`` card as behaviour (two levels), vectorised over a leading trial dimension."""

    KIND = "sttram_device"

    @property
    def levels(self) -> int:
        return 2

    def switching_probability(self, current: torch.Tensor | float, pulse: float, delta: torch.Tensor | float,
                              i_c0: torch.Tensor | float) -> torch.Tensor:
        """Néel–Brown P_sw = 1 − exp(−t_p/τ), τ = τ0·exp(Δ(1 − I/I_c0)) (elementwise)."""
        tau = self.card.tau0 * torch.exp(torch.as_tensor(delta * (1 - current / i_c0)))  # type: ignore[attr-defined]
        return -torch.expm1(-pulse / tau)

    def program(self, g_target: torch.Tensor, generators: Sequence[torch.Generator]) -> Programmed:
        """Draw device parameters and write each instance; returns states (1 = P/ON) and parameters."""
        self.check_targets(g_target)
        c = self.card
        want_on = g_target > (self.g_min + self.g_max) / 2
        shape = g_target.shape
        z = rng.randn((4, *shape), generators)
        u = rng.rand((2, *shape), generators)
        r_p = (c.r_p * (1 + c.r_p_sigma * z[:, 0])).clamp(min=1e-3 * c.r_p)  # type: ignore[attr-defined]
        r_ap_nom = c.r_p * (1 + c.tmr)  # type: ignore[attr-defined]
        r_ap = (r_ap_nom * (1 + c.r_ap_sigma * z[:, 1])).clamp(min=1e-3 * r_ap_nom)  # type: ignore[attr-defined]
        delta = (c.delta * (1 + c.delta_sigma * z[:, 2])).clamp(min=0.0)  # type: ignore[attr-defined]
        i_c0 = (c.i_c0 * (1 + c.i_c0_sigma * z[:, 3])).clamp(min=1e-3 * c.i_c0)  # type: ignore[attr-defined]
        p_sw = self.switching_probability(c.write_current, c.write_pulse_width, delta, i_c0)  # type: ignore[attr-defined]
        on = want_on & (u[:, 0] < p_sw)
        return {"on": on, "r_p": r_p, "r_ap": r_ap, "delta": delta, "i_c0": i_c0, "u_retention": u[:, 1]}

    def retention_flip_probability(self, delta: torch.Tensor, t: float) -> torch.Tensor:
        """Probability that a cell is in the other state ``t`` s after programming (symmetric two-state)."""
        rate = 1.0 / (self.card.tau0 * torch.exp(delta))  # type: ignore[attr-defined]
        return -torch.expm1(-2 * rate * t) / 2

    def read(self, state: Programmed, t: float, generators: Sequence[torch.Generator] | None) -> torch.Tensor:
        t = check_time(t)
        on = state["on"] ^ (state["u_retention"] < self.retention_flip_probability(state["delta"], t))
        g = torch.where(on, 1.0 / state["r_p"], 1.0 / state["r_ap"])
        if generators is not None:
            c = self.card
            p_rd = self.switching_probability(c.read_voltage * g, c.read_pulse_width, state["delta"],  # type: ignore[attr-defined]
                                              state["i_c0"])
            flip = rng.rand(g.shape[1:], generators) < p_rd
            g = torch.where(flip ^ on, 1.0 / state["r_p"], 1.0 / state["r_ap"])
        return g
