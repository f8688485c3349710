"""LeNet-5 (LeCun et al., "Gradient-based learning applied to document recognition", Proc. IEEE 1998).

The classic layer sizes with today's usual choices: conv 6@5×5 (padding 2, so 28×28 MNIST keeps the
original 32×32 geometry) → pool 2×2 → conv 16@5×5 → pool 2×2 → fc 120 → fc 84 → fc 10. The activation
(ReLU by default, tanh as in the paper) and the pooling (max by default, average as in the paper) are
selectable. Every layer is a named submodule so that substrate mapping can replace it in place.
"""

from typing import Literal

import torch
from torch import nn

Activation = Literal["relu", "tanh"]
Pooling = Literal["max", "avg"]

ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh}
POOLINGS: dict[str, type[nn.Module]] = {"max": nn.MaxPool2d, "avg": nn.AvgPool2d}


class LeNet5(nn.Module):
    """LeNet-5 for 1×28×28 inputs and 10 classes."""

    def __init__(self, activation: Activation = "relu", pooling: Pooling = "max") -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {sorted(POOLINGS)}, got {pooling!r}")
        self.activation = activation
        self.pooling = pooling
        act, pool = ACTIVATIONS[activation], POOLINGS[pooling]
        self.conv1 = nn.Conv2d(1, 6, kernel_size=5, padding=2)
        self.act1 = act()
        self.pool1 = pool(2)
        self.conv2 = nn.Conv2d(6, 16, kernel_size=5)
        self.act2 = act()
        self.pool2 = pool(2)
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.act3 = act()
        self.fc2 = nn.Linear(120, 84)
        self.act4 = act()
        self.fc3 = nn.Linear(84, 10)

    def config(self) -> dict[str, str]:
        """The constructor arguments, as stored in checkpoints."""
        return {"activation": self.activation, "pooling": self.pooling}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool1(self.act1(self.conv1(x)))
        x = self.pool2(self.act2(self.conv2(x)))
        x = self.act3(self.fc1(self.flatten(x)))
        x = self.act4(self.fc2(x))
        return self.fc3(x)
