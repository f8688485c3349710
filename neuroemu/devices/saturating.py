"""The saturating-exponential conductance response to identical pulses (NeuroSim's nonlinearity model).

Chen, Peng & Yu, "NeuroSim: a circuit-level macro model for benchmarking neuro-inspired architectures in
online learning", IEEE TCAD 37:3067 (2018), eq. (1)-(3): with ĝ = (G − G_min)/(G_max − G_min), P identical
pulses from ĝ = 0 give ĝ(P) = b·(1 − exp(−P/A)), b = 1/(1 − exp(−P_max/A)), so that ĝ(P_max) = 1; A is
written here as ``a`` = A/P_max. The curve's asymptote is ĝ_sat = b > 1 and each pulse closes the same
fraction 1 − exp(−1/A) of the distance to it, so n pulses from any ĝ have the closed form

    ĝ_n = b − (b − ĝ)·exp(−n/A),

applied at once for any n (no loop over pulses). Depression mirrors it from the top of the window
(ĝ → 1 − ĝ), with its own P_max and A.
"""

from __future__ import annotations

import math

import torch

__all__ = ["SaturatingCurve"]


class SaturatingCurve:
    """ĝ(P) = b(1 − exp(−P/A)) on the normalised window, A = ``a``·``pulses`` (see the module docstring)."""

    def __init__(self, pulses: int, a: float) -> None:
        if pulses < 1 or not a > 0:
            raise ValueError(f"pulses ({pulses}) must be >= 1 and a ({a}) > 0")
        self.pulses, self.a = pulses, a
        self.big_a = a * pulses
        self.b = 1.0 / -math.expm1(-1.0 / a)
        self.decay = math.exp(-1.0 / self.big_a)  # the fraction of (b − ĝ) left after one pulse

    def step(self, g: torch.Tensor | float) -> torch.Tensor | float:
        """Mean change of ĝ by one pulse at ĝ = ``g``: (b − ĝ)(1 − exp(−1/A))."""
        return (self.b - g) * (1.0 - self.decay)

    def advance(self, g: torch.Tensor, n: torch.Tensor) -> torch.Tensor:
        """ĝ after ``n`` pulses (tensor, >= 0) from ``g``, unclipped: b − (b − ĝ)·exp(−n/A)."""
        return self.b - (self.b - g) * torch.exp(n * (-1.0 / self.big_a))

    def position(self, g: torch.Tensor) -> torch.Tensor:
        """The (fractional) pulse number P at which the curve from 0 reaches ĝ: −A·ln(1 − ĝ/b)."""
        return torch.log1p(-g / self.b) * -self.big_a

    def at(self, p: torch.Tensor) -> torch.Tensor:
        """ĝ(P) from 0."""
        return torch.expm1(p * (-1.0 / self.big_a)) * -self.b
