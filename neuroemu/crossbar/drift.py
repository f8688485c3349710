"""Drift compensation: a digital factor per array that undoes the mean conductance drift since programming.

Global drift compensation (V. Joshi et al., "Accurate deep neural network inference using computational
phase-change memory", Nat. Commun. 11, 2473 (2020), Methods): right after programming and again at read
time t, the chip applies a known calibration input to every array and measures the total output current;
the ratio α = Σ G(0) / Σ G(t) multiplies that array's outputs in digital logic. neuroemu takes the
read-out as exact: Σ over every device of the array (both cells of a pair and the reference column, each
read with its read noise at 0 and at t), one α per array and chip instance. It corrects the mean drift of
an array, not the spread between its devices. That exact sum is the ideal reference, and optimistic: a chip
measures it through its DAC, noisy column outputs and ADC. ``Crossbar.drift_estimate="periphery"`` does
that (:class:`PeripheryDriftCompensation`).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from neuroemu.crossbar.cells import Cells
from neuroemu.crossbar.periphery import Periphery
from neuroemu.crossbar.tiling import Tiling

__all__ = ["GlobalDriftCompensation", "PeripheryDriftCompensation"]


class GlobalDriftCompensation:
    """Per array and trial: α = Σ G(0) / Σ G(t) (see the module)."""

    def __init__(self, tiling: Tiling) -> None:
        self.tiling = tiling
        self._reference: torch.Tensor | None = None

    def reset(self) -> None:
        """Forget the reference read-out (the devices were programmed anew)."""
        self._reference = None

    def factors(self, cells: Cells, g_plus: torch.Tensor, g_minus: torch.Tensor, *, noisy: bool = True
                ) -> torch.Tensor:
        """α (T, K, out) for conductances (``g_plus``, ``g_minus``) read from ``cells`` at time t;
        ``noisy=False``: the reference read at 0 without read noise (read noise redrawn per MVM)."""
        if self._reference is None:
            reference = cells.read(0.0) if noisy else cells.read_expected(0.0)
            self._reference = self.tiling.array_sums(*reference)
        return self._reference / self.tiling.array_sums(g_plus, g_minus).clamp(min=1e-30)


class PeripheryDriftCompensation:
    """Per array and trial: α = Σ_columns |y(0)| / Σ_columns |y(t)|, y read through the periphery.

    The chip's own estimate of the global drift factor (Joshi et al. 2020; aihwkit's
    ``GlobalDriftCompensation`` reads the same way): every row of a row tile is driven by the same
    calibration code c (the DAC's largest positive code, halved at design time until the programmed
    targets' column currents fill at most half the ADC range), and each column's current is read with the
    output noise, the per-read device noise and the ADC (rounding, noise, clipping) of a normal read;
    α compares the summed |ADC outputs| of the array's columns at t with those right after programming
    (t = 0). Unlike :class:`GlobalDriftCompensation` (the exact Σ G, an optimistic ideal reference) it sees
    the differential outputs only, with converter noise and resolution.
    """

    def __init__(self, tiling: Tiling, periphery: Periphery) -> None:
        self.tiling = tiling
        self.periphery = periphery
        self._reference: torch.Tensor | None = None
        self._codes: torch.Tensor | None = None

    def reset(self) -> None:
        """Forget the reference read-out and the calibration codes (programmed anew, or recalibrated)."""
        self._reference = None
        self._codes = None

    def factors(self, read: Callable[[float], tuple[torch.Tensor, torch.Tensor | None]], t: float, *,
                target: torch.Tensor, top_code: int, lsb: torch.Tensor | None, bits: int | None,
                sigma_out: torch.Tensor) -> torch.Tensor:
        """α (T, K, out) at time ``t``. ``read(t)``: the (G⁺ − G⁻) the MVM uses at t, (T, S, out, in), and
        the per-read noise variance of each device pair (or ``None``); ``target``: the programmed targets'
        G⁺ − G⁻ (S, out, in); ``top_code``: the DAC's largest code; ``lsb``/``bits``: the ADC's (``None``:
        no ADC); ``sigma_out``: the output noise σ in S·codes, (K, out)."""
        if self._codes is None:
            self._codes = self._calibration_codes(target, top_code, lsb, bits)
        if self._reference is None:
            self._reference = self._readout(read, 0.0, lsb, bits, sigma_out)
        return self._reference / self._readout(read, t, lsb, bits, sigma_out).clamp(min=1e-30)

    def _row_sums(self, g: torch.Tensor) -> torch.Tensor:
        """(…, S, out, in) → Σ over each row tile's rows, (…, K, out) tile-major."""
        sums = torch.stack([g[..., a:b].sum(-1) for a, b in self.tiling.row_tiles], -3)  # (…, n_rt, S, out)
        return sums.reshape(*sums.shape[:-3], -1, sums.shape[-1])

    def _calibration_codes(self, target: torch.Tensor, top_code: int, lsb: torch.Tensor | None,
                           bits: int | None) -> torch.Tensor:
        """Per (partial sum, column), (K, out): c = max(⌊top / 2^j⌋, 1) with the smallest j ≥ 0 for which
        every column of the array stays within half the ADC range on the programmed targets."""
        codes = torch.full((self.tiling.partial_sums, self.tiling.out_features), float(top_code))
        if lsb is None or bits is None:
            return codes
        peak = self.tiling.array_max(self._row_sums(target.double()).abs().float() * top_code / lsb)
        j = torch.log2(peak / 2 ** (bits - 2)).ceil().clamp(min=0)
        return torch.floor(top_code / 2.0**j).clamp(min=1.0)

    def _readout(self, read: Callable[[float], tuple[torch.Tensor, torch.Tensor | None]], t: float,
                 lsb: torch.Tensor | None, bits: int | None, sigma_out: torch.Tensor) -> torch.Tensor:
        """Σ_columns |ADC output| of every array at time ``t``, each column its array's: (T, K, out)."""
        g_diff, variance = read(t)
        assert self._codes is not None
        codes = self._codes.unsqueeze(0)  # (1, K, out)
        p = (self._row_sums(g_diff) * codes).unsqueeze(0)  # (1, T, K, out)
        var = None if variance is None else (self._row_sums(variance) * codes**2).unsqueeze(0)
        y, _ = self.periphery.convert(p, var, lsb, bits, sigma_out, torch.zeros(1, dtype=torch.int64),
                                      stream=f"drift-read@{t!r}")
        y = y[0].abs() / codes  # per calibration code, so arrays read at different codes compare
        total = torch.empty_like(y)
        for c0, c1 in self.tiling.col_tiles:
            total[..., c0:c1] = y[..., c0:c1].sum(-1, keepdim=True)
        return total
