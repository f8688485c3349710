"""Symbolic SC analysis with sympy: output probabilities of gate networks, Stanh's steady state, and
Bernstein-polynomial synthesis.

**Gate networks.** A circuit is a nested tuple ``(gate, *inputs)`` whose leaves are input names, e.g.
``("mux", "s", ("and", "a", "b"), "c")``. Each signal is written as a polynomial in its input bits
(AND ``ab``, OR ``a + b - ab``, NOT ``1 - a``, XOR ``a + b - 2ab``, XNOR ``1 - XOR``, MUX(s, a, b)
``s a + (1 - s) b``); since bits are 0/1, powers reduce (``a**k = a``), and for independent inputs the
expectation of the resulting multilinear polynomial is the same polynomial in the input probabilities. This
is exact even with reconvergent fan-out (the same input used twice), where treating the two uses as
independent would be wrong (``AND(a, a)`` is ``p_a``, not ``p_a**2``). With ``bipolar=True`` inputs and
output are read as ``x = 2p - 1`` (so XNOR gives ``x_a x_b``).

**Bernstein synthesis** (Qian & Riedel, DAC 2008 / IEEE TC 2011, "ReSC"): a target ``f`` on [0, 1] is
approximated by ``B(p) = sum_k b_k C(n, k) p^k (1-p)^(n-k)`` with coefficients constrained to [0, 1], so that
the circuit "count the ones among n independent copies of x, then select coefficient stream b_k" realises
it; the coefficients minimise the squared error on a fine grid of [0, 1] (bounded least squares).
"""

from collections.abc import Callable
from dataclasses import dataclass
from math import comb

import numpy as np
import sympy as sp
import torch
from scipy.optimize import lsq_linear

Circuit = str | tuple

_GATES = {"and": 2, "or": 2, "not": 1, "xor": 2, "xnor": 2, "nand": 2, "nor": 2, "mux": 3}


def _bit_polynomial(node: Circuit, symbols: dict[str, sp.Symbol]) -> sp.Expr:
    if isinstance(node, str):
        if node not in symbols:
            symbols[node] = sp.Symbol(node)
        return symbols[node]
    if not isinstance(node, tuple) or not node or node[0] not in _GATES:
        raise ValueError(f"a circuit node must be an input name or (gate, *inputs) with gate in "
                         f"{sorted(_GATES)}, got {node!r}")
    gate, args = node[0], node[1:]
    if len(args) != _GATES[gate]:
        raise ValueError(f"gate {gate!r} takes {_GATES[gate]} inputs (MUX: select, in1, in0), "
                         f"got {len(args)}")
    v = [_bit_polynomial(a, symbols) for a in args]
    if gate == "and":
        return v[0] * v[1]
    if gate == "or":
        return v[0] + v[1] - v[0] * v[1]
    if gate == "not":
        return 1 - v[0]
    if gate == "nand":
        return 1 - v[0] * v[1]
    if gate == "nor":
        return 1 - (v[0] + v[1] - v[0] * v[1])
    xor = v[0] + v[1] - 2 * v[0] * v[1] if gate in ("xor", "xnor") else None
    if gate == "xor":
        return xor
    if gate == "xnor":
        return 1 - xor
    return v[0] * v[1] + (1 - v[0]) * v[2]  # mux(select, in1, in0)


def _multilinear(expr: sp.Expr, bits: list[sp.Symbol]) -> sp.Expr:
    """Reduce every power of a 0/1 variable to the variable itself."""
    poly = sp.Poly(sp.expand(expr), *bits)
    out = sp.Integer(0)
    for monomial, coeff in poly.terms():
        term = coeff
        for b, power in zip(bits, monomial, strict=True):
            if power:
                term *= b
        out += term
    return out


def output_probability(circuit: Circuit, *, bipolar: bool = False) -> sp.Expr:
    """Exact output probability (or bipolar value) of ``circuit`` for independent inputs.

    Input ``a`` appears as the symbol ``p_a`` (unipolar) or ``x_a`` (bipolar).
    """
    symbols: dict[str, sp.Symbol] = {}
    expr = _bit_polynomial(circuit, symbols)
    names = sorted(symbols)
    bits = [symbols[n] for n in names]
    if not bits:
        return sp.simplify(expr)
    prob = _multilinear(expr, bits)
    if not bipolar:
        return sp.expand(prob.subs({symbols[n]: sp.Symbol(f"p_{n}") for n in names}, simultaneous=True))
    subs = {symbols[n]: (sp.Symbol(f"x_{n}") + 1) / 2 for n in names}
    return sp.expand(2 * prob.subs(subs, simultaneous=True) - 1)


