"""Tiling: a layer's weight matrix cut into arrays of ``array = (R, C)`` devices, and the tiled MVM.

The crossbar's rows are the layer's inputs (a convolution's kernel flattened to in_channels·kh·kw), its
columns the outputs. Row tile r holds inputs [a_r, b_r), column tile c outputs [c_0, c_1); every weight slice
is an array of its own, so a layer occupies row tiles × column tiles × slices arrays. One matrix-vector
multiplication (MVM) gives every column one partial sum per (row tile, slice) — K = row tiles × slices of
them, in that order (tile-major) — which digital logic later scales and adds.

:class:`TiledMvm` computes those partial sums for all T chip instances at once: linear layers as one batched
matrix product per row tile, convolutions as one grouped convolution over every trial (channels-last, where
mkldnn is fastest; a model's first convolution, whose input is the same on every trial, as one plain
convolution with every trial's kernels), with each row tile's
kernel masked to its rows when the kernel needs several tiles (extra arithmetic, the same result).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

__all__ = ["TiledMvm", "Tiling"]


class Tiling:
    """Row and column tiles of an (in_features × out_features) matrix of ``slices`` weight slices."""

    def __init__(self, in_features: int, out_features: int, slices: int,
                 array: tuple[int, int] | None = None) -> None:
        rows, cols = array if array is not None else (in_features, out_features)
        self.array = (rows, cols)  #: rows × columns of one array (the whole layer without ``array``)
        self.in_features, self.out_features, self.slices = in_features, out_features, slices
        self.row_tiles = [(r, min(r + rows, in_features)) for r in range(0, in_features, rows)]
        self.col_tiles = [(c, min(c + cols, out_features)) for c in range(0, out_features, cols)]

    @property
    def partial_sums(self) -> int:
        """K: partial sums per column and MVM (row tiles × slices)."""
        return len(self.row_tiles) * self.slices

    @property
    def arrays(self) -> int:
        """Arrays the layer occupies: row tiles × column tiles × slices."""
        return len(self.row_tiles) * len(self.col_tiles) * self.slices

    def array_max(self, per_column: torch.Tensor) -> torch.Tensor:
        """(K, out) values → each column gets the largest value of its array (its column tile)."""
        out = torch.empty_like(per_column)
        for c0, c1 in self.col_tiles:
            out[:, c0:c1] = per_column[:, c0:c1].amax(1, keepdim=True)
        return out

    def array_sums(self, g_plus: torch.Tensor, g_minus: torch.Tensor) -> torch.Tensor:
        """Σ of every device's conductance per array, (T, K, out): each column gets its array's total.

        ``g_plus`` (T, S, out, in); ``g_minus`` (T, S, out, in), or (T, S, 1, in): one reference column per
        array, counted once in each array's sum."""
        trials = g_plus.shape[0]
        rows_p = torch.stack([g_plus[..., a:b].sum(-1) for a, b in self.row_tiles], 1)  # (T, n_rt, S, out)
        rows_m = torch.stack([g_minus[..., a:b].sum(-1) for a, b in self.row_tiles], 1)  # (T, n_rt, S, 1|out)
        total = torch.empty(trials, len(self.row_tiles), self.slices, self.out_features)
        for c0, c1 in self.col_tiles:
            s = rows_p[..., c0:c1].sum(-1)
            s = s + (rows_m[..., c0:c1].sum(-1) if rows_m.shape[-1] > 1 else rows_m[..., 0])
            total[..., c0:c1] = s.unsqueeze(-1)
        return total.reshape(trials, -1, self.out_features)


