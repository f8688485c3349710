"""SC addition: MUX scaled adder, OR adder, exact parallel counter and the approximate parallel counter.

- MUX (SC-DCNN, Ren et al. ASPLOS 2017): each cycle a select signal picks one of ``n`` inputs, so the
  output encodes the scaled sum ``(1/n) sum_i v_i`` (either encoding).
- OR: ``1 - prod_i (1 - p_i)``, close to the sum only for small unipolar inputs.
- Exact parallel counter: the number of ones among the ``n`` inputs in each cycle, in binary.
- Approximate parallel counter (APC, Kim et al., DAC 2016, after Kim, Lee & Choi, ISOCC 2015): the first
  layer of full adders is replaced by gates on input pairs — AND on even pairs, OR on odd pairs,
  alternating — whose ``n/2`` outputs are counted exactly and doubled (an odd input left over is added).
  Per cycle an AND pair counts ``2ab`` instead of ``a + b`` (error 0 or -1) and an OR pair ``2(a|b)``
  (error 0 or +1), so the count is off by at most ``ceil(pairs / 2)`` per cycle, and the expected errors of
  the two pair kinds cancel when their inputs are identically distributed.

Counts here work on unpacked 0/1 tensors with the cycle axis last and the inputs on ``dim``.

**What each adder does to the noise** (:func:`mux_moments`, :func:`apc_moments`, :func:`or_moments`; the
analytic mode of :mod:`neuroemu.stochastic.network` uses them). Let the ``n`` inputs be independent streams
whose bits are independent from cycle to cycle, input ``i`` being 1 with probability ``p_i`` (bipolar value
``v_i = 2 p_i - 1``), and let a decoder count the adder's output over ``L`` cycles.

- MUX, select uniform on ``0..n-1`` and independent of the inputs: each cycle's output bit is 1 with
  probability ``P = (1/n) sum_i p_i`` (total probability over the select), and the bits of different cycles
  are independent, so the output is a Bernoulli stream of bipolar value ``m = (1/n) sum_i v_i``: the
  decoded value has mean ``m`` and variance ``(1 - m^2) / L``. As an estimate of the sum ``n m`` (what an
  SC-DCNN neuron needs, times its weight scale ``g``) the variance is ``n^2 (1 - m^2) / L``: a standard
  deviation of about ``g n / sqrt(L)`` on the pre-activation ``z = g n m``. The select's randomness is part
  of it: even exact inputs (``v_i = ±1``) leave ``(1 - m^2) / L``.
- Exact parallel counter (the APC blocks' counter): the count ``c`` of a cycle is exact, so all the noise is
  the inputs' own: the bipolar sum ``d = 2c - n`` has mean ``sum_i v_i`` and variance
  ``sum_i 4 p_i (1 - p_i) = sum_i (1 - v_i^2)`` per cycle, and its average over ``L`` cycles variance
  ``sum_i (1 - v_i^2) / L <= n / L``: a standard deviation of at most ``g sqrt(n / L)`` on ``z``, ``sqrt(n)``
  times less than the MUX's.
- OR (unipolar): the output is 1 unless every input is 0, ``P = 1 - prod_i (1 - p_i)``, with independent
  bits from cycle to cycle: the decoded value has variance ``P (1 - P) / L`` and a deterministic bias
  ``P - sum_i p_i <= 0`` against the sum (``-sum_{i<j} p_i p_j`` to second order), which no length removes.

Low-discrepancy sources (Sobol, Halton) and LFSRs do not give independent bits: a counted stream is then
closer to its value than ``(1 - m^2) / L`` (the formulas are the independent-bit case, exact for the
``random`` source; a MUX whose select and inputs come from different dimensions decorrelates them, so its
output is close to the independent case).
"""

import torch

from neuroemu.ledger import Ledger
from neuroemu.stochastic.bitstream import Bitstream


def mux_select(n_inputs: int, randoms: torch.Tensor) -> torch.Tensor:
    """Select signals (int64 in ``0..n_inputs-1``) from uniform ``randoms`` in [0, 1)."""
    if n_inputs < 1:
        raise ValueError(f"a MUX needs at least one input, got {n_inputs}")
    return torch.clamp((randoms * n_inputs).to(torch.int64), max=n_inputs - 1)


