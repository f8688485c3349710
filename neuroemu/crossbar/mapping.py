"""Weights → target conductances: differential pairs or a reference column, scaling, clipping, slicing.

For a weight matrix W (out × in; a convolution's kernel flattened to out × in·kh·kw, rows of the crossbar are
the inputs, columns the outputs) and a device with range [g_min, g_max], g_range = g_max − g_min:

- **scale** w_max: per output column (``scaling="column"``: max |W_j·|), per layer (``"layer"``: max |W|)
  or per array (``"tile"``: max |W| over each row tile × column tile, aihwkit's per-tile weight scaling,
  given ``tiles``).
  With ``weight_clip = c`` the scale is at most c × std(W) (per layer); larger weights are clipped to ±w_max
  and a warning gives their count (:attr:`Mapped.clipped` keeps it).
- **differential** pairs: G⁺ = g_min + max(w, 0)/w_max · g_range, G⁻ = g_min + max(−w, 0)/w_max · g_range,
  so G⁺ − G⁻ = w/w_max · g_range; the pair's difference current is converted by one ADC.
- **reference** column (single-ended): G = g_min + (1 + w/w_max)/2 · g_range on every column and one extra
  column of devices at the mid-point g_min + g_range/2 per array; its current is subtracted from each column.
- **bit slicing** (differential only), k cells of b bits: |w|/w_max is quantised to c ∈ {0 … 2^(bk) − 1};
  cell s holds the digit d_s = ⌊c / 2^(bs)⌋ mod 2^b as g_min + d_s/(2^b − 1) · g_range; outputs are recombined
  by shift-and-add with weights 2^(bs), so ideal cells give exactly the bk-bit quantised weight.

Targets are finally snapped to the device's programmable levels (if it has finitely many).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch

from neuroemu.devices import DeviceModel

__all__ = ["Mapped", "map_weights"]


@dataclass
class Mapped:
    """Target conductances of one layer and how to turn conductance differences back into weights."""

    g_plus: torch.Tensor  #: (S, out, in) targets of the positive (or only) cells, S = number of slices
    g_minus: torch.Tensor  #: (S, out, in) negative cells, or (S, 1, in): the reference column
    #: weight per siemens of conductance difference (slice factor excluded): (out,), or (row tiles, out) with
    #: per-tile scaling
    w_unit: torch.Tensor
    slice_factor: torch.Tensor  #: (S,) shift-and-add factor of each slice (1 without slicing)
    clipped: int  #: number of weights clipped to ±w_max
    #: integer-coded (low-bit) weights: every target G⁺ − G⁻ is an integer multiple of this step (S), so a
    #: column's partial sum under integer DAC codes is an integer number of steps; ``None``: float weights
    g_step: float | None = None
    tile_rows: int | None = None  #: rows of one array with per-tile scaling (``None``: not per tile)

    def effective_weight(self, g_diff: torch.Tensor) -> torch.Tensor:
        """Weights (…, out, in) represented by conductance differences ``g_diff`` (…, S, out, in)."""
        factor = self.slice_factor.view(-1, 1, 1).to(g_diff.dtype)
        return (g_diff * factor).sum(dim=-3) * self.unit_per_weight(g_diff.shape[-1]).to(g_diff.dtype)

    def unit_per_weight(self, in_features: int) -> torch.Tensor:
        """``w_unit`` of every weight: (out, 1), or (out, in) with per-tile scaling."""
        if self.w_unit.dim() == 1:
            return self.w_unit.view(-1, 1)
        assert self.tile_rows is not None
        return self.w_unit[torch.arange(in_features) // self.tile_rows].T

    def unit_per_partial_sum(self, row_tiles: int) -> torch.Tensor:
        """``w_unit`` of every (row tile, column), (row tiles, out)."""
        if self.w_unit.dim() == 1:
            return self.w_unit.view(1, -1).expand(row_tiles, -1)
        return self.w_unit


def map_weights(weight: torch.Tensor, device: DeviceModel, *, mapping: str = "differential",
                scaling: str = "column", weight_clip: float | None = None,
                slicing: tuple[int, int] | None = None, name: str = "layer",
                array: tuple[int, int] | None = None) -> Mapped:
    """Map a (out, in) weight matrix onto ``device`` conductances (see the module docstring); ``array``:
    rows and columns of one array, for ``scaling="tile"`` (``None``: the whole layer is one array)."""
    if weight.dim() != 2:
        raise ValueError(f"weight must be a matrix (out, in), got shape {tuple(weight.shape)}")
    w = weight.detach().to(torch.float64)
    if not torch.isfinite(w).all():
        raise ValueError(f"{name}: weights must be finite (found NaN or inf)")
    if mapping not in ("differential", "reference"):
        raise ValueError(f"mapping must be 'differential' or 'reference', got {mapping!r}")
    if scaling not in ("column", "layer", "tile"):
        raise ValueError(f"scaling must be 'column', 'layer' or 'tile', got {scaling!r}")
    g_min, g_range = device.g_min, device.g_max - device.g_min

    out_features, in_features = w.shape
    tile_rows = None
    if scaling == "tile":
        tile_rows, tile_cols = array if array is not None else (in_features, out_features)
        blocks = w.abs().reshape(out_features, -1)
        w_max = torch.empty(-(-in_features // tile_rows), out_features, dtype=w.dtype)
        for r, a in enumerate(range(0, in_features, tile_rows)):
            for c in range(0, out_features, tile_cols):
                w_max[r, c:c + tile_cols] = blocks[c:c + tile_cols, a:a + tile_rows].max()
    elif scaling == "column":
        w_max = w.abs().amax(dim=1)
    else:
        w_max = w.abs().max().expand(w.shape[0])
    clipped = 0
    if weight_clip is not None:
        limit = weight_clip * float(w.std())
        w_max = w_max.clamp(max=limit)
    w_max = torch.where(w_max > 0, w_max, torch.ones_like(w_max))  # an all-zero column maps to g_min
    if tile_rows is not None:
        per_weight = w_max[torch.arange(in_features) // tile_rows].T  # (out, in)
    else:
        per_weight = w_max.view(-1, 1)
    if weight_clip is not None:
        clipped = int((w.abs() > per_weight).sum())
        if clipped:
            warnings.warn(f"{name}: {clipped} of {w.numel()} weights lie beyond ±{weight_clip}·std "
                          f"and were clipped", stacklevel=3)
    m = (w / per_weight).clamp(-1.0, 1.0)

    if slicing is not None:
        if mapping != "differential":
            raise ValueError("slicing needs mapping='differential'")
        cells, bits = slicing
        base, top = 2**bits, 2 ** (bits * cells) - 1
        code = torch.round(m.abs() * top).to(torch.int64)
        digits = torch.stack([(code // base**s) % base for s in range(cells)]).to(torch.float64)
        level = g_min + digits / (base - 1) * g_range
        positive = (m > 0).unsqueeze(0)
        g_plus = torch.where(positive, level, torch.full_like(level, g_min))
        g_minus = torch.where(positive, torch.full_like(level, g_min), level)
        factor = torch.tensor([base**s * (base - 1) / top for s in range(cells)], dtype=torch.float64)
        w_unit = w_max / g_range
    elif mapping == "differential":
        g_plus = (g_min + m.clamp(min=0) * g_range).unsqueeze(0)
        g_minus = (g_min + (-m).clamp(min=0) * g_range).unsqueeze(0)
        factor = torch.ones(1, dtype=torch.float64)
        w_unit = w_max / g_range
    else:
        g_plus = (g_min + (1 + m) / 2 * g_range).unsqueeze(0)
        g_minus = torch.full((1, 1, w.shape[1]), g_min + g_range / 2, dtype=torch.float64)
        factor = torch.ones(1, dtype=torch.float64)
        w_unit = 2 * w_max / g_range
    g_plus = device.quantize(g_plus).clamp(device.g_min, device.g_max)
    g_minus = device.quantize(g_minus).clamp(device.g_min, device.g_max)
    return Mapped(g_plus=g_plus, g_minus=g_minus, w_unit=w_unit, slice_factor=factor, clipped=clipped,
                  tile_rows=tile_rows)
