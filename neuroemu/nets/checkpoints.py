"""Saving and loading trained networks, including the checkpoints shipped inside the package.

A checkpoint is a plain dict of tensors, strings and numbers (so it loads with
``torch.load(weights_only=True)`` and never runs code): the architecture name and its constructor
arguments, the data set and input scaling it was trained for, the state dict, and how it was made.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from neuroemu.nets.lenet import LeNet5

FORMAT_VERSION = 1
ARCHITECTURES: dict[str, type[nn.Module]] = {"lenet5": LeNet5}
SHIPPED_DIR = Path(__file__).parent / "checkpoints"


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read, or does not match its architecture."""


class UnknownModelError(ValueError):
    """A model name that is neither a shipped checkpoint nor a file."""


@dataclass(frozen=True)
class Checkpoint:
    """A trained network and what it was trained for."""

    arch: str
    config: dict[str, Any]
    dataset: str
    normalize: str
    state_dict: dict[str, torch.Tensor]
    provenance: dict[str, Any] = field(default_factory=dict)

    def build(self) -> nn.Module:
        """A fresh model of this architecture with these weights, in eval mode."""
        model = ARCHITECTURES[self.arch](**self.config)
        model.load_state_dict(self.state_dict)
        return model.eval()


def shipped_models() -> list[str]:
    """Names of the checkpoints shipped with the package (e.g. ``lenet5-mnist``)."""
    return sorted(p.stem for p in SHIPPED_DIR.glob("*.pt"))


def resolve_model(name_or_path: str | Path) -> Path:
    """The file behind a shipped model name or a user's checkpoint path."""
    path = Path(name_or_path)
    if path.suffix == ".pt" or path.exists():
        if not path.is_file():
            raise UnknownModelError(f"checkpoint file {path} does not exist")
        return path
    shipped = SHIPPED_DIR / f"{name_or_path}.pt"
    if shipped.is_file():
        return shipped
    raise UnknownModelError(
        f"unknown model {str(name_or_path)!r}; known models: {', '.join(shipped_models())} "
        "(or give the path of a .pt checkpoint)"
    )


def save_checkpoint(model: nn.Module, path: str | Path, *, dataset: str, normalize: str,
                    provenance: dict[str, Any]) -> Path:
    """Write ``model`` (a known architecture with a ``config()`` method) as a checkpoint file."""
    arch = next((name for name, cls in ARCHITECTURES.items() if type(model) is cls), None)
    if arch is None:
        known = sorted(ARCHITECTURES)
        raise CheckpointError(f"cannot save {type(model).__name__}: known architectures are {known}")
    payload = {
        "format": FORMAT_VERSION,
        "arch": arch,
        "config": model.config(),
        "dataset": dataset,
        "normalize": normalize,
        "state_dict": {k: v.detach().clone() for k, v in model.state_dict().items()},
        # through JSON, so that only plain data (never e.g. a TorchVersion object) reaches the file
        "provenance": json.loads(json.dumps(provenance)),
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(payload, path)
    return path


def load_checkpoint(name_or_path: str | Path) -> Checkpoint:
    """Read a shipped or user checkpoint safely (``weights_only=True``) and check it fits its architecture."""
    path = resolve_model(name_or_path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a damaged or hostile file
        raise CheckpointError(f"{path} is not a readable neuroemu checkpoint: {exc}") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT_VERSION:
        raise CheckpointError(f"{path} is not a neuroemu checkpoint (format {FORMAT_VERSION} dict expected)")
    missing = [k for k in ("arch", "config", "dataset", "normalize", "state_dict") if k not in payload]
    if missing:
        raise CheckpointError(f"{path} lacks the fields {missing}")
    if payload["arch"] not in ARCHITECTURES:
        known = sorted(ARCHITECTURES)
        raise CheckpointError(f"{path}: unknown architecture {payload['arch']!r}; known: {known}")
    checkpoint = Checkpoint(
        arch=payload["arch"],
        config=dict(payload["config"]),
        dataset=payload["dataset"],
        normalize=payload["normalize"],
        state_dict=dict(payload["state_dict"]),
        provenance=dict(payload.get("provenance", {})),
    )
    try:
        checkpoint.build()
    except (RuntimeError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path} does not fit architecture {checkpoint.arch!r}: {exc}") from exc
    return checkpoint


def load_model(name_or_path: str | Path) -> nn.Module:
    """The trained network of a shipped model name or checkpoint path, in eval mode."""
    return load_checkpoint(name_or_path).build()
