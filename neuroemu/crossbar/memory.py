"""Memory of a crossbar Monte Carlo: an estimate before programming, so a run too large is refused early.

Every trial (chip instance) holds its programmed device state, the fault codes, the conductances read at
the current time (with and without read noise) and the weights the MVM multiplies by (a forward's
activations come on top). :func:`trial_bytes` measures what one trial of an emulated model holds (mapped
with ``trials = 1``); :func:`monte_carlo_bytes` scales it to ``trials``. It is an estimate (transient
copies during programming and reading are counted with a factor of 2 on the read conductances), good to
refuse a run that cannot fit, not a bound.
"""

from __future__ import annotations

import os

import torch
from torch import nn

from neuroemu.crossbar.model import crossbar_layers

__all__ = ["available_bytes", "monte_carlo_bytes", "trial_bytes"]

def _nbytes(value: object) -> int:
    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    if isinstance(value, dict):
        return sum(_nbytes(v) for v in value.values())
    if isinstance(value, list | tuple):
        return sum(_nbytes(v) for v in value)
    return 0


def trial_bytes(model: nn.Module) -> int:
    """Bytes one trial of ``model`` (emulated with ``trials = 1`` and programmed) holds: device states,
    fault codes, read conductances (noisy and expected, ×2 for transient copies) and MVM weights."""
    total = 0
    for layer in crossbar_layers(model):
        cells = layer.cells
        mapped = cells.mapped
        read_pair = (mapped.g_plus.numel() + mapped.g_minus.numel()) * 4
        total += _nbytes(cells.states) + _nbytes(cells.stuck) + _nbytes(layer._weights) + 4 * read_pair
    return total


def monte_carlo_bytes(model: nn.Module, trials: int) -> int:
    """Estimated bytes ``trials`` trials of ``model`` (emulated with ``trials = 1``) hold between forwards:
    ``trials`` × :func:`trial_bytes`. A forward's activations come on top (about 0.5 GB for LeNet-5 at
    the default 1024 image-trials per forward)."""
    return trials * trial_bytes(model)


def available_bytes() -> int | None:
    """Memory available to a new allocation (``MemAvailable`` of /proc/meminfo), ``None`` where unknown."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None
