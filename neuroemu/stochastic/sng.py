"""Stochastic number generators (SNGs): a comparator fed by a random source.

A source yields, for each of ``n`` streams, ``L`` numbers ``r_t`` in [0, 1); the comparator emits bit
``r_t < p`` for a target probability ``p`` (SC-DCNN, Ren et al. ASPLOS 2017, Sec. 2). Sources:

- ``"lfsr"``: a Fibonacci linear-feedback shift register of ``width`` bits with maximal-length taps
  (period ``2**width - 1``; taps after Xilinx XAPP052, Table 3), ``r_t = state_t / 2**width``; stream ``j``
  reads the common sequence at its own phase (the usual "one LFSR, shifted seeds" sharing).
- ``"sobol"`` and ``"halton"``: low-discrepancy sequences (``scipy.stats.qmc``, Owen-scrambled with the
  seed); stream ``j`` is dimension ``j`` of the point set.
- ``"random"``: pseudo-random numbers from a ``torch.Generator`` seeded with ``seed``.

Correlation between streams is controlled by which source rows they use: streams built from the same row
are maximally correlated (SCC = +1 for the comparator), streams from different rows (or rotated copies)
are close to independent. :func:`scc` measures it (Alaghi & Hayes, ICCD 2013).
"""

import warnings
from dataclasses import dataclass

import numpy as np
import torch
from scipy.stats import qmc

from neuroemu.stochastic.bitstream import check_length

SOURCES = ("lfsr", "sobol", "halton", "random")

# Maximal-length Fibonacci taps (1-based bit positions, XAPP052 Table 3).
LFSR_TAPS: dict[int, tuple[int, ...]] = {
    3: (3, 2), 4: (4, 3), 5: (5, 3), 6: (6, 5), 7: (7, 6), 8: (8, 6, 5, 4), 9: (9, 5), 10: (10, 7),
    11: (11, 9), 12: (12, 6, 4, 1), 13: (13, 4, 3, 1), 14: (14, 5, 3, 1), 15: (15, 14), 16: (16, 15, 13, 4),
    17: (17, 14), 18: (18, 11), 19: (19, 6, 2, 1), 20: (20, 17), 21: (21, 19), 22: (22, 21), 23: (23, 18),
    24: (24, 23, 22, 17),
}
SOBOL_MAX_DIM = 21201


def lfsr_states(width: int, length: int, *, seed: int = 1,
                taps: tuple[int, ...] | None = None) -> torch.Tensor:
    """The first ``length`` states (int64) of a ``width``-bit Fibonacci LFSR started at state ``seed``.

    Each clock shifts the register left by one and feeds in the XOR of the tapped bits (tap ``k`` is bit
    ``k - 1``). With the maximal-length taps of :data:`LFSR_TAPS` the states run through every nonzero
    value once per period ``2**width - 1``.
    """
    if width not in LFSR_TAPS and taps is None:
        raise ValueError(f"LFSR width must be one of {min(LFSR_TAPS)}..{max(LFSR_TAPS)} "
                         f"(or give taps), got {width!r}")
    check_length(length)
    taps = LFSR_TAPS[width] if taps is None else taps
    if not taps or any(not 1 <= k <= width for k in taps):
        raise ValueError(f"LFSR taps must lie in 1..{width}, got {taps!r}")
    mask = (1 << width) - 1
    if not 0 < seed <= mask:
        raise ValueError(f"LFSR seed must lie in 1..{mask} (the all-zero state locks up), got {seed!r}")
    tap_mask = 0
    for k in taps:
        tap_mask |= 1 << (k - 1)
    out = np.empty(length, dtype=np.int64)
    state = seed
    for t in range(length):
        out[t] = state
        state = ((state << 1) | (bin(state & tap_mask).count("1") & 1)) & mask
    return torch.from_numpy(out)


def lfsr_width_for(length: int) -> int:
    """Smallest supported LFSR width whose period ``2**w - 1`` covers ``length`` cycles (at least 8 bits)."""
    check_length(length)
    width = max(8, int(length).bit_length())
    if width not in LFSR_TAPS:
        raise ValueError(f"length {length} needs an LFSR wider than {max(LFSR_TAPS)} bits")
    return width


def generator_bits(length: int, kind: str = "sobol", lfsr_width: int | None = None) -> int:
    """Width (bits) of a ``kind`` number generator, and of the comparator it feeds, for ``length``-cycle
    streams: an LFSR is as wide as its register (``lfsr_width``, else :func:`lfsr_width_for`); the other
    sources are modelled as ``b``-bit generators with ``b = ⌈log2 length⌉`` (at least 1), whose ``2**b``
    numbers cover ``length`` cycles (UnarySim's ``b``-bit Sobol generators make ``2**b``-cycle streams)."""
    if kind not in SOURCES:
        raise ValueError(f"sng must be one of {list(SOURCES)}, got {kind!r}")
    check_length(length)
    if kind == "lfsr":
        return lfsr_width or lfsr_width_for(length)
    return max(1, (length - 1).bit_length())


