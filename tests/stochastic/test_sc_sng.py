import math

import pytest
import torch

from neuroemu.stochastic.bitstream import counter_bits
from neuroemu.stochastic.sng import LFSR_TAPS, Source, compare, generator_bits, lfsr_states, rotate, scc


@pytest.mark.parametrize("width", [w for w in sorted(LFSR_TAPS) if w <= 16])
def test_lfsr_has_maximal_period(width: int) -> None:
    period = (1 << width) - 1
    states = lfsr_states(width, period + 1, seed=1)
    assert int(states[period]) == int(states[0])
    assert len(set(states[:period].tolist())) == period  # every nonzero state once
    assert int(states.min()) >= 1


def test_lfsr_rejects_lockup_seed_and_unknown_width() -> None:
    with pytest.raises(ValueError, match="seed"):
        lfsr_states(8, 10, seed=0)
    with pytest.raises(ValueError, match="width"):
        lfsr_states(40, 10)


@pytest.mark.parametrize("kind", ["random", "lfsr", "halton"])
@pytest.mark.parametrize("p", [0.1, 0.5, 0.83])
def test_decoded_mean_and_variance_match_binomial(kind: str, p: float) -> None:
    n, length = (200 if kind == "halton" else 4000), 128  # scrambling thousands of Halton bases is slow
    bits = compare(torch.tensor(p), Source(kind, seed=7).draw(n, length))
    values = bits.double().mean(-1)
    var = p * (1 - p) / length
    # the mean of n streams: standard error sqrt(var / n)
    assert abs(float(values.mean()) - p) <= 4 * math.sqrt(var / n) + 1 / length * (kind != "random")
    if kind == "random":  # binomial spread; sample variance has relative s.e. sqrt(2 / (n - 1))
        assert abs(float(values.var()) / var - 1) <= 4 * math.sqrt(2 / (n - 1))


@pytest.mark.parametrize("length", [64, 256, 1024])
def test_sobol_meets_the_low_discrepancy_bound(length: int) -> None:
    # each Sobol coordinate's first 2**m points are a (0, m, 1)-net: one point per interval [k/L, (k+1)/L),
    # so the count of points below p is off by less than one: |p_hat - p| < 1/L.
    p = torch.linspace(0, 1, 37, dtype=torch.float64)
    randoms = Source("sobol", seed=3).draw(40, length)
    p_hat = compare(p.view(-1, 1), randoms.unsqueeze(0)).double().mean(-1)
    assert float((p_hat - p.view(-1, 1)).abs().max()) < 1 / length


def test_sources_are_deterministic_per_seed_and_stream() -> None:
    a = Source("random", seed=1).draw(3, 50)
    assert torch.equal(a, Source("random", seed=1).draw(3, 50))
    assert not torch.equal(a, Source("random", seed=1).draw(3, 50, stream=1))
    assert float(a.min()) >= 0 and float(a.max()) < 1


def test_bad_source_names_the_field() -> None:
    with pytest.raises(ValueError, match="sng must be one of"):
        Source("quantum")


def test_scc_extremes_and_independence() -> None:
    length = 4096
    r = Source("random", seed=2).draw(2, length)
    x = compare(torch.tensor(0.4), r[0])
    assert float(scc(x, compare(torch.tensor(0.7), r[0]))) == pytest.approx(1.0)  # shared source
    assert float(scc(x, compare(torch.tensor(0.5), 1 - r[0]))) == pytest.approx(-1.0)
    indep = float(scc(x, compare(torch.tensor(0.5), r[1])))
    # independent streams: SCC has standard deviation about 1/sqrt(L)
    assert abs(indep) <= 4 / math.sqrt(length)
    assert abs(float(scc(x, rotate(x, 17)))) <= 4 / math.sqrt(length)


def test_generator_and_counter_widths_follow_the_stream_length():
    lengths = (1, 2, 16, 17, 256, 1024, 2048)
    assert [generator_bits(n) for n in lengths] == [1, 1, 4, 5, 8, 10, 11]
    assert [generator_bits(n, "lfsr") for n in lengths] == [8, 8, 8, 8, 9, 11, 12]  # the register's width
    assert generator_bits(100, "lfsr", lfsr_width=12) == Source("lfsr", lfsr_width=12).bits(100) == 12
    assert [counter_bits(n) for n in lengths] == [1, 2, 5, 5, 9, 11, 12]  # holds 0..L ones
    with pytest.raises(ValueError, match="length"):
        generator_bits(0)
    with pytest.raises(ValueError, match="sng"):
        generator_bits(8, "noise")
    with pytest.raises(ValueError, match="length"):
        counter_bits(0)
