"""Digital baseline counting: multiply-accumulates of a plain torch model, per layer.

A forward hook on every ``nn.Linear`` and ``nn.Conv2d`` records ``mac`` events (one multiply and one add
per weight use, bias adds excluded) with the operand width, so a float model's ledger can be priced as a
digital accelerator would run it.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from neuroemu.cost.ledger import Ledger


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
def count_macs(model: nn.Module, ledger: Ledger, bits: int = 32) -> Iterator[Ledger]:
    """While active, every forward of ``model`` records its Linear/Conv2d MACs into ``ledger``."""
    handles = []
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear | nn.Conv2d):

            def hook(mod: nn.Module, _inputs: tuple, output: torch.Tensor, layer: str = name) -> None:
                ledger.record("mac", layer_macs(mod, output), layer=layer, bits=bits)

            handles.append(module.register_forward_hook(hook))
    try:
        yield ledger
    finally:
        for handle in handles:
            handle.remove()
