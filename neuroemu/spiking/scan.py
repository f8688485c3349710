"""Whole spike trains, one layer at a time: the integrate-and-fire scan, the max-pool spike gate, the plan.

In a feed-forward network whose layers all update within the same time step (the zero-delay order: layer
l sees layer l−1's spikes of the same step), a layer's whole spike train depends only on the previous
layer's whole spike train. So a block of L steps of one layer is: one convolution / matrix product over
(L × batch) inputs for every step's synaptic current at once, then a cheap elementwise scan over the L steps
for the membrane potential, vectorised over the batch and the neurons (:func:`if_scan`). The operations of
each neuron and step are the same, in the same order, as a step-by-step simulation, so the spikes are
identical (the synaptic sums are exact, see :meth:`~neuroemu.spiking.network.SpikingNetwork._exact_weights`).

A run is cut into chunks of images and blocks of steps (:func:`plan`) that keep the largest block's tensors
within a memory budget; the potentials and the max-pool counts carry over from block to block, so the
result does not depend on the cut.
"""

from __future__ import annotations

import torch

__all__ = ["MEMORY_BUDGET", "cumulative", "gate_dtype", "gate_max", "if_scan", "plan", "window_major"]

#: bytes the tensors of one block of steps may take (a chunk of images × a block of steps)
MEMORY_BUDGET = 32 * 2**20
#: fewest images per chunk when a whole run of one image does not fit (fewer steps per block instead)
MIN_CHUNK = 32
#: neurons × images of a layer up to which :func:`if_scan` adds every step's bias at once and writes each
#: step's spikes over its current (fewer operations per step, where their overhead outweighs their work)
SMALL_LAYER = 2**14


