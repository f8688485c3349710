"""The digital periphery of a crossbar layer: column scale, shift-and-add, partial-sum adds and bias.

Each converted partial sum (one per column, row tile and slice) is multiplied by its column scale — DAC step
(input units per code) × weight per siemens of the column × slice factor 2^(b·s) × drift-compensation factor
α of its array × ADC LSB — and the products of a column's slices (shift-and-add) and row tiles (partial-sum
adds) are added, then the bias.
"""

from __future__ import annotations

import torch

from neuroemu.crossbar.mapping import Mapped

__all__ = ["column_scale", "recombine"]


def column_scale(mapped: Mapped, row_tiles: int, input_unit: float, trials: int,
                 alpha: torch.Tensor | None = None, lsb: torch.Tensor | None = None) -> torch.Tensor:
    """(T, K, out) factors from a partial sum (or ADC code, with ``lsb``) to output units.

    ``row_tiles``: K / slices; ``input_unit``: input units per DAC code (1.0 without a DAC); ``alpha``:
    drift-compensation factors (T, K, out); ``lsb``: the ADC's LSB (K, out)."""
    slices = mapped.slice_factor.shape[0]
    k = row_tiles * slices
    unit = mapped.unit_per_partial_sum(row_tiles).repeat_interleave(slices, dim=0)  # (K, out)
    out = unit.shape[1]
    base = (mapped.slice_factor.repeat(row_tiles).view(k, 1) * unit * input_unit).float()
    scale = base.unsqueeze(0).expand(trials, k, out)
    if alpha is not None:
        scale = scale * alpha
    if lsb is not None:
        scale = scale * lsb.view(1, k, out)
    return scale


def recombine(p: torch.Tensor, scale: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """Scale, shift-add, partial-sum add and bias: (B, T, K, out, *spatial) → (B·T, out, *spatial).

    Works in place on ``p`` (a fresh tensor of partial sums) where it can."""
    batch, trials, k, out = p.shape[:4]
    tail = (1,) * (p.dim() - 4)
    if k == 1:
        p = p.squeeze(2)
        if bias is not None:
            b = bias.view(1, 1, out, *tail)
            if p.requires_grad:  # inputs from a trainable digital module (e.g. batch norm), grad mode
                y = torch.addcmul(b, p, scale.view(1, trials, out, *tail))
            else:
                y = torch.addcmul(b, p, scale.view(1, trials, out, *tail), out=p)
        else:
            y = p.mul_(scale.view(1, trials, out, *tail))
    else:
        y = (p * scale.view(1, trials, k, out, *tail)).sum(2)
        if bias is not None:
            y = y.add_(bias.view(1, 1, out, *tail))
    return y.reshape(batch * trials, out, *y.shape[3:])
