"""Stochastic local response normalisation (LRN) built from SC blocks, after Li et al., "Normalization and
dropout for stochastic computing-based deep convolutional neural networks" (Integration, the VLSI Journal,
2017).

LRN computes ``b_i = a_i / (k + alpha · sum_{j in N(i)} a_j**2) ** beta`` over neighbouring channels. The
SC version here chains the three blocks of that design:

1. **square and sum**: ``a_j**2`` by an AND gate fed the stream and a delayed copy of itself (a delay of
   ``d`` cycles decorrelates a stream whose bits are independent), summed over the neighbourhood by a
   parallel counter, and accumulated into a binary count;
2. **activation**: the denominator ``(k + alpha · sum)**beta`` from that binary sum (a small binary
   function unit), then turned back into a stream by a comparator;
3. **division**: CORDIV (Chen & Hayes, 2016), a divider for *correlated* streams: when the divisor bit is 1
   it outputs the dividend bit, otherwise it repeats its previous output (a D flip-flop). With
   ``a ⊆ b`` (both comparators fed the same random numbers, ``p_a <= p_b``) its output encodes
   ``p_a / p_b``.

All values are unipolar ([0, 1]); ``k >= 1`` keeps the denominator at least 1, so the quotient is a
probability.
"""

import torch

from neuroemu.ledger import Ledger
from neuroemu.stochastic.adders import parallel_count
from neuroemu.stochastic.bitstream import counter_bits
from neuroemu.stochastic.sng import compare, generator_bits


def sc_square(bits: torch.Tensor, delay: int = 1, *, ledger: Ledger | None = None,
              layer: str | None = None) -> torch.Tensor:
    """``p**2``: AND of a stream (cycle axis last) with a copy delayed by ``delay`` cycles (circularly)."""
    if isinstance(delay, bool) or not isinstance(delay, int) or delay < 1:
        raise ValueError(f"delay must be a positive integer, got {delay!r}")
    out = bits & torch.roll(bits, shifts=delay, dims=-1)
    if ledger is not None:
        ledger.record("sc_gate_cycle", out.numel(), layer=layer, gate="and")
    return out


def cordiv(dividend: torch.Tensor, divisor: torch.Tensor, *, ledger: Ledger | None = None,
           layer: str | None = None) -> torch.Tensor:
    """CORDIV: ``p_dividend / p_divisor`` for correlated streams with dividend ⊆ divisor (cycle axis last).

    Cycle t outputs ``dividend[t]`` when ``divisor[t] == 1``, else the previous output (0 before any).
    """
    if dividend.shape != divisor.shape:
        raise ValueError(f"dividend and divisor shapes differ: {tuple(dividend.shape)} vs "
                         f"{tuple(divisor.shape)}")
    length = dividend.shape[-1]
    out = torch.empty_like(dividend)
    held = torch.zeros_like(dividend[..., 0])
    for t in range(length):
        held = torch.where(divisor[..., t].bool(), dividend[..., t], held)
        out[..., t] = held
    if ledger is not None:
        ledger.record("sc_gate_cycle", out.numel(), layer=layer, gate="mux", inputs=2)
        ledger.record("sc_fsm_update", out.numel(), layer=layer, fsm="cordiv_dff", states=2)
    return out


def sc_lrn(values: torch.Tensor, randoms: torch.Tensor, *, size: int = 5, k: float = 2.0,
           alpha: float = 1e-4, beta: float = 0.75, ledger: Ledger | None = None,
           layer: str | None = None, sng: str = "random", sharing: str = "shared") -> torch.Tensor:
    """Bit-exact stochastic LRN over the channel axis (dim 0) of unipolar ``values`` ``(C, ...)``.

    ``randoms`` ``(C, ..., L)`` in [0, 1) feed the comparators of the inputs; the divider's two streams of
    channel ``i`` reuse channel ``i``'s random numbers, so the dividend is contained in the divisor as
    CORDIV needs (the dividend is regenerated from the binary input value, scaled by ``1/d_max``).
    Returns the decoded outputs ``(C, ...)`` (their streams' fractions of ones). ``sng`` names the random
    source and ``sharing`` its generators' sharing in the ledger's ``sc_sng_draw`` events (with the
    generator width :func:`~neuroemu.stochastic.sng.generator_bits` and the stream length); the binary sum's
    counter records its width :func:`~neuroemu.stochastic.bitstream.counter_bits`.
    """
    if size < 1 or size % 2 == 0:
        raise ValueError(f"size must be an odd integer >= 1, got {size}")
    if k < 1 or alpha < 0 or beta < 0:
        raise ValueError(f"need k >= 1, alpha >= 0, beta >= 0 (got k={k}, alpha={alpha}, beta={beta})")
    values = torch.as_tensor(values, dtype=torch.float64)
    bits = compare(values, randoms)  # (C, ..., L)
    length = bits.shape[-1]
    squares = sc_square(bits, ledger=ledger, layer=layer)
    c = values.shape[0]
    half = size // 2
    padded = torch.cat([torch.zeros_like(squares[:half]), squares, torch.zeros_like(squares[:half])])
    windows = torch.stack([padded[i:i + c] for i in range(size)])  # (size, C, ..., L)
    counts = parallel_count(windows, dim=0, ledger=ledger, layer=layer)  # per cycle
    sums = counts.sum(dim=-1).to(torch.float64) / length  # binary accumulation: estimate of sum a_j**2
    if ledger is not None:
        ledger.record("sc_counter_update", int(counts.numel()), layer=layer, purpose="lrn_sum",
                      bits=counter_bits(length))
    denominator = (k + alpha * sums) ** beta  # the activation block, on the binary sum
    # division by CORDIV: dividend a / d_max and divisor d / d_max from the same random numbers, so the
    # dividend stream is contained in the divisor stream; d_max = (k + alpha · size)**beta bounds d
    d_max = (k + alpha * size) ** beta
    dividend = compare(values.to(torch.float64) / d_max, randoms)
    divisor = compare(denominator / d_max, randoms)
    if ledger is not None:
        ledger.record("sc_sng_draw", 2 * int(dividend.numel()), layer=layer, sng=sng, operand="lrn",
                      bits=generator_bits(length, sng), sharing=sharing, length=length)
    quotient = cordiv(dividend, divisor, ledger=ledger, layer=layer)
    return quotient.to(torch.float64).mean(dim=-1)
