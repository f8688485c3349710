import math

import numpy as np
import pytest
import sympy as sp
import torch

from neuroemu.stochastic.activations import stanh_steady_state
from neuroemu.stochastic.sng import Source, compare
from neuroemu.stochastic.symbolic import (
    bernstein_circuit,
    bernstein_fit,
    output_probability,
    stanh_steady_state_expr,
    unipolar_tanh,
)

pa, pb, ps = sp.symbols("p_a p_b p_s")


def test_gate_expressions() -> None:
    assert sp.simplify(output_probability(("and", "a", "b")) - pa * pb) == 0
    assert sp.simplify(output_probability(("or", "a", "b")) - (pa + pb - pa * pb)) == 0
    mux = output_probability(("mux", "s", "a", "b"))
    assert sp.simplify(mux.subs(ps, sp.Rational(1, 2)) - (pa + pb) / 2) == 0
    xa, xb = sp.symbols("x_a x_b")
    assert sp.simplify(output_probability(("xnor", "a", "b"), bipolar=True) - xa * xb) == 0
    # reconvergent fan-out: the same bit twice is not two independent bits
    assert output_probability(("and", "a", "a")) == pa
    assert sp.simplify(output_probability(("xor", "a", "a"))) == 0


def test_bad_circuits_are_rejected() -> None:
    with pytest.raises(ValueError, match="gate"):
        output_probability(("nandor", "a", "b"))
    with pytest.raises(ValueError, match="takes 3 inputs"):
        output_probability(("mux", "a", "b"))


def test_expression_matches_bit_level_simulation() -> None:
    circuit = ("or", ("and", "a", "b"), ("xor", "a", "c"))
    probs = {"a": 0.3, "b": 0.8, "c": 0.55}
    n = 200_000
    r = Source("random", seed=5).draw(3, n)
    a, b, c = (compare(torch.tensor(probs[k]), r[i]).bool() for i, k in enumerate("abc"))
    simulated = float(((a & b) | (a ^ c)).double().mean())
    expr = output_probability(circuit)
    q = float(expr.subs({sp.Symbol(f"p_{k}"): v for k, v in probs.items()}))
    assert abs(simulated - q) <= 4 * math.sqrt(q * (1 - q) / n)


@pytest.mark.parametrize("states", [2, 4, 8])
def test_stanh_closed_form_matches_the_numeric_chain(states: int) -> None:
    expr = stanh_steady_state_expr(states)
    f = sp.lambdify(sp.Symbol("x"), expr)
    xs = torch.linspace(-0.9, 0.9, 13, dtype=torch.float64)
    numeric = stanh_steady_state(xs, states)
    assert np.allclose([f(float(x)) for x in xs], numeric.numpy(), atol=1e-12)
    if states == 4:
        x = sp.Symbol("x")
        assert sp.simplify(expr - 2 * x / (1 + x**2)) == 0


def test_bernstein_fit_is_exact_for_a_bernstein_polynomial() -> None:
    fit = bernstein_fit(lambda p: p**2, 4)  # p^2 = sum_k k(k-1)/12 B_k,4: coefficients in [0, 1]
    assert fit.max_error < 1e-9
    assert np.allclose(fit.coefficients, [k * (k - 1) / 12 for k in range(5)], atol=1e-9)
    p = sp.Symbol("p")
    assert abs(float(sp.expand(fit.expression() - p**2).subs(p, 0.37))) < 1e-9


def test_bernstein_tanh_activation_error_falls_with_degree_and_circuit_realises_it() -> None:
    target = unipolar_tanh(2.0)
    errors = [bernstein_fit(target, n).max_error for n in (2, 4, 6, 8)]
    assert errors == sorted(errors, reverse=True) and errors[-1] < 0.01
    fit = bernstein_fit(target, 6)
    length, lanes = 4096, 16
    ps_ = torch.linspace(0.05, 0.95, lanes, dtype=torch.float64)
    src = Source("random", seed=9)
    x_bits = compare(ps_.expand(6, lanes), src.draw(6 * lanes, length).view(6, lanes, length))
    coef = torch.tensor(fit.coefficients, dtype=torch.float64).view(-1, 1).expand(7, lanes)
    c_bits = compare(coef, src.draw(7 * lanes, length, stream=1).view(7, lanes, length))
    out = bernstein_circuit(x_bits, c_bits).double().mean(-1)
    expected = torch.from_numpy(fit(ps_.numpy()))
    tol = 4 * torch.sqrt(expected * (1 - expected) / length) + 1e-9
    assert bool(((out - expected).abs() <= tol).all())
    assert float((expected - torch.from_numpy(target(ps_.numpy()))).abs().max()) <= fit.max_error + 1e-9


def test_bernstein_rejects_targets_outside_the_unit_interval() -> None:
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        bernstein_fit(lambda p: 2 * p, 3)
    with pytest.raises(ValueError, match="degree"):
        bernstein_fit(lambda p: p, 0)
