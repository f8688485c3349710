"""Quantised layers for training and float evaluation of low-bit networks.

``QuantLinear`` / ``QuantConv2d`` keep latent float weights (what the optimiser updates) and use their
quantised version in every forward, with the straight-through gradients of
:mod:`neuroemu.lowbit.quantizers`. ``SignActivation`` and ``DorefaActivation`` replace ReLU.
"""

import torch
import torch.nn.functional as F
from torch import nn

from neuroemu.lowbit.quantizers import dorefa_activations, dorefa_weights, sign_ste, ternarize, xnor_weights
from neuroemu.lowbit.schemes import WeightKind

CLIPPED_KINDS = ("binary", "xnor")  # latent weights clipped to [−1, 1] (BinaryConnect, Courbariaux 2015)


class _QuantWeights:
    """Shared by the quantised layers: the weight quantiser and latent-weight clipping."""

    weight: nn.Parameter
    weight_kind: WeightKind
    weight_bits: int

    def quantized_weight(self) -> torch.Tensor:
        """The weights the layer computes with (straight-through gradient to the latent weights)."""
        w = self.weight
        if self.weight_kind == "float":
            return w
        if self.weight_kind == "binary":
            return sign_ste(w)
        if self.weight_kind == "xnor":
            return xnor_weights(w)
        if self.weight_kind == "ternary":
            return ternarize(w)
        return dorefa_weights(w, self.weight_bits)

    @torch.no_grad()
    def clip_latent(self) -> None:
        """Keep binary latent weights in [−1, 1], where the sign's straight-through gradient lives."""
        if self.weight_kind in CLIPPED_KINDS:
            self.weight.clamp_(-1, 1)


class QuantLinear(_QuantWeights, nn.Linear):
    def __init__(self, in_features: int, out_features: int, weight_kind: WeightKind = "float",
                 weight_bits: int = 1) -> None:
        super().__init__(in_features, out_features)
        self.weight_kind, self.weight_bits = weight_kind, weight_bits

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.quantized_weight(), self.bias)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, weights={self.weight_kind}"


class QuantConv2d(_QuantWeights, nn.Conv2d):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, padding: int = 0,
                 weight_kind: WeightKind = "float", weight_bits: int = 1) -> None:
        super().__init__(in_channels, out_channels, kernel_size, padding=padding)
        self.weight_kind, self.weight_bits = weight_kind, weight_bits

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(x, self.quantized_weight(), self.bias)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, weights={self.weight_kind}"


class SignActivation(nn.Module):
    """±1 activations, sign(0) = +1, with the hard-tanh straight-through gradient (Hubara et al. 2016)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return sign_ste(x)


class DorefaActivation(nn.Module):
    """k-bit activations in [0, 1] (Zhou et al. 2016, DoReFa-Net)."""

    def __init__(self, bits: int) -> None:
        super().__init__()
        self.bits = bits

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return dorefa_activations(x, self.bits)

    def extra_repr(self) -> str:
        return f"bits={self.bits}"
