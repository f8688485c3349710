"""Classification accuracy of a model over a tensor data set, in batches, and the summary of several."""

import math
from collections.abc import Sequence
from typing import Any

import torch
from scipy import stats
from torch import nn


def accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 1000) -> float:
    """Fraction of ``images`` whose arg-max output equals the label."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    correct = 0
    with torch.inference_mode():
        for start in range(0, len(images), batch_size):
            logits = model(images[start:start + batch_size])
            correct += int((logits.argmax(dim=1) == labels[start:start + batch_size]).sum())
    return correct / len(images)


def summarize(accuracies: Sequence[float]) -> dict[str, Any]:
    """Mean, sample standard deviation and Student-t 95 % confidence interval of the mean of accuracies
    (of independent trials); one trial: standard deviation 0 and the interval [mean, mean]."""
    n = len(accuracies)
    mean = sum(accuracies) / n
    std = math.sqrt(sum((a - mean) ** 2 for a in accuracies) / (n - 1)) if n > 1 else 0.0
    half = float(stats.t.ppf(0.975, n - 1)) * std / math.sqrt(n) if n > 1 else 0.0
    return {"mean": mean, "std": std, "ci95": [mean - half, mean + half]}
