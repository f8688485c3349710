"""Drift compensation: a digital factor per array that undoes the mean conductance drift since programming.

Global drift compensation (V. Joshi et al., "Accurate deep neural network inference using computational
phase-change memory", Nat. Commun. 11, 2473 (2020), Methods): right after programming and again at read
time t, the chip applies a known calibration input to every array and measures the total output current;
the ratio α = Σ G(0) / Σ G(t) multiplies that array's outputs in digital logic. neuroemu takes the
read-out as exact: Σ over every device of the array (both cells of a pair and the reference column, each
read with its read noise at 0 and at t), one α per array and chip instance. It corrects the mean drift of
an array, not the spread between its devices.
"""

from __future__ import annotations

import torch

from neuroemu.crossbar.cells import Cells
from neuroemu.crossbar.tiling import Tiling

__all__ = ["GlobalDriftCompensation"]


class GlobalDriftCompensation:
    """Per array and trial: α = Σ G(0) / Σ G(t) (see the module)."""

    def __init__(self, tiling: Tiling) -> None:
        self.tiling = tiling
        self._reference: torch.Tensor | None = None

    def reset(self) -> None:
        """Forget the reference read-out (the devices were programmed anew)."""
        self._reference = None

    def factors(self, cells: Cells, g_plus: torch.Tensor, g_minus: torch.Tensor) -> torch.Tensor:
        """α (T, K, out) for conductances (``g_plus``, ``g_minus``) read from ``cells`` at time t."""
        if self._reference is None:
            self._reference = self.tiling.array_sums(*cells.read(0.0))
        return self._reference / self.tiling.array_sums(g_plus, g_minus).clamp(min=1e-30)
