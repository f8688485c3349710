"""The spiking section of ``neuroemu demo``: LeNet-5 accuracy as IF neurons at a few numbers of time steps."""

from __future__ import annotations

from neuroemu.data import load_tensors
from neuroemu.mapping import map as map_model
from neuroemu.nets import accuracy, load_checkpoint
from neuroemu.report import format_table
from neuroemu.spiking.network import calibrate
from neuroemu.spiking.spec import Spiking

__all__ = ["DEMO_IMAGES", "DEMO_TIMESTEPS", "demo_table"]

DEMO_TIMESTEPS = (8, 32, 128)
DEMO_IMAGES = 500  # the IF network runs ~270 images per second at 64 steps on one core


def demo_table(limit: int | None = None) -> str:
    """Spiking LeNet-5 accuracy at a few numbers of time steps (constant and Poisson input), on the first
    ``limit`` (at most :data:`DEMO_IMAGES`) MNIST test images, scales calibrated on 256 training images."""
    n = min(limit or DEMO_IMAGES, DEMO_IMAGES)
    checkpoint = load_checkpoint("lenet5-mnist")
    model = checkpoint.build()
    images, labels = load_tensors(checkpoint.dataset, "test", normalize=checkpoint.normalize, limit=n)
    calibration, _ = load_tensors(checkpoint.dataset, "train", normalize=checkpoint.normalize, limit=256)
    rows = []
    for encoding in ("constant", "poisson"):
        row: list[object] = [encoding, f"{100 * accuracy(model, images, labels):.1f}"]
        for steps in DEMO_TIMESTEPS:
            network = map_model(model, Spiking(timesteps=steps, encoding=encoding))
            calibrate(network, calibration)
            row.append(f"{100 * accuracy(network, images, labels, batch_size=500):.1f}")
        rows.append(row)
    head = (f"Spiking LeNet-5 (IF neurons, reset by subtraction), lenet5-mnist, first {n} test images "
            "(accuracy %)")
    return head + "\n\n" + format_table(["input", "float", *(f"T={t}" for t in DEMO_TIMESTEPS)], rows)