def mux_add(bits: torch.Tensor, select: torch.Tensor, *, dim: int = 0, ledger: Ledger | None = None,
            layer: str | None = None) -> torch.Tensor:
    """MUX adder: out[..., t] = bits[select[t]][..., t] over the inputs on ``dim`` (``select``: ``(L,)``)."""
    moved = bits.movedim(dim, -2)  # (..., n, L)
    length = moved.shape[-1]
    if select.shape != (length,):
        raise ValueError(f"select must have shape ({length},), got {tuple(select.shape)}")
    index = select.view(*([1] * (moved.dim() - 2)), 1, length).expand(*moved.shape[:-2], 1, length)
    out = torch.gather(moved, -2, index).squeeze(-2)
    if ledger is not None:
        ledger.record("sc_gate_cycle", out.numel(), layer=layer, gate="mux", inputs=int(moved.shape[-2]))
    return out


def or_add(a: Bitstream, b: Bitstream, *, ledger: Ledger | None = None,
           layer: str | None = None) -> Bitstream:
    """OR adder: ``p_a + p_b - p_a p_b`` (unipolar)."""
    out = a | b
    if ledger is not None:
        ledger.record("sc_gate_cycle", int(out.shape.numel()) * out.length, layer=layer, gate="or", inputs=2)
    return out


def parallel_count(bits: torch.Tensor, *, dim: int = 0, ledger: Ledger | None = None,
                   layer: str | None = None) -> torch.Tensor:
    """Exact parallel counter: the number of ones over ``dim`` in every cycle (int64)."""
    out = bits.to(torch.int64).sum(dim=dim)
    if ledger is not None:
        ledger.record("sc_counter_op", out.numel(), layer=layer, counter="exact", inputs=int(bits.shape[dim]))
    return out


def apc_count(bits: torch.Tensor, *, dim: int = 0, ledger: Ledger | None = None,
              layer: str | None = None) -> torch.Tensor:
    """Approximate parallel counter of Kim et al. (see the module docstring): AND/OR on alternating pairs."""
    moved = bits.movedim(dim, 0).to(torch.int64)
    n = moved.shape[0]
    pairs = n // 2
    a, b = moved[0:2 * pairs:2], moved[1:2 * pairs:2]
    use_or = (torch.arange(pairs) % 2 == 1).view(-1, *([1] * (moved.dim() - 1)))
    first = torch.where(use_or, a | b, a & b)
    out = 2 * first.sum(dim=0)
    if n % 2:
        out = out + moved[-1]
    if ledger is not None:
        ledger.record("sc_counter_op", out.numel(), layer=layer, counter="apc", inputs=n)
    return out


def mux_moments(values: torch.Tensor, length: int, *, dim: int = -1) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and variance of the decoded bipolar output of a uniform-select MUX over ``length`` cycles whose
    inputs have bipolar values ``values`` (inputs on ``dim``): ``m = mean_i v_i`` and ``(1 - m^2) / L``
    (module docstring: independent bits)."""
    m = values.to(torch.float64).mean(dim=dim)
    return m, (1 - m * m) / length


def apc_moments(values: torch.Tensor, length: int, *, dim: int = -1) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and variance of the bipolar sum ``2c - n`` of an exact parallel counter, averaged over
    ``length`` cycles: ``sum_i v_i`` and ``sum_i (1 - v_i^2) / L`` (the counter adds no noise)."""
    v = values.to(torch.float64)
    return v.sum(dim=dim), (1 - v * v).sum(dim=dim) / length


def or_moments(probabilities: torch.Tensor, length: int, *,
               dim: int = -1) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mean, variance and bias (mean minus the sum ``sum_i p_i``) of the decoded unipolar output of an OR
    adder over ``length`` cycles, inputs of probabilities ``probabilities`` on ``dim``."""
    p = probabilities.to(torch.float64)
    mean = 1 - torch.prod(1 - p, dim=dim)
    return mean, mean * (1 - mean) / length, mean - p.sum(dim=dim)


def apc_error_bound(n_inputs: int) -> int:
    """Largest per-cycle deviation of :func:`apc_count` from the exact count: ``ceil(floor(n/2) / 2)``."""
    return (n_inputs // 2 + 1) // 2
