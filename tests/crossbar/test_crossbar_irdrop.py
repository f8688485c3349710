"""IR drop: the exact nodal solution against hand-solvable networks and Kirchhoff stamped independently,
the first-order model's order, and the layer option."""

import copy
import dataclasses

import pytest
import torch
from torch import nn

import neuroemu
from neuroemu.cards import load_card
from neuroemu.crossbar import Crossbar, crossbar_layers
from neuroemu.crossbar.irdrop import exact, first_order


def _stamped(g: torch.Tensor, r_row: float, r_col: float) -> torch.Tensor:
    """Kirchhoff by conductance stamping: 2RC nodes, drivers at column 0, virtual grounds below row R − 1;
    column currents for a unit voltage on each row, (R, C)."""
    rows, cols = g.shape
    n = 2 * rows * cols

    def word(i, j):
        return i * cols + j

    def bit(i, j):
        return rows * cols + i * cols + j

    a = torch.zeros(n, n, dtype=torch.float64)
    b = torch.zeros(n, rows, dtype=torch.float64)

    def stamp(p, q, conductance):
        a[p, p] += conductance
        if q is not None:
            a[q, q] += conductance
            a[p, q] -= conductance
            a[q, p] -= conductance

    for i in range(rows):
        stamp(word(i, 0), None, 1 / r_row)
        b[word(i, 0), i] = 1 / r_row
        for j in range(cols - 1):
            stamp(word(i, j), word(i, j + 1), 1 / r_row)
    for j in range(cols):
        stamp(bit(rows - 1, j), None, 1 / r_col)
        for i in range(rows - 1):
            stamp(bit(i, j), bit(i + 1, j), 1 / r_col)
    for i in range(rows):
        for j in range(cols):
            stamp(word(i, j), bit(i, j), float(g[i, j]))
    v = torch.linalg.solve(a, b)
    return torch.stack([v[bit(rows - 1, j)] / r_col for j in range(cols)], 1)


def test_one_cell_is_a_series_circuit():
    """Driver — r_w — G — r_b — ground: I = v / (r_w + 1/G + r_b)."""
    g = torch.tensor([[[1e-3]]], dtype=torch.float64)
    assert exact(g, 2.0, 5.0).item() == pytest.approx(1 / (2.0 + 1e3 + 5.0), rel=1e-12)
    assert first_order(g, 2.0, 5.0).item() == pytest.approx(1e-3 * (1 - 7.0 * 1e-3), rel=1e-12)


def test_one_row_by_hand():
    """1×2: the bit lines end at ground after one segment each; the word line feeds both cells. With
    G1 at (0, 0), G2 at (0, 1): node voltages solved by hand (two unknowns after series reduction)."""
    g1, g2, rw, rb = 1e-2, 2e-2, 1.0, 3.0
    s1, s2 = 1 / (1 / g1 + rb), 1 / (1 / g2 + rb)  # each cell in series with its bit-line segment
    # word-line nodes u1, u2: (u1 − 1)/rw + (u1 − u2)/rw + s1 u1 = 0 ;  (u2 − u1)/rw + s2 u2 = 0
    u2_per_u1 = (1 / rw) / (1 / rw + s2)
    u1 = (1 / rw) / (2 / rw + s1 - u2_per_u1 / rw)
    expected = torch.tensor([[s1 * u1, s2 * u2_per_u1 * u1]], dtype=torch.float64)
    g = torch.tensor([[g1, g2]], dtype=torch.float64)
    assert torch.allclose(exact(g, rw, rb), expected, rtol=1e-12)


@pytest.mark.parametrize("shape", [(2, 2), (3, 5), (5, 3), (6, 1), (1, 6)])
def test_exact_solution_is_kirchhoff(shape):
    g = torch.rand(*shape, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) * 1e-2
    assert torch.allclose(exact(g, 2.0, 5.0), _stamped(g, 2.0, 5.0), rtol=1e-10, atol=1e-16)


def test_exact_solution_is_vectorised_over_trials():
    g = torch.rand(3, 2, 7, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(2)) * 1e-3
    batched = exact(g, 1.5, 4.0)
    for t in range(3):
        for s in range(2):
            assert torch.allclose(batched[t, s], exact(g[t, s], 1.5, 4.0), rtol=1e-12)


def test_first_order_error_is_second_order_in_the_wire_resistance():
    g = torch.rand(16, 12, dtype=torch.float64, generator=torch.Generator().manual_seed(3)) * 1e-4
    errors = [(first_order(g, r, 3 * r) - exact(g, r, 3 * r)).abs().max().item() for r in (1.0, 0.1)]
    drop = (g - exact(g, 0.1, 0.3)).abs().max().item()
    assert errors[1] < errors[0] / 50  # ×100 expected for O(r²)
    assert errors[1] < drop / 20  # much smaller than the drop itself


def _wire_layer(ir_drop: str, array=(64, 64), **wire):
    torch.manual_seed(5)
    layer = nn.Linear(100, 20)
    card = load_card("wire-1t1r-22nm-neurosim")
    spec = Crossbar(device="rram-wan2022", array=array, ir_drop=ir_drop, seed=4,
                    wire=dataclasses.replace(card, **wire) if wire else None)
    return layer, neuroemu.map(copy.deepcopy(layer), spec)


def test_ir_drop_in_a_layer():
    x = torch.rand(16, 100, generator=torch.Generator().manual_seed(6))
    _, plain = _wire_layer("none")
    _, tiny = _wire_layer("exact", row_segment_resistance=1e-9, column_segment_resistance=1e-9)
    _, real = _wire_layer("exact")
    _, cheap = _wire_layer("first_order")
    with torch.inference_mode():
        y_plain, y_tiny, y_real, y_cheap = (m(x) for m in (plain, tiny, real, cheap))
    assert torch.allclose(y_tiny, y_plain, atol=1e-5)
    assert not torch.allclose(y_real, y_plain, atol=1e-4)
    (xbar,) = crossbar_layers(real)
    g_plus, g_minus = xbar.cells.read(0.0)
    assert xbar._through_wires(g_plus, g_minus).abs().sum() < (g_plus - g_minus).abs().sum()
    assert (y_cheap - y_real).abs().max() < (y_plain - y_real).abs().max()


def test_a_wire_card_of_another_kind_is_refused():
    with pytest.raises(ValueError, match="kind 'wire'"):
        neuroemu.map(nn.Linear(4, 2), Crossbar(device="ideal", ir_drop="exact", wire="sa-isaac"))
