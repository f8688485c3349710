"""The column ADCs of one crossbar layer: range per array (fixed or calibrated), rounding, conversion noise.

Every partial sum p (a column current in siemens × DAC codes, one per column, row tile and slice) is
converted by a signed ``bits``-bit ADC: code = clamp(round(p / LSB), −2^(b−1), 2^(b−1) − 1) with
LSB = full scale / 2^(b−1) (see :mod:`neuroemu.crossbar.convert`). The full scale is

- **fixed**: the current of ``full_scale`` fully-on devices (g_max − g_min each) at full-scale input
  (aihwkit's ``out_bound``), the same for every array, or with ``output_unit`` the current of that many
  units of the layer's weight (aihwkit's default ``weight_scaling_omega = 0``), per array and column; or
- **calibrated**: per array, the largest |partial sum| any of its columns produced on calibration images
  from the target (noise-free) conductances; an array that produced none gets the fixed default of one
  device. Integer-coded (low-bit) weights under integer DAC codes give partial sums that are whole numbers
  of conductance steps g_step, so their full scale is rounded up to make the LSB a whole number k of steps,
  k = ⌈(peak/g_step + 1)/2^(b−1)⌉ (k = 1, lossless, when the peak fits), as integer-sum crossbar designs
  size their ADCs.

``noise`` > 0 adds Gaussian input-referred noise of σ = ``noise`` LSB to every conversion, drawn from a
counter-based stream (:func:`~neuroemu.devices.rng.counter_normal`) per (seed, trial, layer) indexed by the
image's position since the last read, its input bit plane and the conversion within the image: the same
conversion gets the same noise whatever the batch size.
"""

from __future__ import annotations

import math

import torch

from neuroemu.crossbar.tiling import Tiling
from neuroemu.devices import rng

__all__ = ["Adc"]


class Adc:
    """The ADCs of one layer (see the module): ``shape`` = (K partial sums, out columns) per MVM,
    ``g_range`` = g_max − g_min of the device (S)."""

    def __init__(self, bits: int | None, full_scale: float | str, noise: float, *, shape: tuple[int, int],
                 g_range: float, seed: int, first_trial: int = 0, name: str = "layer",
                 output_unit: float | torch.Tensor | None = None) -> None:
        self.bits = bits
        self.name = name
        #: the fixed full scale in fully-on devices (``None``: calibrated per array)
        self.devices_full_scale: float | None = None if isinstance(full_scale, str) else float(full_scale)
        self.noise = float(noise)
        self.shape = shape
        self.g_range = g_range
        #: the conductance (S) of one unit of a fixed full scale: g_range (one fully-on device), or per
        #: (partial sum, column) the conductance difference of one unit of the layer's weight
        self.output_unit = g_range if output_unit is None else output_unit
        self.seed = seed
        self.first_trial = first_trial
        self.calibrated: torch.Tensor | None = None  #: calibrated full scale (K, out), S × DAC codes
        self._peak: torch.Tensor | None = None

    def full_scale(self, codes_per_full_scale: int) -> torch.Tensor | None:
        """Full scale per (partial sum, column) in siemens × DAC codes; ``None``: no ADC, or not calibrated.

        ``codes_per_full_scale``: DAC codes at full-scale input (fixed ranges are in fully-on devices at
        full-scale input)."""
        if self.bits is None or self.devices_full_scale is None:
            return self.calibrated
        if isinstance(self.output_unit, torch.Tensor):
            unit = self.output_unit.to(torch.float64)
            return (self.devices_full_scale * codes_per_full_scale * unit).float().expand(self.shape).clone()
        return torch.full(self.shape, self.devices_full_scale * self.output_unit * codes_per_full_scale)

    def lsb(self, full_scale: torch.Tensor | None) -> torch.Tensor | None:
        """The LSB per (partial sum, column); ``None`` without an ADC. Raises when not calibrated."""
        if self.bits is None:
            return None
        if full_scale is None:
            raise RuntimeError(f"{self.name}: the ADC range is 'calibrated' but the model is not calibrated: "
                               "call neuroemu.crossbar.calibrate(model, images) first")
        return full_scale / 2 ** (self.bits - 1)

    def convert(self, p: torch.Tensor, lsb: torch.Tensor, *, planes: int = 1, first_image: int = 0
                ) -> torch.Tensor:
        """Partial sums (rows, T, K, out, *spatial) → ADC codes, in place.

        ``planes`` > 1: the rows are input bit planes stacked plane-major (bit-serial input);
        ``first_image``: the run index of the batch's first image (the noise counter)."""
        assert self.bits is not None
        half = 2 ** (self.bits - 1)
        shape = (*lsb.shape, *(1,) * (p.dim() - 4))
        p = p.mul_((1.0 / lsb).view(shape))
        if self.noise > 0:
            p = p.add_(self._noise(p.shape, planes, first_image))
        return p.round_().clamp_(-half, half - 1)

    def _noise(self, shape: torch.Size, planes: int, first_image: int) -> torch.Tensor:
        """σ = ``noise`` LSB, one draw per conversion (rows, T, K, out, *spatial); counters: (image index in
        the run, input bit plane, conversion within the image), one stream per (seed, trial, layer)."""
        rows, trials = shape[0], shape[1]
        per_row = math.prod(shape[2:])
        batch = rows // planes
        row = torch.arange(rows)
        image = first_image + row % batch
        first = (image * planes + row // batch) * per_row  # counter of each row's first conversion
        counters = first.view(rows, 1) + torch.arange(per_row).view(1, per_row)
        trials_drawn = range(self.first_trial, self.first_trial + trials)
        noise = rng.counter_normal_trials(self.seed, trials_drawn, f"{self.name}/adc-noise", counters, dim=1)
        return noise.view(shape).mul_(self.noise)

    def observe(self, converted: torch.Tensor) -> None:
        """Calibration: note each (partial sum, column)'s largest |value| in ``converted``
        (rows, 1, K, out, *spatial), the values the ADC would convert."""
        k, out = self.shape
        peak = converted.abs().movedim(2, 0).movedim(3, 1).reshape(k, out, -1).amax(-1)
        self._peak = peak if self._peak is None else torch.maximum(self._peak, peak)

    def finish_calibration(self, tiling: Tiling, g_step: float | None) -> None:
        """Fix each array's full scale to the largest |partial sum| its columns produced (see the module).

        ``g_step``: the conductance step of integer-coded weights under integer DAC codes (``None``: float
        weights, or inputs not integer codes)."""
        if self.bits is None or self.devices_full_scale is not None:
            return
        assert self._peak is not None, "calibration saw no images"
        fs = tiling.array_max(self._peak)
        if g_step is not None:
            half = 2 ** (self.bits - 1)
            fs = torch.ceil((fs / g_step + 1) / half - 1e-9) * half * g_step
        self.calibrated = torch.where(fs > 0, fs, torch.full_like(fs, self.g_range))
