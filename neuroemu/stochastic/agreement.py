"""How well the analytic approximation stands in for the bit-exact SC emulation, measured on data."""

import dataclasses
from typing import Any

import torch
from torch import nn

import neuroemu
from neuroemu.stochastic.spec import Stochastic


def measure_agreement(model: nn.Module, images: torch.Tensor, labels: torch.Tensor,
                      spec: Stochastic) -> dict[str, Any]:
    """Run ``model`` mapped with ``spec`` in both modes on the same images and compare them.

    Returns ``{"length", "block", "n_images", "bitexact_accuracy", "analytic_accuracy",
    "prediction_agreement", "logit_mae"}``: the fraction of images whose predicted class is the same in
    both modes, and the mean absolute difference of their logits.
    """
    exact = neuroemu.map(model, dataclasses.replace(spec, mode="bitexact"))
    approx = neuroemu.map(model, dataclasses.replace(spec, mode="analytic"))
    with torch.inference_mode():
        a, b = exact(images), approx(images)
    pa, pb = a.argmax(1), b.argmax(1)
    return {
        "length": spec.length,
        "block": spec.block,
        "n_images": len(images),
        "bitexact_accuracy": float((pa == labels).double().mean()),
        "analytic_accuracy": float((pb == labels).double().mean()),
        "prediction_agreement": float((pa == pb).double().mean()),
        "logit_mae": float((a - b).abs().mean()),
    }
