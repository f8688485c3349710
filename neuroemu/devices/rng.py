"""Reproducible random streams: one ``torch.Generator`` per (seed, trial, purpose).

Every stochastic draw of a device model takes a generator derived here from the experiment seed, the trial
index and a label naming what is drawn (layer, array, quantity, read time). Trial ``k`` of seed ``s`` sees the
same numbers whether 1 or 1000 trials run together, whatever the batch size or thread count.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections.abc import Iterator, Sequence

import numpy as np
import torch

__all__ = ["counter_normal", "counter_normal_trials", "generator", "rand", "randn", "trial_generators"]


def _derive(seed: int, trial: int, label: str) -> int:
    digest = hashlib.sha256(f"{seed}\x1f{trial}\x1f{label}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def generator(seed: int, trial: int, label: str) -> torch.Generator:
    """A CPU generator seeded from ``(seed, trial, label)`` through SHA-256 (independent streams)."""
    gen = torch.Generator()
    gen.manual_seed(_derive(int(seed), int(trial), label))
    return gen


def trial_generators(seed: int, trials: Sequence[int] | int, label: str) -> list[torch.Generator]:
    """One generator per trial index (``trials`` an int means ``range(trials)``)."""
    indices = range(trials) if isinstance(trials, int) else trials
    return [generator(seed, k, label) for k in indices]


def randn(shape: Sequence[int], generators: Sequence[torch.Generator]) -> torch.Tensor:
    """Standard normal draws of shape ``(len(generators), *shape)``: row ``k`` from ``generators[k]``."""
    out = torch.empty((len(generators), *shape))
    for row, g in zip(out, generators, strict=True):
        torch.randn(tuple(shape), generator=g, out=row)
    return out


def rand(shape: Sequence[int], generators: Sequence[torch.Generator]) -> torch.Tensor:
    """Uniform [0, 1) draws of shape ``(len(generators), *shape)``: row ``k`` from ``generators[k]``."""
    out = torch.empty((len(generators), *shape))
    for row, g in zip(out, generators, strict=True):
        torch.rand(tuple(shape), generator=g, out=row)
    return out


# splitmix64 (Steele, Lea & Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014) on
# uint64 numpy arrays: multiplication and addition wrap modulo 2^64 and right shifts are logical.
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_ULP53 = 2.0**-53
_TWO_PI_ULP53 = 2.0 * math.pi * _ULP53  # 2π · 2^-53: a power-of-two scaling, so m·(2π·2^-53) == (m·2^-53)·2π

# Draws are made in blocks of at most this many (trial, counter) pairs: the scratch arrays (four of 8 bytes
# per pair, 1 MiB per thread) are about a core's L2 cache, and the per-call overhead stays small next to the
# work.
_BLOCK = 1 << 15
_scratch = threading.local()


def counter_normal(seed: int, trial: int, label: str, counters: torch.Tensor) -> torch.Tensor:
    """Standard normal draws indexed by integer ``counters`` (a counter-based generator).

    Draw ``c`` of stream ``(seed, trial, label)`` depends on nothing else, so values indexed by, e.g., an
    image's position in the test set are the same whatever the batch size or the order of batches. Two
    splitmix64 hashes give two uniforms, ``u1 = (top53(mix(key ^ mix(2c))) + 1)·2^-53`` in (0, 1] and
    ``u2 = top53(mix(key ^ mix(2c + 1)))·2^-53`` in [0, 1), ``key`` a SHA-256 digest of the stream;
    Box–Muller in float64, ``sqrt(-2 ln u1)·cos(2π u2)``, rounded to float32, turns them into one normal draw.
    """
    return counter_normal_trials(seed, [trial], label, counters, dim=0)[0]


def counter_normal_trials(seed: int, trials: Sequence[int] | int, label: str, counters: torch.Tensor,
                          *, dim: int = 1) -> torch.Tensor:
    """:func:`counter_normal` for several trials at once, stacked along ``dim`` (no Python loop over trials).

    Equals ``torch.stack([counter_normal(seed, t, label, counters) for t in trials], dim=dim)`` bit for bit:
    draw ``c`` of trial ``t`` depends only on ``(seed, t, label, c)``, so it is independent of the batch
    size and of how the trials are grouped.

    The draws are computed in cache-sized blocks with scratch arrays reused across blocks and calls (no
    full-size temporaries: memory beyond the float32 result is bounded), the trial-independent hashes
    ``mix(2c)`` and ``mix(2c + 1)`` once per counter for all trials; every draw goes through the same
    elementwise operations as the plain formula, so the bits do not depend on the blocking. The blocks run on
    the calling thread (sharing them among a thread pool was slower on 2 cores: 16.9 against 11.5 ns per
    draw)."""
    indices = range(trials) if isinstance(trials, int) else trials
    keys = np.array([_derive(int(seed), int(t), label) for t in indices], dtype=np.uint64)
    dim = dim % (counters.dim() + 1)
    shape = (*counters.shape[:dim], len(keys), *counters.shape[dim:])
    out = torch.empty(shape, dtype=torch.float32)
    if out.numel() == 0:
        return out
    pre, post = math.prod(counters.shape[:dim]), math.prod(counters.shape[dim:])
    counts = counters.reshape(pre, post)
    result = out.numpy().reshape(pre, len(keys), post)
    trial_block = min(len(keys), _BLOCK)
    blocks = list(_counter_blocks(pre, post, max(1, _BLOCK // trial_block)))

    def draw(block: tuple[int, int, int, int]) -> None:
        p0, p1, q0, q1 = block
        mixed = _mix_counters(counts[p0:p1, q0:q1], (p1 - p0) * (q1 - q0))
        for t0 in range(0, len(keys), trial_block):
            t1 = min(t0 + trial_block, len(keys))
            _box_muller(keys[t0:t1], mixed, result[p0:p1, t0:t1, q0:q1].transpose(1, 0, 2))

    for block in blocks:  # on the calling thread: a thread pool over the blocks measured slower on 2 cores
        draw(block)
    return out


def _counter_blocks(pre: int, post: int, cap: int) -> Iterator[tuple[int, int, int, int]]:
    """Blocks ``(p0, p1, q0, q1)`` of a ``(pre, post)`` counter grid, each of at most ``cap`` counters."""
    if post >= cap:
        for p in range(pre):
            for q0 in range(0, post, cap):
                yield p, p + 1, q0, min(q0 + cap, post)
    else:
        step = cap // post
        for p0 in range(0, pre, step):
            yield p0, min(p0 + step, pre), 0, post


def _buffers() -> dict[str, np.ndarray]:
    """This thread's scratch arrays (made once; reused so that no block touches fresh pages)."""
    buffers = getattr(_scratch, "buffers", None)
    if buffers is None or buffers["x"].size < _BLOCK:
        buffers = {"c1": np.empty(_BLOCK, np.uint64), "c2": np.empty(_BLOCK, np.uint64),
                   "x": np.empty(_BLOCK, np.uint64), "shift": np.empty(_BLOCK, np.uint64),
                   "u1": np.empty(_BLOCK, np.float64), "u2": np.empty(_BLOCK, np.float64)}
        _scratch.buffers = buffers
    return buffers


