"""LeNet-5 (LeCun et al., "Gradient-based learning applied to document recognition", Proc. IEEE 1998).

The classic layer sizes with today's usual choices: conv 6@5×5 (padding 2, so 28×28 MNIST keeps the
original 32×32 geometry) → pool 2×2 → conv 16@5×5 → pool 2×2 → fc 120 → fc 84 → fc 10. The activation
(ReLU by default, tanh as in the paper) and the pooling (max by default, average as in the paper) are
selectable. Every layer is a named submodule so that substrate mapping can replace it in place.

With ``quant`` (a scheme of :mod:`neuroemu.lowbit.schemes`, e.g. ``"bnn"``) the weight layers become
quantised layers, the activations follow the scheme, and batch normalisation sits between each hidden
layer and its activation (``bn1``..``bn4``) and on the logits (``bn5``, as in Hubara et al. 2016, which
keeps the integer-valued logits of a binary last layer in a range softmax can train on); in the float
network those slots are identities. A quantised network with max pooling pools before its activation
(conv → bn → pool → act; XNOR-Net's blocks, too, pool real values before the next sign): the values are
those of conv → bn → act → pool, since max-pooling commutes with every non-decreasing activation, but the
straight-through gradient reaches the largest pre-activation of each window rather than the first of
several tied ±1 (or k-bit) outputs.

``lrn=True`` adds local response normalisation across channels after the first pooling (``lrn1``; as
in AlexNet, Krizhevsky et al. 2012): b_c = a_c / (k + α/n · Σ_{|c'−c| ≤ n/2} a_c'²)^β with n = 5, α = 1,
β = 0.75, k = 1 — α larger than AlexNet's so that the normalisation matters for tanh activations in
[−1, 1] (the denominator spans 1 to 1.68). It is the network the stochastic LRN of Li et al. (2017) runs on.
"""

from typing import Literal

import torch
from torch import nn

from neuroemu.lowbit.layers import DorefaActivation, QuantConv2d, QuantLinear, SignActivation
from neuroemu.lowbit.schemes import QuantScheme, parse_scheme

Activation = Literal["relu", "tanh"]
Pooling = Literal["max", "avg"]

ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh}
POOLINGS: dict[str, type[nn.Module]] = {"max": nn.MaxPool2d, "avg": nn.AvgPool2d}
LRN = {"size": 5, "alpha": 1.0, "beta": 0.75, "k": 1.0}  # architecture choice, see the module docstring


class LeNet5(nn.Module):
    """LeNet-5 for 1×28×28 inputs and 10 classes, float or quantised."""

    def __init__(self, activation: Activation = "relu", pooling: Pooling = "max",
                 quant: str | None = None, lrn: bool = False) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {sorted(POOLINGS)}, got {pooling!r}")
        if not isinstance(lrn, bool):
            raise ValueError(f"lrn must be True or False, got {lrn!r}")
        self.activation, self.pooling, self.quant, self.lrn = activation, pooling, quant, lrn
        scheme = parse_scheme(quant) if quant is not None else None
        pool = POOLINGS[pooling]

        def act() -> nn.Module:
            return _activation(activation, scheme)

        def norm(channels: int, dims: int) -> nn.Module:
            if scheme is None:
                return nn.Identity()
            return nn.BatchNorm2d(channels) if dims == 2 else nn.BatchNorm1d(channels)

        self.conv1 = _conv(1, 6, 5, 2, scheme, "first")
        self.bn1 = norm(6, 2)
        self.act1 = act()
        self.pool1 = pool(2)
        self.lrn1 = nn.LocalResponseNorm(**LRN) if lrn else nn.Identity()
        self.conv2 = _conv(6, 16, 5, 0, scheme, "hidden")
        self.bn2 = norm(16, 2)
        self.act2 = act()
        self.pool2 = pool(2)
        self.flatten = nn.Flatten()
        self.fc1 = _linear(16 * 5 * 5, 120, scheme, "hidden")
        self.bn3 = norm(120, 1)
        self.act3 = act()
        self.fc2 = _linear(120, 84, scheme, "hidden")
        self.bn4 = norm(84, 1)
        self.act4 = act()
        self.fc3 = _linear(84, 10, scheme, "last")
        self.bn5 = norm(10, 1)

    def config(self) -> dict[str, str | bool]:
        """The constructor arguments, as stored in checkpoints."""
        config = {"activation": self.activation, "pooling": self.pooling}
        if self.quant is not None:
            config["quant"] = self.quant
        if self.lrn:
            config["lrn"] = True
        return config

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.quant is not None and self.pooling == "max":
            # same values as act → pool (max commutes with non-decreasing activations), better gradients
            x = self.lrn1(self.act1(self.pool1(self.bn1(self.conv1(x)))))
            x = self.act2(self.pool2(self.bn2(self.conv2(x))))
        else:
            x = self.lrn1(self.pool1(self.act1(self.bn1(self.conv1(x)))))
            x = self.pool2(self.act2(self.bn2(self.conv2(x))))
        x = self.act3(self.bn3(self.fc1(self.flatten(x))))
        x = self.act4(self.bn4(self.fc2(x)))
        return self.bn5(self.fc3(x))


def _conv(cin: int, cout: int, k: int, padding: int, scheme: QuantScheme | None, position: str) -> nn.Module:
    if scheme is None:
        return nn.Conv2d(cin, cout, kernel_size=k, padding=padding)
    return QuantConv2d(cin, cout, k, padding=padding, weight_kind=scheme.weight_kind(position),
                       weight_bits=scheme.weight_bits)


def _linear(fin: int, fout: int, scheme: QuantScheme | None, position: str) -> nn.Module:
    if scheme is None:
        return nn.Linear(fin, fout)
    return QuantLinear(fin, fout, weight_kind=scheme.weight_kind(position), weight_bits=scheme.weight_bits)


def _activation(activation: str, scheme: QuantScheme | None) -> nn.Module:
    if scheme is None or scheme.activations == "relu":
        return ACTIVATIONS[activation]()
    if scheme.activations == "sign":
        return SignActivation()
    return DorefaActivation(scheme.activation_bits)
