"""``neuroemu.map(model, substrate)``: turn a trained torch model into its emulation on a substrate.

A substrate spec (``Crossbar(...)``, ``Stochastic(...)``, ...) is a small frozen object that knows how to
replace the layers its hardware changes; it implements :class:`Substrate`. Mapping never changes the
caller's model: the spec works on a deep copy, so the float model stays available as the reference.
"""

import copy
from typing import Protocol, runtime_checkable

from torch import nn


@runtime_checkable
class Substrate(Protocol):
    """What every substrate spec provides."""

    def apply(self, model: nn.Module) -> nn.Module:
        """Replace, in ``model`` (already a private copy), the layers this substrate emulates."""
        ...


def map(model: nn.Module, substrate: Substrate) -> nn.Module:
    """Return an emulated copy of ``model`` running on ``substrate``; ``model`` itself is left unchanged."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(substrate, Substrate):
        raise TypeError(f"substrate must be a substrate spec with an apply(model) method, "
                        f"got {type(substrate).__name__}")
    return substrate.apply(copy.deepcopy(model)).eval()
