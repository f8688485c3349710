"""Saving and loading trained networks, including the checkpoints shipped inside the package.

A checkpoint is a plain dict of tensors, strings and numbers (so it loads with
``torch.load(weights_only=True)`` and never runs code): the architecture name and its constructor
arguments, the data set and input scaling it was trained for, the state dict, the sha256 of the state dict
(:func:`state_dict_sha256`), and how it was made.

Loading checks every field before a network is built: the types, a known architecture, data set and input
scaling, the sha256 (a flipped bit in a weight is refused, not evaluated), and finite weights. Format 1 files
(written before the sha256 existed) still load, without the hash check.
"""

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from neuroemu.data import DATASETS, NORMALIZE_MODES
from neuroemu.nets.lenet import LeNet5

FORMAT_VERSION = 2
#: formats :func:`load_checkpoint` reads: 1 has no sha256
READABLE_FORMATS = (1, 2)
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
        if path.is_dir():
            raise UnknownModelError(f"{path} is a folder, not a checkpoint file (give a .pt file's path)")
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


def state_dict_sha256(state_dict: dict[str, torch.Tensor]) -> str:
    """The sha256 of a state dict: every entry's name, dtype, shape and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(state_dict):
        tensor = state_dict[name].detach().cpu().contiguous()
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def save_checkpoint(model: nn.Module, path: str | Path, *, dataset: str, normalize: str,
                    provenance: dict[str, Any]) -> Path:
    """Write ``model`` (a known architecture with a ``config()`` method) as a checkpoint file."""
    arch = next((name for name, cls in ARCHITECTURES.items() if type(model) is cls), None)
    if arch is None:
        known = sorted(ARCHITECTURES)
        raise CheckpointError(f"cannot save {type(model).__name__}: known architectures are {known}")
    state_dict = {k: v.detach().clone() for k, v in model.state_dict().items()}
    payload = {
        "format": FORMAT_VERSION,
        "arch": arch,
        "config": model.config(),
        "dataset": dataset,
        "normalize": normalize,
        "state_dict": state_dict,
        "sha256": state_dict_sha256(state_dict),
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
    _check_payload(payload, path)
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


def _check_payload(payload: Any, path: Path) -> None:
    """Every field of a loaded checkpoint has its type and an allowed value; the weights are intact."""
    if not isinstance(payload, dict) or payload.get("format") not in READABLE_FORMATS:
        raise CheckpointError(f"{path} is not a neuroemu checkpoint (a dict of format "
                              f"{FORMAT_VERSION} expected)")
    required = {"arch": str, "config": dict, "dataset": str, "normalize": str, "state_dict": dict}
    if payload["format"] >= 2:
        required["sha256"] = str
    missing = [k for k in required if k not in payload]
    if missing:
        raise CheckpointError(f"{path} lacks the fields {missing}")
    for key, kind in required.items():
        if not isinstance(payload[key], kind):
            raise CheckpointError(f"{path}: field {key!r} must be a {kind.__name__}, got "
                                  f"{type(payload[key]).__name__}")
    if not isinstance(payload.get("provenance", {}), dict):
        raise CheckpointError(f"{path}: field 'provenance' must be a dict")
    for key, known in (("arch", sorted(ARCHITECTURES)), ("dataset", sorted(DATASETS)),
                       ("normalize", list(NORMALIZE_MODES))):
        if payload[key] not in known:
            raise CheckpointError(f"{path}: unknown {key} {payload[key]!r}; known: {', '.join(known)}")
    state = payload["state_dict"]
    for name, tensor in state.items():
        if not (isinstance(name, str) and isinstance(tensor, torch.Tensor)):
            raise CheckpointError(f"{path}: the state dict must map names to tensors ({name!r} does not)")
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise CheckpointError(f"{path}: {name} holds NaN or infinite values; the network cannot be "
                                  "evaluated (retrain it or restore the file)")
    if "sha256" in required and state_dict_sha256(state) != payload["sha256"]:
        raise CheckpointError(f"{path}: the weights do not match the checkpoint's sha256: the file is "
                              "damaged or was edited (restore it, or save it again with neuroemu)")


def load_model(name_or_path: str | Path) -> nn.Module:
    """The trained network of a shipped model name or checkpoint path, in eval mode."""
    return load_checkpoint(name_or_path).build()
