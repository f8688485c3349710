import math

import pytest
import torch

from neuroemu.cost import Ledger
from neuroemu.stochastic.adders import apc_count, apc_error_bound, mux_add, mux_select, parallel_count
from neuroemu.stochastic.bitstream import Bitstream
from neuroemu.stochastic.gates import sc_and, sc_or, sc_xnor
from neuroemu.stochastic.sng import Source, compare

N, L = 2000, 256


def _streams(p: float, stream: int) -> torch.Tensor:
    return compare(torch.tensor(p), Source("random", seed=11).draw(N, L, stream=stream))


def _tol(q: float, n: int = N, length: int = L) -> float:
    return 4 * math.sqrt(q * (1 - q) / (length * n))


def test_and_multiplies_unipolar_and_records_gate_cycles() -> None:
    a = Bitstream.from_bits(_streams(0.6, 0), "unipolar")
    b = Bitstream.from_bits(_streams(0.3, 1), "unipolar")
    ledger = Ledger()
    out = sc_and(a, b, ledger=ledger, layer="t")
    assert abs(float(out.value().mean()) - 0.18) <= _tol(0.18)
    assert ledger.count("sc_gate_cycle", gate="and") == N * L


def test_xnor_multiplies_bipolar() -> None:
    xa, xb = -0.4, 0.7  # p = 0.3 and 0.85
    a, b = Bitstream.from_bits(_streams(0.3, 2)), Bitstream.from_bits(_streams(0.85, 3))
    out = sc_xnor(a, b)
    q = (xa * xb + 1) / 2
    assert abs(float(out.value().mean()) - xa * xb) <= 2 * _tol(q)


def test_or_adds_approximately() -> None:
    a = Bitstream.from_bits(_streams(0.2, 4), "unipolar")
    b = Bitstream.from_bits(_streams(0.1, 5), "unipolar")
    expected = 0.2 + 0.1 - 0.02
    assert abs(float(sc_or(a, b).value().mean()) - expected) <= _tol(expected)


def test_mux_adds_with_scaling() -> None:
    ps = [0.1, 0.5, 0.9, 0.3]
    bits = torch.stack([_streams(p, 10 + i) for i, p in enumerate(ps)])  # (4, N, L)
    select = mux_select(4, Source("random", seed=5).draw(1, L)[0])
    out = mux_add(bits, select, dim=0)
    expected = sum(ps) / 4
    # one select signal is shared by all N lanes: the fraction of cycles that picks each input varies
    # (multinomial), adding Var_i(p_i) / L to the variance of the lane mean
    spread = sum((p - expected) ** 2 for p in ps) / 4
    assert abs(float(out.double().mean()) - expected) <= 4 * math.sqrt(expected * (1 - expected) / (N * L)
                                                                        + spread / L)
    hand = mux_add(torch.tensor([[1, 1, 0], [0, 0, 1]]), torch.tensor([1, 0, 1]), dim=0)
    assert hand.tolist() == [0, 1, 1]


def test_exact_parallel_counter_and_apc() -> None:
    n = 16
    ps = torch.linspace(0.2, 0.8, n)
    bits = torch.stack([_streams(float(p), 20 + i) for i, p in enumerate(ps)])  # (n, N, L)
    exact = parallel_count(bits, dim=0)
    assert torch.equal(exact, bits.to(torch.int64).sum(0))
    assert abs(float(exact.double().mean()) - float(ps.sum())) <= 4 * math.sqrt(n * 0.25 / (N * L))
    ledger = Ledger()
    approx = apc_count(bits, dim=0, ledger=ledger)
    assert int((approx - exact).abs().max()) <= apc_error_bound(n) == 4
    assert ledger.count("sc_counter_op", counter="apc", inputs=n) == N * L
    # hand-worked: pairs (1,0) AND -> 0, (1,0) OR -> 2, (1,1) AND -> 2, (0,0) OR -> 0, leftover 1
    hand = torch.tensor([1, 0, 1, 0, 1, 1, 0, 0, 1]).view(9, 1)
    assert apc_count(hand).tolist() == [5] and parallel_count(hand).tolist() == [5]


def test_apc_is_unbiased_for_identically_distributed_inputs() -> None:
    n, p = 16, 0.37
    bits = torch.stack([_streams(p, 40 + i) for i in range(n)])
    err = (apc_count(bits, dim=0) - parallel_count(bits, dim=0)).double()
    # error per cycle = (#OR pairs differing) - (#AND pairs differing): mean 0, variance 8 * 2p(1-p)
    sd = math.sqrt(8 * 2 * p * (1 - p) / (N * L))
    assert abs(float(err.mean())) <= 4 * sd


def test_mux_select_rejects_zero_inputs() -> None:
    with pytest.raises(ValueError, match="at least one input"):
        mux_select(0, torch.rand(4))
