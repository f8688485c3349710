"""Networks: LeNet-5, its training loop, the trained checkpoints shipped with the package, accuracy, and
a model read as the chain of layers its forward applies (:func:`layer_sequence`)."""

from neuroemu.nets.accuracy import accuracy, summarize
from neuroemu.nets.checkpoints import (
    ARCHITECTURES,
    Checkpoint,
    CheckpointError,
    UnknownModelError,
    load_checkpoint,
    load_model,
    save_checkpoint,
    shipped_models,
)
from neuroemu.nets.lenet import LeNet5
from neuroemu.nets.sequence import layer_sequence
from neuroemu.nets.train import TrainConfig, TrainResult, train

__all__ = [
    "ARCHITECTURES",
    "Checkpoint",
    "CheckpointError",
    "LeNet5",
    "TrainConfig",
    "TrainResult",
    "UnknownModelError",
    "accuracy",
    "layer_sequence",
    "load_checkpoint",
    "load_model",
    "save_checkpoint",
    "shipped_models",
    "summarize",
    "train",
]