def plan(batch: int, timesteps: int, bytes_per_image_step: int, budget: int = MEMORY_BUDGET
         ) -> tuple[int, int]:
    """(images per chunk, steps per block) with chunk × block × ``bytes_per_image_step`` ≤ ``budget``
    wherever one step of ``MIN_CHUNK`` images fits: whole runs of as many images as fit, otherwise
    ``MIN_CHUNK`` images (or the batch) at a time over as many steps as fit. The batch is cut into chunks
    of (nearly) equal size, no larger: a small last chunk would cost every block's per-operation overhead
    for few images (100 images: 4 × 25 over 7 blocks of 15 steps rather than 3 × 32 + 4 over 9 of 12)."""
    whole = budget // max(1, timesteps * bytes_per_image_step)
    chunk = min(batch, max(whole, MIN_CHUNK))
    if chunk > 0:
        chunk = -(-batch // -(-batch // chunk))  # ceil(batch / the number of chunks)
    block = min(timesteps, max(1, budget // max(1, chunk * bytes_per_image_step)))
    return max(1, chunk), block


def if_scan(current: torch.Tensor, v: torch.Tensor, steps: int, reset: str,
            bias: torch.Tensor | None = None, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Integrate-and-fire over ``steps`` steps; returns the spikes (steps, *v.shape) as 0 / 1 in ``dtype``
    (float32 for a layer's input; a max-pool gate takes them in its own dtype, :func:`gate_dtype`).

    ``current`` is (steps, *v.shape), or v's shape for a current that is the same every step; ``bias``
    (float64, broadcast to v) is added to each step's current first, in float64, as one rounding; ``v``
    (float64, updated in place) is the potential before the first step. Each step: v += current (+ bias);
    spike where v ≥ 1 (threshold 1); reset by subtracting 1 or to 0. A constant current is scanned for every
    neuron too: selecting the neurons whose current is positive (the others never fire) and scattering
    their spikes back cost more than the scan of the rest at LeNet-5's 40 % of such neurons.
    """
    return _scan(current, v, steps, reset, bias, constant=current.dim() == v.dim(), dtype=dtype)


def _scan(current: torch.Tensor, v: torch.Tensor, steps: int, reset: str, bias: torch.Tensor | None,
          constant: bool, dtype: torch.dtype) -> torch.Tensor:
    if not constant and reset == "subtract" and v.numel() <= SMALL_LAYER:
        # every step's current + bias in float64 (the same rounding as step by step), then each step's
        # spikes written over its current once v has taken it
        spiked = current.to(v.dtype, copy=True) if bias is None else torch.add(current, bias)
        for t in range(steps):
            v.add_(spiked[t])
            v.sub_(torch.ge(v, 1.0, out=spiked[t]))
        return spiked.to(dtype)
    summed = torch.empty_like(v) if bias is not None else None
    spikes = torch.empty((steps, *v.shape), dtype=dtype)
    fired = torch.empty(v.shape, dtype=torch.bool)
    spiked = torch.empty_like(v)  # the step's spikes in v's dtype: a same-dtype subtraction is faster
    for t in range(steps):
        step = current if constant else current[t]
        if summed is not None:
            step = torch.add(step, bias, out=summed)
        v.add_(step)
        if reset == "subtract":
            v.sub_(torch.ge(v, 1.0, out=spiked))
            spikes[t].copy_(spiked)
        else:
            spikes[t].copy_(torch.ge(v, 1.0, out=fired))
            v.masked_fill_(fired, 0.0)
    return spikes


def cumulative(x: torch.Tensor, start: torch.Tensor, scale: float, dtype: torch.dtype) -> torch.Tensor:
    """Running sums start + scale·(x[0] + … + x[t]) over dim 0 of ``x``, in ``dtype``, added step after
    step."""
    total = torch.empty(x.shape, dtype=dtype)
    previous = start
    for t in range(len(x)):
        previous = torch.add(previous, x[t], alpha=scale, out=total[t])
    return total


def gate_dtype(kernel: int, timesteps: int) -> torch.dtype:
    """The dtype in which :func:`gate_max` holds its keys (at most 2k²·(timesteps + 1)) exactly: int16 (half
    the memory traffic of float32) below 2^15, float32 below 2^24, else float64."""
    largest = 2 * kernel * kernel * (timesteps + 1)
    return torch.int16 if largest < 2**15 else torch.float32 if largest < 2**24 else torch.float64


def window_major(x: torch.Tensor, kernel: int) -> torch.Tensor:
    """A view of neurons (..., C, H, W) (H, W multiples of ``kernel`` k) as (..., k, k, C, H/k, W/k): plane
    (i, j) holds the neuron at row i, column j of every k × k pooling window, so that :func:`gate_max`
    takes the window maxima over whole planes (contiguous, once the view is made contiguous) instead of
    strided rows and columns."""
    *lead, c, h, w = x.shape
    n = len(lead)
    return x.view(*lead, c, h // kernel, kernel, w // kernel, kernel).permute(
        *range(n), n + 2, n + 4, n, n + 1, n + 3)


def gate_max(spikes: torch.Tensor, kernel: int, keys: torch.Tensor | None, timesteps: int,
             windowed: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Spike-gating max pooling (Rueckauer et al. 2017) of spikes (steps, batch, C, H, W), kernel = stride,
    or (steps, batch, k, k, C, H/k, W/k) if ``windowed`` (laid out by :func:`window_major`).

    Each step a window passes the spike of its neuron that has fired most up to and including that step
    (ties to the first neuron of the window in row-major order). ``keys`` is the state after the previous
    block of a run of ``timesteps`` steps (None: the first block); returns the gated spikes
    (steps, batch, C, H/k, W/k) and the state after this block.

    A neuron's key is 2k²·count + 2(k² − 1 − position), a whole number: the window's largest key is its
    winner, ties going to the first position; keys differ by at least 2 within a window, so key + spike has
    the same largest element, whose last bit is the winner's spike: a plain max over the window gates the
    spikes, computed in :func:`gate_dtype` (spikes in another dtype are converted first).
    """
    height, width = spikes.shape[-2:]
    k = kernel
    dtype = gate_dtype(k, timesteps)
    spikes = spikes.to(dtype)
    if keys is None and windowed:
        keys = 2 * (k * k - 1 - torch.arange(k * k, dtype=dtype).view(k, k, 1, 1, 1))
    elif keys is None:
        position = torch.arange(k * k, dtype=dtype).view(k, k).repeat(height // k + 1, width // k + 1)
        keys = 2 * (k * k - 1 - position[:height, :width])
    total = cumulative(spikes, keys, 2 * k * k, dtype)
    after = total[-1].clone()
    key = total.add_(spikes)
    if windowed:  # the maxima over the k² planes of window positions
        planes = key.flatten(-5, -4)
        largest = planes.select(-4, 0)
        for p in range(1, k * k):
            largest = torch.maximum(largest, planes.select(-4, p))
        return _gated(largest, dtype), after
    hk, wk = height // k, width // k
    rows = key[..., 0:hk * k:k, 0:wk * k]  # the maxima over each window's rows first (whole rows:
    for i in range(1, k):                   # contiguous runs), then over its columns
        rows = torch.maximum(rows, key[..., i:hk * k:k, 0:wk * k])
    largest = rows[..., 0::k]
    for j in range(1, k):
        largest = torch.maximum(largest, rows[..., j::k])
    return _gated(largest, dtype), after


def _gated(largest: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """The last bit of each window's largest key (in ``dtype``): the winner's spike, float32."""
    if dtype != torch.int16:
        largest = largest.to(torch.int32 if dtype == torch.float32 else torch.int64)
    return largest.bitwise_and(1).to(torch.float32)
