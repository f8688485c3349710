"""Digital baseline counting: multiply-accumulates of a plain torch model, per layer.

A forward hook on every ``nn.Linear`` and ``nn.Conv2d`` records ``mac`` events (one multiply and one add
per weight use, bias adds excluded) with the operand width, so a float model's ledger can be priced as a
digital accelerator would run it. With a ``weight_memory`` card it also records the ``memory_read`` word
accesses that fetch the layer's weights and biases at that width, once per image: the weight traffic of
a weight-stationary datapath, a lower bound (a datapath that re-reads weights for every output position
reads more).
"""

import math
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from neuroemu.cards import Card
from neuroemu.ledger import Ledger


def layer_macs(module: nn.Module, output: torch.Tensor) -> int:
    """Multiply-accumulates one forward of ``module`` performed to produce ``output`` (whole batch)."""
    if isinstance(module, nn.Linear):
        return output.numel() * module.in_features
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        per_output = (module.in_channels // module.groups) * kh * kw
        return output.numel() * per_output
    raise TypeError(f"cannot count MACs of {type(module).__name__}")


@contextmanager
def count_macs(model: nn.Module, ledger: Ledger, bits: int = 32,
               weight_memory: Card | None = None) -> Iterator[Ledger]:
    """While active, every forward of ``model`` records its Linear/Conv2d MACs into ``ledger`` (and, with a
    ``memory`` card, the word accesses fetching their parameters)."""
    handles = []
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear | nn.Conv2d):

            def hook(mod: nn.Module, _inputs: tuple, output: torch.Tensor, layer: str = name) -> None:
                ledger.record("mac", layer_macs(mod, output), layer=layer, bits=bits)
                if weight_memory is not None:
                    words = math.ceil(sum(p.numel() for p in mod.parameters()) * bits
                                      / weight_memory.word_bits)  # type: ignore[attr-defined]
                    ledger.record("memory_read", output.shape[0] * words, layer=layer,
                                  memory=weight_memory.name, operand="weights")

            handles.append(module.register_forward_hook(hook))
    try:
        yield ledger
    finally:
        for handle in handles:
            handle.remove()
