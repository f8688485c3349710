"""How well the analytic approximation stands in for the bit-exact SC emulation, measured on data.

:func:`measure_agreement` runs both modes on the same images. Their accuracies differ by the approximation's
error and by chance (each mode's streams or noise draw another sample); :func:`paired_error` is the standard
error of the difference of two accuracies on the same images, ``sqrt((p10 + p01 - (p10 - p01)^2) / N)``
with ``p10`` (``p01``) the share of images only the bit-exact (only the analytic) mode classifies right.
They *disagree* where ``|difference| > 2`` standard errors.

:data:`MEASURED` keeps what ``benchmarks/sc_agreement.py`` measured per block and length on the shipped
tanh networks, and :func:`analytic_warnings` turns it into the warnings ``sc-sweep --mode analytic`` prints
for the lengths and blocks it runs.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import torch
from torch import nn

import neuroemu
from neuroemu.stochastic.design import parse_designs
from neuroemu.stochastic.models import DEFAULT_MODELS
from neuroemu.stochastic.spec import Stochastic

__all__ = ["DISAGREE_SIGMAS", "MEASURED", "MEASURED_IMAGES", "analytic_warnings", "measure_agreement",
           "paired_error"]

#: standard errors of the paired difference beyond which the two modes disagree
DISAGREE_SIGMAS = 2.0

#: test images behind :data:`MEASURED`
MEASURED_IMAGES = 500
#: (block, length) → (bit-exact accuracy, analytic accuracy, :func:`paired_error`) measured by
#: ``python benchmarks/sc_agreement.py --limit 500 --lengths 64,256,1024`` (Sobol sources, seed 0, the
#: first 500 MNIST test images; each block on its pooling's shipped tanh network,
#: :data:`~neuroemu.stochastic.models.DEFAULT_MODELS`)
MEASURED: dict[tuple[str, int], tuple[float, float, float]] = {
    ("apc-max-btanh", 64): (0.238, 0.990, 0.0195),
    ("apc-max-btanh", 256): (0.780, 0.994, 0.0188),
    ("apc-max-btanh", 1024): (0.970, 0.994, 0.0079),
    ("apc-avg-btanh", 64): (0.618, 0.982, 0.0217),
    ("apc-avg-btanh", 256): (0.914, 0.980, 0.0121),
    ("apc-avg-btanh", 1024): (0.964, 0.982, 0.0066),
    ("mux-max-stanh", 64): (0.068, 0.104, 0.0180),
    ("mux-max-stanh", 256): (0.090, 0.102, 0.0183),
    ("mux-max-stanh", 1024): (0.110, 0.208, 0.0223),
    ("mux-avg-stanh", 64): (0.096, 0.096, 0.0190),
    ("mux-avg-stanh", 256): (0.102, 0.118, 0.0194),
    ("mux-avg-stanh", 1024): (0.072, 0.148, 0.0197),
}


def paired_error(exact_correct: torch.Tensor, analytic_correct: torch.Tensor) -> float:
    """Standard error of the difference of two accuracies measured on the same images (see the module)."""
    n = len(exact_correct)
    if n == 0 or len(analytic_correct) != n:
        raise ValueError(f"need two equally long, non-empty correctness vectors, got {n} and "
                         f"{len(analytic_correct)}")
    only_exact = float((exact_correct & ~analytic_correct).double().mean())
    only_analytic = float((analytic_correct & ~exact_correct).double().mean())
    return math.sqrt(max(only_exact + only_analytic - (only_exact - only_analytic) ** 2, 0.0) / n)


def measure_agreement(model: nn.Module, images: torch.Tensor, labels: torch.Tensor,
                      spec: Stochastic) -> dict[str, Any]:
    """Run ``model`` mapped with ``spec`` in both modes on the same images and compare them.

    Returns ``{"length", "block", "n_images", "bitexact_accuracy", "analytic_accuracy",
    "prediction_agreement", "logit_mae", "error", "disagree"}``: the fraction of images whose predicted class
    is the same in both modes, the mean absolute difference of their logits, the standard error of the
    accuracies' difference (:func:`paired_error`) and whether it exceeds :data:`DISAGREE_SIGMAS` of them.
    """
    exact = neuroemu.map(model, dataclasses.replace(spec, mode="bitexact"))
    approx = neuroemu.map(model, dataclasses.replace(spec, mode="analytic"))
    with torch.inference_mode():
        a, b = exact(images), approx(images)
    pa, pb = a.argmax(1), b.argmax(1)
    ca, cb = pa == labels, pb == labels
    difference = float(cb.double().mean() - ca.double().mean())
    error = paired_error(ca, cb)
    return {
        "length": spec.length,
        "block": spec.block,
        "n_images": len(images),
        "bitexact_accuracy": float(ca.double().mean()),
        "analytic_accuracy": float(cb.double().mean()),
        "prediction_agreement": float((pa == pb).double().mean()),
        "logit_mae": float((a - b).abs().mean()),
        "error": error,
        "disagree": abs(difference) > DISAGREE_SIGMAS * error,
    }


def analytic_warnings(spec: Stochastic, lengths: list[int]) -> list[str]:
    """Warnings for an analytic run of ``spec`` at ``lengths``: one per block it uses and length where
    :data:`MEASURED` (at that length, else the nearest measured one in log scale) shows the two modes
    disagreeing by more than :data:`DISAGREE_SIGMAS` standard errors."""
    if spec.mode != "analytic":
        return []
    blocks = sorted({spec.block} | {d.block for d in parse_designs(spec.blocks).values() if d.block})
    out = []
    for block in blocks:
        measured = sorted(length for b, length in MEASURED if b == block)
        if not measured:
            continue
        for length in lengths:
            nearest = min(measured, key=lambda m: abs(math.log(m / length)))
            exact, analytic, error = MEASURED[(block, nearest)]
            if abs(analytic - exact) <= DISAGREE_SIGMAS * error:
                continue
            where = f"L = {length}" if nearest == length else f"L = {length} (measured at L = {nearest})"
            model = DEFAULT_MODELS[block.split("-")[1]]
            out.append(f"analytic mode, {block} at {where}: measured {100 * analytic:.1f} % against "
                       f"{100 * exact:.1f} % bit-exact ({MEASURED_IMAGES} images, {model}; difference "
                       f"{100 * (analytic - exact):+.1f} pp, standard error {100 * error:.1f} pp): the "
                       "approximation is off here, run --mode bitexact")
    return out
