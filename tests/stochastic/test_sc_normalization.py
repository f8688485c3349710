import math

import pytest
import torch
import torch.nn.functional as F

from neuroemu.cost import Ledger
from neuroemu.stochastic.normalization import cordiv, sc_lrn, sc_square
from neuroemu.stochastic.sng import Source, compare

LANES, L = 256, 2048


def test_cordiv_hand_worked_and_divides_correlated_streams() -> None:
    dividend = torch.tensor([1, 0, 0, 1, 0, 0])
    divisor = torch.tensor([1, 0, 1, 1, 0, 1])
    assert cordiv(dividend, divisor).tolist() == [1, 1, 0, 1, 1, 0]
    r = Source("random", seed=4).draw(LANES, L)
    pa, pb = 0.3, 0.75
    out = cordiv(compare(torch.tensor(pa), r), compare(torch.tensor(pb), r)).double().mean()
    q = pa / pb
    # a held bit repeats the last sampled one: about L * p_b independent samples per lane
    assert abs(float(out) - q) <= 4 * math.sqrt(q * (1 - q) / (LANES * L * pb))


def test_square_by_delayed_and() -> None:
    p = 0.6
    bits = compare(torch.tensor(p), Source("random", seed=5).draw(LANES, L))
    ledger = Ledger()
    sq = sc_square(bits, 3, ledger=ledger).double().mean()
    assert abs(float(sq) - p * p) <= 4 * math.sqrt(p * p * (1 - p * p) / (LANES * L))
    assert ledger.count("sc_gate_cycle", gate="and") == LANES * L
    with pytest.raises(ValueError, match="delay"):
        sc_square(bits, 0)


@pytest.mark.parametrize(("k", "alpha", "beta"), [(2.0, 1e-4, 0.75), (1.0, 1.0, 0.75)])
def test_stochastic_lrn_matches_the_float_formula(k: float, alpha: float, beta: float) -> None:
    c, size = 6, 5
    values = torch.linspace(0.1, 0.95, c, dtype=torch.float64).view(c, 1).expand(c, LANES)
    r = Source("random", seed=6).draw(c * LANES, L).view(c, LANES, L)
    out = sc_lrn(values, r, size=size, k=k, alpha=alpha, beta=beta).mean(dim=1)
    a = values[:, 0]
    padded = F.pad(a**2, (size // 2, size // 2))
    s = torch.stack([padded[i:i + c] for i in range(size)]).sum(0)
    d = (k + alpha * s) ** beta
    expected = a / d
    d_max = (k + alpha * size) ** beta
    q, pb = expected, d / d_max
    # CORDIV sampling noise, plus the sum-of-squares estimate propagated through d**-1 (derivative bound)
    sq_var = torch.stack([padded[i:i + c] * (1 - padded[i:i + c]) for i in range(size)]).sum(0)
    sens = beta * alpha * a * (k + alpha * s) ** (-beta - 1)
    tol = 4 * torch.sqrt(q * (1 - q) / (LANES * L * pb) + sens**2 * sq_var / (LANES * L))
    assert bool(((out - expected).abs() <= tol).all())


def test_lrn_validates_its_parameters() -> None:
    r = torch.rand(3, 8)
    with pytest.raises(ValueError, match="size"):
        sc_lrn(torch.full((3,), 0.5), r, size=4)
    with pytest.raises(ValueError, match="k >= 1"):
        sc_lrn(torch.full((3,), 0.5), r, k=0.5)
