"""A network as the chain of layers its forward applies, checked rather than assumed.

Substrates that rebuild a network layer by layer (stochastic circuits, spiking conversion) read it as its
children in registration order. That reading is only right when the model's forward applies exactly those
children, one after another: a model that calls its layers in another order, skips one, calls one twice or
computes something in between (``torch.flatten``, a residual sum) would be rebuilt as a different network
and would still give plausible numbers. :func:`layer_sequence` therefore checks the chain against the
model's own forward on a probe input and refuses the model when they differ.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import nn

__all__ = ["layer_sequence"]

#: the probe: this many random images drawn from N(0, 1) (both signs, so a reordered ReLU shows)
PROBE_IMAGES = 2
PROBE_SEED = 0
#: the chain must give the model's output to within this absolute (and relative) tolerance
PROBE_TOLERANCE = 1e-5


def layer_sequence(model: nn.Module, input_shape: tuple[int, ...]) -> list[tuple[str, nn.Module]]:
    """The layers ``model`` applies, in order, as ``(name, module)``; identities dropped.

    The layers are the model's children in registration order, with a plain ``nn.Sequential`` child
    opened into its own children (named ``parent.child``). A plain ``nn.Sequential`` model is that chain
    by construction; any other model must give the same output as its chain on a probe input of
    ``input_shape`` (one image, without the batch dimension), run in evaluation mode (the model's training
    flags are restored afterwards). Raises ``ValueError`` naming the model's class when the model does not
    run on the probe or its forward is not its chain.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"expected a torch nn.Module, got {type(model).__name__}")
    chain = list(_chain(model, ""))
    if type(model) is not nn.Sequential:
        _check_chain(model, [module for _, module in chain], input_shape)
    return [(name, module) for name, module in chain if not isinstance(module, nn.Identity)]


def _chain(module: nn.Module, prefix: str) -> Iterator[tuple[str, nn.Module]]:
    for name, child in module.named_children():
        if type(child) is nn.Sequential:
            yield from _chain(child, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", child


def _check_chain(model: nn.Module, chain: list[nn.Module], input_shape: tuple[int, ...]) -> None:
    """Refuse ``model`` unless applying ``chain`` in order reproduces its forward on a probe input."""
    kind = type(model).__name__
    probe = torch.randn(PROBE_IMAGES, *input_shape, generator=torch.Generator().manual_seed(PROBE_SEED))
    training = {module: module.training for module in model.modules()}
    model.eval()
    try:
        with torch.no_grad():
            try:
                expected = model(probe)
            except (RuntimeError, ValueError) as exc:
                raise ValueError(f"{kind} does not run on a probe input of shape {tuple(input_shape)} "
                                 f"(input_shape: one image, without the batch dimension): {exc}") from exc
            reason = _mismatch(chain, probe, expected)
    finally:
        for module, flag in training.items():
            module.training = flag
    if reason is not None:
        raise ValueError(f"{kind}'s forward is not its children applied in order: {reason} on a probe "
                         "input; only a network whose forward applies its layers one after another (like "
                         "nn.Sequential) can be rebuilt layer by layer")


def _mismatch(chain: list[nn.Module], probe: torch.Tensor, expected: object) -> str | None:
    """Why ``chain`` applied to ``probe`` does not give ``expected`` (``None`` when it does)."""
    y = probe
    try:
        for module in chain:
            y = module(y)
    except (RuntimeError, ValueError) as exc:
        return f"applying them in order fails ({exc})"
    if not isinstance(expected, torch.Tensor) or y.shape != expected.shape:
        return "applying them in order gives another output shape"
    if not torch.allclose(y, expected, atol=PROBE_TOLERANCE, rtol=PROBE_TOLERANCE):
        return "applying them in order gives other values"
    return None
