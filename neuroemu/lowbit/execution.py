"""Bit-exact execution of quantised layers, with ledger events.

A :class:`BitExactLinear` / :class:`BitExactConv2d` computes what a low-bit accelerator computes:

- binary weights (``binary``, ``xnor``) on ±1 inputs: packed XNOR-popcount (:mod:`neuroemu.lowbit.xnor`),
  then XNOR-Net's per-filter scale α_c where the scheme has one, then the bias;
- binary weights on real inputs (a first layer seeing pixels): each weight adds or subtracts its input;
- ternary weights: α·(p − n) with two binary planes p, n, so only the non-zero weights add or subtract;
- float or k-bit DoReFa weights: multiply-accumulates of the stated widths.
Ledger events (per layer; counts for the whole batch): ``xnor_popcount`` (bit-products; ``words`` in
attrs = 64-bit words per dot product), ``signed_add`` (``weights`` = binary | ternary: one add/subtract per
non-zero weight use), ``mac`` (``bits`` = weight bits, ``activation_bits``), ``scale_multiply`` (α per
output), ``bias_add``.
"""

import torch
import torch.nn.functional as F
from torch import nn

from neuroemu.ledger import RecordsEvents
from neuroemu.lowbit.layers import QuantConv2d, QuantLinear
from neuroemu.lowbit.quantizers import xnor_scales
from neuroemu.lowbit.xnor import WORD_BITS, pack_signs, xnor_dot

BINARY_KINDS = ("binary", "xnor")
FLOAT_BITS = 32


def is_binary_input(x: torch.Tensor) -> bool:
    """True when every element is −1 or +1 (the output of a sign activation)."""
    return bool(((x == 1) | (x == -1)).all())


class _BitExact(RecordsEvents):
    """Shared by the bit-exact layers: packed weights and event recording."""

    weight: nn.Parameter
    bias: torch.Tensor | None
    weight_kind: str
    weight_bits: int
    layer_name: str

    def _prepare(self) -> None:
        w = self.weight.detach().flatten(1)
        self.fan_in = w.shape[1]
        self.register_buffer("packed_weight", pack_signs(w), persistent=False)
        scale = xnor_scales(self.weight).flatten() if self.weight_kind == "xnor" else None
        self.register_buffer("alpha", scale, persistent=False)
        self.nonzero_weights = int((self.quantized_weight().detach() != 0).sum())

    def _binary_matmul(self, columns: torch.Tensor) -> torch.Tensor:
        """(N, K) ±1 rows against the packed weights → (N, out) float outputs with α and bias applied."""
        out = xnor_dot(pack_signs(columns), self.packed_weight, self.fan_in).to(columns.dtype)
        if self.alpha is not None:
            out = out * self.alpha
        return out if self.bias is None else out + self.bias

    def _record(self, binary_input: bool, outputs: int, positions: int) -> None:
        """Events of one forward with ``outputs`` output values from ``positions`` weight-matrix uses."""
        if self.ledger is None:
            return
        name = self.layer_name
        if self.weight_kind in BINARY_KINDS and binary_input:
            words = -(-self.fan_in // WORD_BITS)
            self.ledger.record("xnor_popcount", outputs * self.fan_in, layer=name, words=words)
        elif self.weight_kind in (*BINARY_KINDS, "ternary"):
            kind = "ternary" if self.weight_kind == "ternary" else "binary"
            self.ledger.record("signed_add", positions * self.nonzero_weights, layer=name, weights=kind)
        else:
            bits = FLOAT_BITS if self.weight_kind == "float" else self.weight_bits
            self.ledger.record("mac", outputs * self.fan_in, layer=name, bits=bits)
        if self.weight_kind in ("xnor", "ternary"):
            self.ledger.record("scale_multiply", outputs, layer=name)
        if self.bias is not None:
            self.ledger.record("bias_add", outputs, layer=name)


class BitExactLinear(_BitExact, QuantLinear):
    """A trained :class:`QuantLinear`, executed as its low-bit hardware would."""

    @classmethod
    def from_layer(cls, layer: QuantLinear, name: str) -> "BitExactLinear":
        new = cls(layer.in_features, layer.out_features, layer.weight_kind, layer.weight_bits)
        new.load_state_dict(layer.state_dict())
        new.layer_name = name
        new._prepare()
        return new

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        binary = self.weight_kind in BINARY_KINDS and is_binary_input(x)
        out = self._binary_matmul(x) if binary else super().forward(x)
        self._record(binary, out.numel(), x.shape[0])
        return out


class BitExactConv2d(_BitExact, QuantConv2d):
    """A trained :class:`QuantConv2d`, executed as its low-bit hardware would."""

    @classmethod
    def from_layer(cls, layer: QuantConv2d, name: str) -> "BitExactConv2d":
        new = cls(layer.in_channels, layer.out_channels, layer.kernel_size[0], layer.padding[0],
                  layer.weight_kind, layer.weight_bits)
        new.load_state_dict(layer.state_dict())
        new.layer_name = name
        new._prepare()
        return new

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # zero padding is not a ±1 value: a padded binary input runs as signed adds
        binary = self.weight_kind in BINARY_KINDS and self.padding[0] == 0 and is_binary_input(x)
        if binary:
            n, _, h, w = x.shape
            kh, kw = self.kernel_size
            oh, ow = h - kh + 1, w - kw + 1
            columns = F.unfold(x, self.kernel_size).transpose(1, 2).reshape(n * oh * ow, -1)
            out = self._binary_matmul(columns).reshape(n, oh * ow, -1).transpose(1, 2).reshape(n, -1, oh, ow)
        else:
            out = super().forward(x)
        self._record(binary, out.numel(), x.shape[0] * out.shape[2] * out.shape[3])
        return out