def stanh_steady_state_expr(states: int) -> sp.Expr:
    """Stanh's steady-state bipolar output as a function of the input ``x`` (birth-death chain, K states)."""
    if states < 2 or states % 2:
        raise ValueError(f"states must be an even integer >= 2, got {states}")
    x = sp.Symbol("x")
    rho = (1 + x) / (1 - x)
    weights = [rho**i for i in range(states)]
    upper = sum(weights[states // 2:])
    return sp.simplify(2 * upper / sum(weights) - 1)


def bernstein_basis(n: int, p: torch.Tensor | np.ndarray | float) -> np.ndarray:
    """Bernstein basis polynomials ``C(n,k) p^k (1-p)^(n-k)``, shape ``(..., n+1)``."""
    p = np.asarray(p, dtype=np.float64)[..., None]
    k = np.arange(n + 1)
    return np.array([comb(n, int(i)) for i in k]) * p**k * (1 - p) ** (n - k)


@dataclass(frozen=True)
class BernsteinFit:
    """A degree-``n`` Bernstein approximation with coefficients in [0, 1] and its errors on [0, 1]."""

    coefficients: tuple[float, ...]
    max_error: float
    rms_error: float

    @property
    def degree(self) -> int:
        return len(self.coefficients) - 1

    def __call__(self, p: torch.Tensor | np.ndarray | float) -> np.ndarray:
        return bernstein_basis(self.degree, p) @ np.asarray(self.coefficients)

    def expression(self) -> sp.Expr:
        """The polynomial in ``p`` (exact rational Bernstein form of the fitted coefficients)."""
        p = sp.Symbol("p")
        n = self.degree
        return sum(sp.nsimplify(b, rational=False) * sp.binomial(n, k) * p**k * (1 - p) ** (n - k)
                   for k, b in enumerate(self.coefficients))


def bernstein_fit(target: Callable[[np.ndarray], np.ndarray], degree: int, *,
                  grid: int = 2001) -> BernsteinFit:
    """Fit ``target`` ([0, 1] → [0, 1]) by bounded least squares on a grid (Qian & Riedel)."""
    if isinstance(degree, bool) or not isinstance(degree, int) or degree < 1:
        raise ValueError(f"degree must be an integer >= 1, got {degree!r}")
    p = np.linspace(0.0, 1.0, grid)
    f = np.asarray(target(p), dtype=np.float64)
    if f.shape != p.shape or not np.isfinite(f).all() or f.min() < -1e-12 or f.max() > 1 + 1e-12:
        raise ValueError("target must map [0, 1] into [0, 1] (a unipolar SC function)")
    basis = bernstein_basis(degree, p)
    coef = lsq_linear(basis, f, bounds=(0.0, 1.0), method="bvls").x
    err = basis @ coef - f
    rms = float(np.sqrt(np.mean(err**2)))
    return BernsteinFit(tuple(float(c) for c in coef), float(np.abs(err).max()), rms)


def bernstein_circuit(x_bits: torch.Tensor, coefficient_bits: torch.Tensor) -> torch.Tensor:
    """ReSC (Qian & Riedel): per cycle, count the ones among ``n`` independent copies of x and output
    that cycle's bit of coefficient stream ``k = count``.

    ``x_bits``: ``(n, ..., L)`` 0/1 (independent streams of the same value); ``coefficient_bits``:
    ``(n + 1, ..., L)``. Returns ``(..., L)``; its expected value is ``B(p_x)``.
    """
    n = x_bits.shape[0]
    if coefficient_bits.shape[0] != n + 1:
        raise ValueError(f"{n} input copies need {n + 1} coefficient streams, "
                         f"got {coefficient_bits.shape[0]}")
    count = x_bits.to(torch.int64).sum(dim=0, keepdim=True)
    return torch.gather(coefficient_bits, 0, count).squeeze(0)


def unipolar_tanh(gain: float) -> Callable[[np.ndarray], np.ndarray]:
    """``tanh(gain · x)`` of a bipolar ``x = 2p - 1``, as a unipolar function ``[0, 1] → [0, 1]``."""
    return lambda p: (np.tanh(gain * (2 * np.asarray(p) - 1)) + 1) / 2
