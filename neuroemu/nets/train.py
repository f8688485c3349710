"""A small, deterministic training loop for the shipped networks.

Adam with a cosine learning-rate decay to zero, cross-entropy loss, mini-batches drawn in an order fixed by
the seed. Quantised layers (:mod:`neuroemu.lowbit`) train their latent float weights through
straight-through gradients; binary ones are clipped to [−1, 1] after every step. With ``shift = s > 0``
every training image is translated by a random whole number of pixels in [−s, s] along each axis (zero
fill) each time it is drawn, a standard augmentation for digit images (off by default; no shipped
checkpoint uses it yet).

On CPU with a fixed thread count the same configuration gives bit-identical weights: the initialisation,
the shuffling and the augmentation each use a generator seeded from ``seed``, and no global random state
is read or changed.
"""

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from neuroemu.data import load_tensors
from neuroemu.nets.accuracy import accuracy
from neuroemu.nets.checkpoints import ARCHITECTURES, load_checkpoint

NORMALIZE = "unit"  # networks see pixels/255: crossbar DACs and SC bitstreams want a bounded input
MAX_SHIFT = 8  # augmentation translations beyond this would push most of a 28×28 digit out of the frame


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides the trained weights."""

    arch: str = "lenet5"
    dataset: str = "mnist"
    epochs: int = 10
    seed: int = 0
    batch_size: int = 128
    lr: float = 2e-3
    weight_decay: float = 0.0
    limit: int | None = None
    shift: int = 0  # random translation of training images by up to ± shift pixels per axis (0: none)
    init: str | None = None  # start from this checkpoint (shipped name or .pt path): fine-tuning
    model: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.arch not in ARCHITECTURES:
            raise ValueError(f"arch must be one of {sorted(ARCHITECTURES)}, got {self.arch!r}")
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay}")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"limit must be >= 1 or None, got {self.limit}")
        if not 0 <= self.shift <= MAX_SHIFT:
            raise ValueError(f"shift must be in 0..{MAX_SHIFT} pixels, got {self.shift}")


@dataclass
class TrainResult:
    """The trained model (eval mode) and its history."""

    model: nn.Module
    config: TrainConfig
    epoch_loss: list[float]
    test_accuracy: list[float]
    seconds: float

    def provenance(self) -> dict[str, Any]:
        """What a checkpoint records about how it was made."""
        return {
            "train_config": {k: v for k, v in asdict(self.config).items()
                             if v is not None and not (k == "shift" and v == 0)},
            "epoch_loss": self.epoch_loss,
            "test_accuracy": self.test_accuracy[-1],
            "train_seconds": round(self.seconds, 1),
            "torch": str(torch.__version__),
            "threads": torch.get_num_threads(),
        }


def train(config: TrainConfig, progress: bool = True,
          prepare: Callable[[nn.Module], nn.Module] | None = None) -> TrainResult:
    """Train ``config.arch`` on ``config.dataset`` and report the test accuracy after every epoch.

    ``prepare`` (optional) transforms the initialised model before training, e.g. hardware-aware training
    wraps its layers (:func:`neuroemu.hwa.hwa_wrap`); the result keeps whatever ``prepare`` returned."""
    images, labels = load_tensors(config.dataset, "train", normalize=NORMALIZE, limit=config.limit)
    test_images, test_labels = load_tensors(config.dataset, "test", normalize=NORMALIZE)
    init = torch.Generator().manual_seed(config.seed)
    shuffle = torch.Generator().manual_seed(config.seed + 1)
    augment = torch.Generator().manual_seed(config.seed + 2)

    with torch.random.fork_rng(devices=[]):  # the constructor's own init draws from the global generator
        model = ARCHITECTURES[config.arch](**config.model)
    _init_parameters(model, init)
    if config.init is not None:
        start_from = load_checkpoint(config.init)
        if start_from.arch != config.arch or start_from.config != model.config():
            raise ValueError(f"init checkpoint {config.init!r} is a {start_from.arch} {start_from.config}, "
                             f"not a {config.arch} {model.config()}")
        model.load_state_dict(start_from.state_dict)
    if prepare is not None:
        model = prepare(model)
    clipped = [m for m in model.modules() if hasattr(m, "clip_latent")]
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    steps_per_epoch = -(-len(images) // config.batch_size)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs * steps_per_epoch)

    epoch_loss: list[float] = []
    test_accuracy: list[float] = []
    start = time.perf_counter()
    for epoch in range(config.epochs):
        model.train()
        order = torch.randperm(len(images), generator=shuffle)
        total = 0.0
        bar = tqdm(range(steps_per_epoch), desc=f"epoch {epoch + 1}/{config.epochs}", disable=not progress,
                   leave=False, unit="batch")
        for step in bar:
            batch = order[step * config.batch_size:(step + 1) * config.batch_size]
            optimizer.zero_grad(set_to_none=True)
            inputs = images[batch]
            if config.shift:
                inputs = random_shift(inputs, config.shift, augment)
            loss = F.cross_entropy(model(inputs), labels[batch])
            loss.backward()
            optimizer.step()
            for module in clipped:
                module.clip_latent()
            schedule.step()
            total += loss.item() * len(batch)
            if step % 50 == 0:
                bar.set_postfix(loss=f"{loss.item():.4f}")
        epoch_loss.append(total / len(images))
        test_accuracy.append(accuracy(model.eval(), test_images, test_labels))
        if progress:
            tqdm.write(f"epoch {epoch + 1}/{config.epochs}: loss {epoch_loss[-1]:.4f}, "
                       f"test accuracy {test_accuracy[-1]:.4f}")
    return TrainResult(model.eval(), config, epoch_loss, test_accuracy, time.perf_counter() - start)


def random_shift(images: torch.Tensor, shift: int, generator: torch.Generator) -> torch.Tensor:
    """Translate each image of an (N, C, H, W) batch by its own (dy, dx), each uniform in [−shift, shift].

    Pixels moved in from outside the frame are zero (background); the offsets are drawn from ``generator``.
    """
    if shift == 0:
        return images
    n, _, height, width = images.shape
    offsets = torch.randint(-shift, shift + 1, (2, n), generator=generator)
    padded = F.pad(images, (shift, shift, shift, shift))
    # output pixel (y, x) of image i reads input pixel (y − dy_i, x − dx_i), i.e. padded (y − dy_i + s, ...)
    rows = (torch.arange(height) + shift).unsqueeze(0) - offsets[0].unsqueeze(1)  # (N, H)
    cols = (torch.arange(width) + shift).unsqueeze(0) - offsets[1].unsqueeze(1)  # (N, W)
    index = torch.arange(n)[:, None, None, None]
    channel = torch.arange(images.shape[1])[None, :, None, None]
    return padded[index, channel, rows[:, None, :, None], cols[:, None, None, :]]


def _init_parameters(model: nn.Module, generator: torch.Generator) -> None:
    """Re-draw every weight with torch's default (Kaiming-uniform) rule, from ``generator``."""
    for module in model.modules():
        if isinstance(module, nn.Linear | nn.Conv2d):
            fan_in = module.weight[0].numel()
            bound = 1.0 / fan_in**0.5
            with torch.no_grad():
                # torch's default init: kaiming_uniform(a=sqrt(5)) for weights == U(-1/sqrt(fan_in), ..)
                module.weight.uniform_(-bound, bound, generator=generator)
                if module.bias is not None:
                    module.bias.uniform_(-bound, bound, generator=generator)
