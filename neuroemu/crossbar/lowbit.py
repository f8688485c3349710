"""Low-bit weights on crossbar arrays: integer weight codes in cells, the quantiser's scale in digital logic.

A layer of a network trained with ``--quant`` (:class:`~neuroemu.lowbit.layers.QuantLinear` /
:class:`~neuroemu.lowbit.layers.QuantConv2d`) computes with the weights ``quantized_weight()`` returns, not
with its latent float weights. Each such weight is an integer code c times a digital scale s:

==============  ==========================================  =====================  ==================
weight kind     quantised weight                            code c                 scale s (column)
==============  ==========================================  =====================  ==================
``binary``      sign(W) (BinaryConnect, BNN)                ±1                     1
``xnor``        α_c·sign(W_c) (XNOR-Net)                    ±1                     α_c (per filter)
``ternary``     α·t, t ∈ {−1, 0, 1} (TWN)                    t                      α (per layer)
``dorefa`` (k)  2·quantize_k(·) − 1 ∈ [−1, 1] (DoReFa)      odd, |c| ≤ 2^k − 1     1 / (2^k − 1)
==============  ==========================================  =====================  ==================

The crossbar stores only |c| and its sign; s multiplies each column's ADC output in the digital periphery
(the ``output_scale`` event every crossbar layer already records), so no conductance ever holds α.

**Cells.** With M = max |c| the layer's largest code (1 for binary and ternary weights):

- **differential pairs** (always, unless noted): code c is stored as G⁺ − G⁻ with the magnitude in the cell
  of c's sign and the other cell at g_min: +1 → (ON, OFF), −1 → (OFF, ON), 0 → (OFF, OFF). A binary or
  ternary weight therefore needs one cell of two states per side: one MTJ (R_P = ON, R_AP = OFF) on
  STT-RAM, a SET / RESET cell on RRAM, no bit slicing. Differential pairs are the default because (i) the
  OFF conductance of a binary cell is far from zero (STT-RAM: G_AP = G_P / (1 + TMR)) and the pair cancels
  it exactly, with no reference level to program; (ii) the signal swing per weight is the full
  g_max − g_min, twice that of a single-ended cell against a mid-level reference; (iii) the same pair
  stores ternary zeros as (OFF, OFF), so binary and ternary layers share one array design; and (iv) a
  two-state cell cannot hold the mid-level a reference column needs.
- ``mapping="reference"`` is accepted for binary weights (``binary`` / ``xnor``) on a device with a
  mid-level (a continuum, or an odd number of levels): ±1 → ON / OFF in one cell per weight, one
  reference column at (g_min + g_max)/2 per array, as for float layers. Ternary and k-bit codes, and
  two-state devices, need differential pairs (a clear error otherwise).
- **multi-level / sliced codes** (DoReFa, k ≥ 2): |c| is written in base B over as many cells as it needs,
  cell s holding digit d_s at g_min + d_s/(B − 1)·(g_max − g_min), recombined by shift-and-add with weights
  B^s — the float layers' slicing path with the code exact instead of re-quantised. B = 2^b for the spec's
  ``slicing = (cells, b)`` (the cell count there is for float layers; a low-bit layer uses the cells its
  codes need), else the device's level count, else (a continuum) M + 1, i.e. one cell. When the code fits
  one cell and its M + 1 levels are among the cell's levels, one cell spans the full range
  (g = g_min + |c|/M·(g_max − g_min)), so binary and ternary weights always use ON = g_max.

Column scaling, weight clipping and the float layers' ``slicing`` quantisation do not apply to low-bit
layers: their codes are exact integers and their scale is the quantiser's.

**Converters.** Under integer DAC codes a low-bit column's partial sum is an integer number of conductance
steps (:attr:`Mapped.g_step`), so a calibrated ADC of such a layer gets an LSB of a whole number of steps
(one step, i.e. lossless, when the calibrated peak fits in 2^(b−1) − 1 codes), as integer-sum crossbar
designs size their ADCs. Rows of a layer whose inputs are ±1 are driven by two-level drivers (see
:meth:`~neuroemu.crossbar.layers.CrossbarLayer.finish_dac_calibration`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from neuroemu.crossbar.mapping import Mapped
from neuroemu.devices import DeviceModel
from neuroemu.lowbit.layers import QuantConv2d, QuantLinear
from neuroemu.lowbit.quantizers import dorefa_weights, ternary_parts, xnor_scales

__all__ = ["LowBitWeights", "lowbit_weights", "map_lowbit"]

BINARY_KINDS = ("binary", "xnor")


@dataclass(frozen=True)
class LowBitWeights:
    """The weights a quantised layer computes with, as integer codes times a per-column scale."""

    kind: str  #: "binary", "xnor", "ternary" or "dorefa"
    codes: torch.Tensor  #: (out, in) integer codes (float64)
    scale: torch.Tensor  #: (out,) digital scale per output column (float64)
    max_code: int  #: M: the largest |code| the quantiser can produce (≥ 1)

    def effective(self) -> torch.Tensor:
        """codes × scale: the (out, in) weights the layer computes with."""
        return self.codes * self.scale.view(-1, 1)


def lowbit_weights(module: nn.Module) -> LowBitWeights | None:
    """Codes and scales of a quantised layer's weights; ``None`` for a float layer (or a plain torch one)."""
    if not isinstance(module, QuantLinear | QuantConv2d) or module.weight_kind == "float":
        return None
    kind = module.weight_kind
    latent = module.weight.detach()  # the quantisers run in the layer's own dtype, as its forward does
    out = latent.shape[0]
    sign = torch.where(latent >= 0, 1.0, -1.0)  # sign(0) = +1, as sign_ste
    if kind == "binary":
        codes, scale, top = sign, torch.ones(out), 1
    elif kind == "xnor":
        codes, scale, top = sign, xnor_scales(latent).flatten(), 1
    elif kind == "ternary":
        t, alpha = ternary_parts(latent)
        codes, scale, top = t, alpha.expand(out), 1
    elif kind == "dorefa":
        top = 2**module.weight_bits - 1
        with torch.no_grad():
            codes = torch.round(dorefa_weights(latent, module.weight_bits) * top)
        scale = torch.full((out,), 1.0 / top, dtype=torch.float64)
    else:
        raise ValueError(f"unknown weight kind {kind!r} of a quantised layer")
    return LowBitWeights(kind=kind, codes=codes.reshape(out, -1).to(torch.float64),
                         scale=scale.to(torch.float64).clone(), max_code=top)


