"""IR drop on the word and bit lines of a crossbar array: the conductances an MVM effectively sees.

An array of R rows × C columns: row i's word line is driven at its first cell (column 0) by the DAC at
v_i, with a wire segment of resistance r_w before each cell; column j's bit line is held at virtual ground
by its sense amplifier after its last cell (row R − 1), with a segment of r_b after each cell; cell (i, j)
of conductance G_ij joins word-line node (i, j) to bit-line node (i, j). The network is linear, so the column
currents are I = G_effᵀ v for an effective matrix G_eff of the programmed conductances alone — whatever the
inputs, one solve per array and read-out serves every MVM. Two models (``Crossbar.ir_drop``):

- ``"exact"``: Kirchhoff's equations solved exactly. Per row, the word-line nodes (a tridiagonal system
  A_i = g_w·L + diag(G_i·)) are eliminated, leaving a block-tridiagonal system in the bit-line nodes (blocks
  of C × C, coupled by the bit-line segments), solved by block Gaussian elimination down the rows for the
  unit currents of the C sense amplifiers (reciprocity: G_eff[i, j] is the current into driver i when column
  j is driven); every step is a batched dense solve over trials. Cost per array and chip: ≈ 3·R·C³ flops,
  R·C² memory; the solve runs along the shorter side (the network transposed, by reciprocity).
- ``"first_order"``: the first-order expansion in the wire resistance, each cell attenuated by the drop its
  own word-line and bit-line paths carry when every cell draws its ideal current,
  G_eff[i, j] = G_ij·(1 − r_w·Σ_{k≤j} Σ_{l≥k} G_il − r_b·Σ_{k≥i} Σ_{m≤k} G_mj) (cumulative sums; clipped at
  0), exact to O(r²). It ignores how the drops feed back on the currents, so it underestimates large drops.

Differential pairs: the G⁺ and G⁻ cells sit in arrays of their own (each solved alone); a reference column
is solved as an array of one column per column tile. Read noise redrawn per MVM and the devices' clamp are
taken without IR drop. Segment resistances come from a ``wire`` circuit card.
"""

from __future__ import annotations

import torch

from neuroemu.crossbar.tiling import Tiling

__all__ = ["DEFAULT_WIRE", "effective_conductances", "exact", "first_order"]

#: the wire card IR drop uses when none is given
DEFAULT_WIRE = "wire-1t1r-22nm-neurosim"


def first_order(g: torch.Tensor, r_row: float, r_col: float) -> torch.Tensor:
    """G_eff (…, R, C) of arrays of conductances ``g`` (…, R, C) to first order in the segment resistances
    ``r_row`` (word lines, driven at column 0) and ``r_col`` (bit lines, read after row R − 1)."""
    g = g.double()
    downstream = g.flip(-1).cumsum(-1).flip(-1)  # Σ_{l≥k} G_il: current through word-line segment k
    word = downstream.cumsum(-1)  # Σ_{k≤j}: drop at node (i, j) per volt
    upstream = g.cumsum(-2)  # Σ_{m≤k} G_mj: current through bit-line segment below row k
    bit = upstream.flip(-2).cumsum(-2).flip(-2)  # Σ_{k≥i}
    return (g * (1 - r_row * word - r_col * bit)).clamp(min=0.0)


def exact(g: torch.Tensor, r_row: float, r_col: float) -> torch.Tensor:
    """G_eff (…, R, C) of arrays of conductances ``g`` (…, R, C): the exact nodal solution (the module)."""
    rows, cols = g.shape[-2:]
    if cols > rows:  # reciprocity: the transposed network (drive the bit lines, read the word lines), each
        # line's port moved to its start by reversing the order of rows and columns
        flipped = g.flip(-2, -1).transpose(-1, -2)
        return _exact(flipped, r_col, r_row).transpose(-1, -2).flip(-2, -1)
    return _exact(g, r_row, r_col)


def _exact(g: torch.Tensor, r_row: float, r_col: float) -> torch.Tensor:
    g = g.double()
    batch, (rows, cols) = g.shape[:-2], g.shape[-2:]
    gw, gb = 1.0 / r_row, 1.0 / r_col
    # word line of one row: node j joins node j−1 (the driver for j = 0) and node j+1 (none after the last)
    lap = torch.diag(torch.full((cols,), 2.0, dtype=torch.float64))
    lap[-1, -1] = 1.0
    idx = torch.arange(cols - 1)
    lap[idx, idx + 1] = lap[idx + 1, idx] = -1.0
    lap = gw * lap
    eye = torch.eye(cols, dtype=torch.float64)
    drive = torch.zeros(cols, 1, dtype=torch.float64)
    drive[0, 0] = 1.0
    inverses, couplings = [], []  # Δ_i⁻¹ and (A_i⁻¹ e_0)ᵀ D_i per row
    previous = None
    for i in range(rows):
        d = g[..., i, :]  # (…, C)
        a = lap + torch.diag_embed(d)
        a_inv_d = torch.linalg.solve(a, torch.diag_embed(d))  # A_i⁻¹ D_i
        schur = torch.diag_embed(d) - d.unsqueeze(-1) * a_inv_d  # D_i − D_i A_i⁻¹ D_i
        diagonal = gb * (2.0 if i > 0 else 1.0) * eye + schur
        if previous is not None:
            diagonal = diagonal - gb * gb * previous
        previous = torch.linalg.inv(diagonal)
        inverses.append(previous)
        a_inv_e0 = torch.linalg.solve(a, drive.expand(*batch, cols, 1))  # (…, C, 1)
        couplings.append((a_inv_e0 * d.unsqueeze(-1)).transpose(-1, -2))  # (…, 1, C)
    # back substitution for the sense amplifiers' unit drives (right-hand side g_b·I in the last block)
    z = gb * inverses[-1]  # (…, C, C): bit-line voltages of the last row, one column per drive
    out = torch.empty(*batch, rows, cols, dtype=torch.float64)
    for i in range(rows - 1, -1, -1):
        if i < rows - 1:
            z = gb * inverses[i] @ z
        out[..., i, :] = gw * (couplings[i] @ z).squeeze(-2)
    return out


def effective_conductances(g_plus: torch.Tensor, g_minus: torch.Tensor, tiling: Tiling, model: str,
                           r_row: float, r_col: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(G⁺, G⁻) (T, S, out, in) and (T, S, out | 1, in) → the effective conductances of every array of the
    tiling (``model``: ``"exact"`` or ``"first_order"``), same shapes and dtype."""
    solve = exact if model == "exact" else first_order
    result = [torch.empty_like(g_plus), torch.empty_like(g_minus)]
    groups: dict[tuple[int, int], list[tuple[int, slice, slice]]] = {}  # arrays of one shape, solved together
    for which, g in enumerate((g_plus, g_minus)):
        for a, b in tiling.row_tiles:
            for c0, c1 in tiling.col_tiles if g.shape[-2] > 1 else [(0, 1)]:
                groups.setdefault((b - a, c1 - c0), []).append((which, slice(c0, c1), slice(a, b)))
    sources = (g_plus, g_minus)
    for blocks in groups.values():
        stacked = torch.stack([sources[w][..., cols, rows].transpose(-1, -2) for w, cols, rows in blocks])
        solved = solve(stacked, r_row, r_col)
        for (w, cols, rows), eff in zip(blocks, solved, strict=True):
            result[w][..., cols, rows] = eff.transpose(-1, -2).to(result[w].dtype)
    return result[0], result[1]