class TiledMvm:
    """Partial sums of a tiled linear layer (``conv=None``) or convolution (``conv``: stride, padding,
    dilation of ``F.conv2d``; ``kernel_shape`` = (in_channels, kh, kw))."""

    def __init__(self, tiling: Tiling, conv: dict[str, Any] | None, kernel_shape: tuple[int, ...]) -> None:
        self.tiling = tiling
        self.conv = conv
        self.kernel_shape = kernel_shape

    def weights(self, g_diff: torch.Tensor) -> Any:
        """(T, S, out, in) conductance differences → the tensors :meth:`partial_sums` multiplies by."""
        trials, slices, out, _ = g_diff.shape
        row_tiles = self.tiling.row_tiles
        if self.conv is None:
            return self.vector_weights(g_diff)
        n_rt = len(row_tiles)
        if n_rt == 1:
            w = g_diff
        else:
            w = g_diff.new_zeros(trials, n_rt, slices, out, self.tiling.in_features)
            for r, (a, b) in enumerate(row_tiles):
                w[:, r, ..., a:b] = g_diff[..., a:b]
        return w.reshape(trials * n_rt * slices * out, *self.kernel_shape).contiguous()

    def partial_sums(self, x: torch.Tensor, trials: int, weights: Any) -> torch.Tensor:
        """Partial sums (B, T, K, out, *spatial) of inputs ``x`` (B·T, ...; trial-minor rows)."""
        batch = x.shape[0] // trials
        tiling = self.tiling
        k, out = tiling.partial_sums, tiling.out_features
        if self.conv is None:
            return self.vector_partial_sums(x, trials, weights)
        xg = x.reshape(batch, trials * x.shape[1], *x.shape[2:]).contiguous(memory_format=torch.channels_last)
        p = F.conv2d(xg, weights, None, groups=trials, **self.conv)
        return p.view(batch, trials, k, out, *p.shape[2:])

    def uniform_partial_sums(self, x: torch.Tensor, trials: int, weights: Any) -> torch.Tensor:
        """:meth:`partial_sums` of a convolution whose input ``x`` (B, ...) is the same on every trial: one
        convolution with every trial's kernels as output channels, (B, T, K, out, *spatial); a test checks
        that LeNet-5's sums are bit-identical to the grouped convolution's (the same products and order)."""
        assert self.conv is not None
        p = F.conv2d(x, weights, None, **self.conv)
        return p.view(x.shape[0], trials, self.tiling.partial_sums, self.tiling.out_features, *p.shape[2:])

    # ------------------------------------------------------------------ one input vector per MVM

    def vector_weights(self, g_diff: torch.Tensor) -> list[torch.Tensor]:
        """(T, S, out, in) → per row tile (T, rows, S·out): what :meth:`vector_partial_sums` multiplies by."""
        trials, slices, out, _ = g_diff.shape
        return [g_diff[..., a:b].permute(0, 3, 1, 2).reshape(trials, b - a, slices * out).contiguous()
                for a, b in self.tiling.row_tiles]

    def vectors(self, x: torch.Tensor, trials: int) -> tuple[torch.Tensor, tuple[int, ...]]:
        """The input vector of every MVM: (N·T, in) trial-minor rows, N = images × output positions (a
        convolution's receptive fields, unfolded as ``F.unfold`` orders them, which is the order of the
        flattened kernel), and the output's spatial shape (``()`` for a linear layer)."""
        if self.conv is None:
            return x, ()
        if any(isinstance(v, str) for v in self.conv.values()):
            raise ValueError("per-vector periphery (input management, output noise, per-read noise) needs "
                             "numeric convolution padding, not a padding string")
        batch = x.shape[0] // trials
        cols = F.unfold(x, kernel_size=self.kernel_shape[1:], **self.conv)  # (B·T, in, L)
        kh, kw = self.kernel_shape[1:]
        spatial = tuple(
            (x.shape[2 + i] + 2 * self.conv["padding"][i] - self.conv["dilation"][i] * ((kh, kw)[i] - 1) - 1)
            // self.conv["stride"][i] + 1 for i in range(2))
        n = cols.shape[-1]
        vec = cols.view(batch, trials, self.tiling.in_features, n).permute(0, 3, 1, 2)
        return vec.reshape(batch * n * trials, self.tiling.in_features), spatial

    def vector_partial_sums(self, v: torch.Tensor, trials: int, weights: list[torch.Tensor]) -> torch.Tensor:
        """Partial sums (N, T, K, out) of input vectors ``v`` (N·T, in; trial-minor rows)."""
        batch = v.shape[0] // trials
        tiling = self.tiling
        k, out = tiling.partial_sums, tiling.out_features
        vt = v.reshape(batch, trials, tiling.in_features).transpose(0, 1)
        parts = [torch.bmm(vt[..., a:b], w) for (a, b), w in zip(tiling.row_tiles, weights, strict=True)]
        p = torch.stack(parts, 2) if len(parts) > 1 else parts[0].unsqueeze(2)  # (T, N, n_rt, S·out)
        return p.view(trials, batch, k, out).transpose(0, 1)

    @staticmethod
    def fold(p: torch.Tensor, spatial: tuple[int, ...]) -> torch.Tensor:
        """(N, T, ...) per-vector values, N = images × positions → (B, T, ..., *spatial)."""
        if not spatial:
            return p
        n = p.shape[0]
        positions = spatial[0] * spatial[1]
        q = p.reshape(n // positions, positions, *p.shape[1:])
        return q.movedim(1, -1).reshape(*q.shape[:1], *q.shape[2:], *spatial)
