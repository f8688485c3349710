"""Which shipped network an SC run uses: SC-DCNN's blocks compute tanh, so ReLU networks have tanh twins."""

from __future__ import annotations

from neuroemu.nets import shipped_models

__all__ = ["DEFAULT_MODELS", "default_model", "tanh_twin"]

#: the shipped tanh network trained with each pooling of the SC blocks
DEFAULT_MODELS = {"max": "lenet5-mnist-tanh", "avg": "lenet5-mnist-tanh-avg"}


def default_model(block: str) -> str:
    """The shipped tanh network trained with the block's pooling, else the max-pooling one."""
    name = DEFAULT_MODELS[block.split("-")[1]]
    return name if name in shipped_models() else DEFAULT_MODELS["max"]


def tanh_twin(name: str, block: str) -> str:
    """A shipped ReLU network's shipped tanh twin (``-tanh-avg`` for average-pooling blocks where shipped,
    else ``-tanh``); any other name unchanged."""
    if name not in shipped_models() or name.endswith(("-tanh", "-tanh-avg", "-tanh-lrn")):
        return name
    candidates = [f"{name}-tanh-avg", f"{name}-tanh"] if block.split("-")[1] == "avg" else [f"{name}-tanh"]
    return next((c for c in candidates if c in shipped_models()), name)