def _mix_counters(block: torch.Tensor, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``mix(2c)`` and ``mix(2c + 1)`` of a block of ``n`` counters (the trial-independent hashes)."""
    buf = _buffers()
    c1, c2 = buf["c1"][:n], buf["c2"][:n]
    torch.from_numpy(c1.view(np.int64)).view(block.shape).copy_(block)  # the counters as int64
    np.left_shift(c1, 1, out=c1)
    np.add(c1, 1, out=c2)
    return _mix(c1, buf["shift"][:n]), _mix(c2, buf["shift"][:n])


def _mix(x: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """splitmix64's output function on ``x``, in place (``shift``: scratch of the same size)."""
    np.add(x, _GOLDEN, out=x)
    for bits, factor in ((30, _MIX1), (27, _MIX2)):
        np.bitwise_xor(x, np.right_shift(x, bits, out=shift), out=x)
        np.multiply(x, factor, out=x)
    np.bitwise_xor(x, np.right_shift(x, 31, out=shift), out=x)
    return x


def _box_muller(keys: np.ndarray, mixed: tuple[np.ndarray, np.ndarray], target: np.ndarray) -> None:
    """Normal draws of ``len(keys)`` trials × ``n`` counters into ``target`` (float32 of shape (trials, rows,
    cols) with rows·cols = n, any strides)."""
    n, t = mixed[0].size, keys.size
    buf = _buffers()
    x, shift = buf["x"][:t * n].reshape(t, n), buf["shift"][:t * n].reshape(t, n)
    u1, u2 = buf["u1"][:t * n].reshape(t, n), buf["u2"][:t * n].reshape(t, n)
    column = keys.reshape(t, 1)
    np.bitwise_xor(column, mixed[0], out=x)
    np.right_shift(_mix(x, shift), 11, out=x)
    np.add(x, 1, out=x)
    np.multiply(x, _ULP53, out=u1)  # (0, 1]
    np.bitwise_xor(column, mixed[1], out=x)
    np.right_shift(_mix(x, shift), 11, out=x)
    np.multiply(x, _TWO_PI_ULP53, out=u2)  # 2π·[0, 1)
    # torch's log and cos (the plain formula's functions, vectorised; with 2 threads they split the block)
    torch.from_numpy(u1).log_()
    np.multiply(u1, -2.0, out=u1)
    np.sqrt(u1, out=u1)
    torch.from_numpy(u2).cos_()
    np.multiply(u1.reshape(target.shape), u2.reshape(target.shape), out=target)  # float64 product → float32
