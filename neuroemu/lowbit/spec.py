"""The ``LowBit`` substrate: run a network trained with ``--quant`` on bit-exact low-bit arithmetic."""

from dataclasses import dataclass

from torch import nn

from neuroemu.lowbit.execution import BitExactConv2d, BitExactLinear
from neuroemu.lowbit.layers import QuantConv2d, QuantLinear


@dataclass(frozen=True)
class LowBit:
    """Binary / ternary / k-bit digital execution: XNOR-popcount where weights and inputs are ±1.

    ``neuroemu.map(model, LowBit())`` replaces every quantised layer of a model trained with a low-bit
    scheme (``neuroemu train lenet5 --quant ...``) by its bit-exact twin (:mod:`neuroemu.lowbit.execution`);
    batch normalisation, pooling and the activations stay as they are (digital, exact).
    """

    def apply(self, model: nn.Module) -> nn.Module:
        if isinstance(model, QuantConv2d | QuantLinear):  # a bare layer: give it a parent to be replaced in
            model = nn.Sequential(model)
        replaced = 0
        for name, module in list(model.named_modules()):
            if isinstance(module, QuantConv2d | QuantLinear):
                twin = BitExactConv2d if isinstance(module, QuantConv2d) else BitExactLinear
                _set_submodule(model, name, twin.from_layer(module, name))
                replaced += 1
        if replaced == 0:
            raise ValueError("LowBit needs a model with quantised layers (trained with --quant); "
                             "this model has none")
        return model


def _set_submodule(model: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    setattr(model.get_submodule(parent_name) if parent_name else model, child, new)
