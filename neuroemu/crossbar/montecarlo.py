"""Device-variation Monte Carlo: accuracy distributions of a network on a crossbar, over read times.

All trials are programmed at once (a leading trial dimension of the conductances) and evaluated together:
each forward pass carries a batch of images through every trial's chip instance. Trial k of a given seed
draws the same devices whatever the number of trials or the batch size, so results are reproducible.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import torch

import neuroemu
from neuroemu.crossbar.model import calibrate, set_time
from neuroemu.crossbar.spec import Crossbar
from neuroemu.data import load_tensors
from neuroemu.nets import accuracy, load_checkpoint, summarize

__all__ = ["accuracy_per_trial", "monte_carlo"]

def accuracy_per_trial(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor, trials: int,
                       batch_size: int) -> list[float]:
    """Fraction of ``images`` each trial's chip classifies correctly (outputs (T, B, C) or (B, C))."""
    correct = torch.zeros(trials, dtype=torch.int64)
    with torch.inference_mode():
        for start in range(0, len(images), batch_size):
            logits = model(images[start:start + batch_size])
            if logits.dim() == 2:
                logits = logits.unsqueeze(0)
            correct += (logits.argmax(-1) == labels[start:start + batch_size]).sum(-1)
    return (correct.double() / len(images)).tolist()


def monte_carlo(model: str, device: str, *, trials: int = 100, times: Sequence[float] = (0.0,),
                compensation: Sequence[bool] = (True,), seed: int = 0, limit: int | None = None,
                batch_size: int | None = None, calibration_images: int = 256,
                **crossbar: Any) -> dict[str, Any]:
    """Program ``trials`` chips of ``device`` with shipped model ``model`` and measure test accuracy at each
    read time (seconds after programming) and drift-compensation setting.

    ``crossbar`` holds further :class:`Crossbar` fields (``array``, ``dac_bits``, ``adc_bits``, ...).
    Converter ranges are calibrated on the first ``calibration_images`` training images. ``batch_size``
    is images per forward (default: about 8192 image-trials per forward). Returns the JSON record of
    ``neuroemu mc`` (accuracies as fractions).
    """

    start = time.perf_counter()
    checkpoint = load_checkpoint(model)
    float_model = checkpoint.build()
    images, labels = load_tensors(checkpoint.dataset, "test", normalize=checkpoint.normalize, limit=limit)
    calib, _ = load_tensors(checkpoint.dataset, "train", normalize=checkpoint.normalize,
                            limit=calibration_images)
    spec = Crossbar(device=device, trials=trials, seed=seed, **crossbar)
    batch = batch_size or max(1, 8192 // trials)
    fp_accuracy = accuracy(float_model, images, labels, batch_size=1000)
    emulated = neuroemu.map(float_model, spec)
    calibrate(emulated, calib)
    points = []
    for t in times:
        for comp in compensation:
            set_time(emulated, t, comp)
            accs = accuracy_per_trial(emulated, images, labels, trials, batch)
            points.append({"time_s": float(t), "drift_compensation": bool(comp), "accuracies": accs,
                           **summarize(accs)})
    return {"model": str(model), "device": str(device), "fp_accuracy": fp_accuracy, "n_images": len(images),
            "trials": trials, "seed": seed, "wall_s": round(time.perf_counter() - start, 3), "points": points}
