"""Stochastic pulse trains and their coincidences (Gokmen & Vlasov, Front. Neurosci. 10:333, 2016, eq. 2-3).

Each input x_i (output error δ_j) becomes BL Bernoulli pulses with probability min(1, C_x·|x_i|)
(min(1, C_δ·|δ_j|)) carrying the value's sign; a device sees one coincidence per time slot in which its row
and its column both pulse. The signed count s_ij = Σ_t P_x[t, i]·P_δ[t, j] is one integer product of the two
pulse matrices (exact in float32 for counts below 2^24), with sign(s_ij) = sign(x_i·δ_j).
"""

from __future__ import annotations

import math

import numpy as np
import torch

__all__ = ["coincidences", "polarity_coincidences", "pulse_constant", "pulse_train"]


def pulse_constant(lr: float, bl: int, dw_min: float) -> float:
    """C = sqrt(η / (BL·Δw_min)): the expected update BL·C²·Δw_min·x·δ then equals η·x·δ (paper eq. 3)."""
    if lr <= 0 or bl < 1 or dw_min <= 0:
        raise ValueError(f"lr ({lr}) and dw_min ({dw_min}) must be > 0 and bl ({bl}) >= 1")
    return math.sqrt(lr / (bl * dw_min))


def polarity_coincidences(px: torch.Tensor, pd: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Coincidence counts (n_x, n_δ) of x·δ > 0 and of x·δ < 0, separately, of signed 0/±1 pulse matrices
    ``px`` (T, n_x) and ``pd`` (T, n_δ) whose T time slots may mix signs (the update cycles of all positions
    of a convolution, Gokmen et al. 2017 Sec. 2.1): with total = |P_x|ᵀ|P_δ| and signed = P_xᵀP_δ, two
    integer products (exact in float32 below 2^24 slots), same = (total + signed)/2, opposite =
    (total − signed)/2."""
    total = px.abs().t().mm(pd.abs())
    signed = px.t().mm(pd)
    return (total + signed).mul_(0.5), (total - signed).mul_(0.5)


def pulse_train(values: torch.Tensor, scale: float, uniforms: torch.Tensor) -> torch.Tensor:
    """Signed 0/±1 pulses (float32) of shape ``uniforms.shape`` (BL, n): pulse where u < scale·|value|."""
    out = torch.lt(uniforms, values.abs() * scale).to(torch.float32)
    return out.mul_(torch.sign(values))


def coincidences(px: torch.Tensor | np.ndarray, pd: torch.Tensor | np.ndarray) -> torch.Tensor | np.ndarray:
    """Signed coincidence counts (n_x, n_δ) of pulse matrices ``px`` (BL, n_x) and ``pd`` (BL, n_δ)
    (tensors or numpy arrays)."""
    return px.T @ pd