def _cell_base(device: DeviceModel, slicing: tuple[int, int] | None, top: int) -> tuple[int, int]:
    """(digit base B, cells n) for codes |c| ≤ ``top`` (see the module docstring)."""
    levels = device.levels
    if slicing is not None:
        base = 2 ** slicing[1]
    elif levels is not None:
        base = levels
    else:
        return top + 1, 1
    cells = 1
    while base**cells - 1 < top:
        cells += 1
    if cells == 1 and (base - 1) % top == 0:
        return top + 1, 1  # one cell, full range: code |c| at level |c|·(B − 1)/M of the cell's B levels
    return base, cells


def map_lowbit(weights: LowBitWeights, device: DeviceModel, *, mapping: str = "differential",
               slicing: tuple[int, int] | None = None, name: str = "layer") -> Mapped:
    """Target conductances of a low-bit layer's codes; the scale goes to the digital column scale."""
    codes, top = weights.codes, weights.max_code
    if not torch.isfinite(weights.scale).all():
        raise ValueError(f"{name}: weight scales must be finite (found NaN or inf)")
    if codes.abs().max() > top:
        raise ValueError(f"{name}: weight codes exceed ±{top}")
    g_min, g_range = device.g_min, device.g_max - device.g_min
    if mapping == "reference":
        levels = device.levels
        if weights.kind not in BINARY_KINDS:
            raise ValueError(f"{name}: {weights.kind} weights need mapping='differential' (a single-ended "
                             "cell against a reference column stores only ±1)")
        if levels is not None and levels % 2 == 0:
            raise ValueError(f"{name}: mapping='reference' needs a mid-level for the reference column, but "
                             f"device {device.card.name!r} has {levels} levels; use mapping='differential'")
        g_plus = (g_min + (1 + codes) / 2 * g_range).unsqueeze(0)
        g_minus = torch.full((1, 1, codes.shape[1]), g_min + g_range / 2, dtype=torch.float64)
        w_unit, factor = 2 * weights.scale / g_range, torch.ones(1, dtype=torch.float64)
        g_step = g_range / 2
    elif mapping == "differential":
        base, cells = _cell_base(device, slicing, top)
        magnitude = codes.abs().to(torch.int64)
        digits = torch.stack([(magnitude // base**s) % base for s in range(cells)]).to(torch.float64)
        level = g_min + digits / (base - 1) * g_range
        off = torch.full_like(level, g_min)
        positive = (codes > 0).unsqueeze(0)
        negative = (codes < 0).unsqueeze(0)
        g_plus = torch.where(positive, level, off)
        g_minus = torch.where(negative, level, off)
        factor = torch.tensor([base**s * (base - 1) / top for s in range(cells)], dtype=torch.float64)
        w_unit = weights.scale * top / g_range
        g_step = g_range / (base - 1)
    else:
        raise ValueError(f"mapping must be 'differential' or 'reference', got {mapping!r}")
    g_plus = device.quantize(g_plus).clamp(device.g_min, device.g_max)
    g_minus = device.quantize(g_minus).clamp(device.g_min, device.g_max)
    return Mapped(g_plus=g_plus, g_minus=g_minus, w_unit=w_unit, slice_factor=factor, clipped=0,
                  g_step=g_step)
