"""The evaluation record the CLI prints: a trained model's accuracy on its test set, timed."""

import time
from typing import Any

from neuroemu.data import load_tensors
from neuroemu.digital import count_macs
from neuroemu.ledger import Ledger
from neuroemu.nets.accuracy import accuracy
from neuroemu.nets.checkpoints import load_checkpoint


def evaluate_model(model_name: str, dataset: str | None = None, limit: int | None = None,
                   batch_size: int = 1000) -> dict[str, Any]:
    """Evaluate a shipped model (or checkpoint path) on the test split of its data set (or ``dataset``).

    Returns ``{"model", "dataset", "accuracy", "n_images", "wall_s", "macs_per_image"}``; ``wall_s`` is
    the time of the forward passes alone, without loading.
    """
    checkpoint = load_checkpoint(model_name)
    dataset = dataset or checkpoint.dataset
    images, labels = load_tensors(dataset, "test", normalize=checkpoint.normalize, limit=limit)
    model = checkpoint.build()
    ledger = Ledger()
    with count_macs(model, ledger):
        start = time.perf_counter()
        acc = accuracy(model, images, labels, batch_size)
        wall = time.perf_counter() - start
    return {
        "model": str(model_name),
        "dataset": dataset,
        "accuracy": acc,
        "n_images": len(images),
        "wall_s": round(wall, 4),
        "macs_per_image": ledger.count("mac") // len(images),
    }