@dataclass(frozen=True)
class Source:
    """A random source for comparators: ``kind`` in :data:`SOURCES`, a ``seed``, an LFSR ``width``."""

    kind: str = "sobol"
    seed: int = 0
    lfsr_width: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in SOURCES:
            raise ValueError(f"sng must be one of {list(SOURCES)}, got {self.kind!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")
        if self.lfsr_width is not None and self.lfsr_width not in LFSR_TAPS:
            raise ValueError(f"lfsr_width must be one of {sorted(LFSR_TAPS)} or None, "
                             f"got {self.lfsr_width!r}")

    def bits(self, length: int) -> int:
        """Width of this source's generators (and comparators) for ``length``-cycle streams
        (:func:`generator_bits`)."""
        return generator_bits(length, self.kind, self.lfsr_width)

    def draw(self, n: int, length: int, *, stream: int = 0) -> torch.Tensor:
        """``(n, length)`` float64 numbers in [0, 1): ``n`` source rows; ``stream`` picks an independent set.

        The result depends only on (kind, seed, stream, n, length), never on batch size or threads.
        """
        check_length(length)
        if n < 1:
            raise ValueError(f"number of source rows must be >= 1, got {n}")
        seed = _mix(self.seed, stream)
        if self.kind == "random":
            gen = torch.Generator().manual_seed(seed)
            return torch.rand(n, length, generator=gen, dtype=torch.float64)
        if self.kind == "lfsr":
            width = self.lfsr_width or lfsr_width_for(length)
            period = (1 << width) - 1
            start = seed % period + 1
            seq = lfsr_states(width, period, seed=start)
            gen = torch.Generator().manual_seed(seed)
            phase = torch.randint(0, period, (n, 1), generator=gen)
            index = (phase + torch.arange(length)) % period
            return seq[index].to(torch.float64) / float(1 << width)
        if n > SOBOL_MAX_DIM:
            raise ValueError(f"{self.kind} sources support at most {SOBOL_MAX_DIM} rows, asked for {n}")
        engine_cls = qmc.Sobol if self.kind == "sobol" else qmc.Halton
        engine = engine_cls(n, scramble=True, rng=np.random.default_rng(seed))
        with warnings.catch_warnings():  # Sobol balance properties need 2**m points; any length is allowed
            warnings.simplefilter("ignore", UserWarning)
            points = engine.random(length)
        return torch.from_numpy(np.ascontiguousarray(points.T))


def _mix(seed: int, stream: int) -> int:
    """A 63-bit seed for (seed, stream) (SplitMix64 finaliser)."""
    z = (seed * 0x9E3779B97F4A7C15 + stream * 0xBF58476D1CE4E5B9 + 0x94D049BB133111EB) & ((1 << 64) - 1)
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & ((1 << 64) - 1)
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & ((1 << 64) - 1)
    return (z ^ (z >> 31)) >> 1


def compare(probability: torch.Tensor, randoms: torch.Tensor) -> torch.Tensor:
    """Comparator: uint8 bits ``randoms < probability`` (broadcast; ``randoms`` has the cycle axis last)."""
    probability = torch.as_tensor(probability, dtype=torch.float64)
    if torch.isnan(probability).any() or (probability < 0).any() or (probability > 1).any():
        raise ValueError("probabilities must lie in [0, 1]")
    return (randoms < probability.unsqueeze(-1)).to(torch.uint8)


def rotate(bits: torch.Tensor, shift: int) -> torch.Tensor:
    """Circularly delay a stream by ``shift`` cycles (a classic decorrelation of a shared source)."""
    return torch.roll(bits, shifts=shift, dims=-1)


def scc(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Stochastic cross-correlation of two bit streams (Alaghi & Hayes, ICCD 2013), along the last axis.

    ``SCC = (p11 - px py) / (min(px, py) - px py)`` when ``p11 > px py``, else
    ``(p11 - px py) / (px py - max(px + py - 1, 0))``; 0 when the denominator vanishes.
    """
    x = x.to(torch.float64)
    y = y.to(torch.float64)
    px, py, p11 = x.mean(-1), y.mean(-1), (x * y).mean(-1)
    delta = p11 - px * py
    pos = torch.minimum(px, py) - px * py
    neg = px * py - torch.clamp(px + py - 1, min=0)
    denom = torch.where(delta > 0, pos, neg)
    return torch.where(denom.abs() > 1e-12, delta / torch.where(denom == 0, 1.0, denom), 0.0)
