"""The analog periphery read by read: input management per vector, noise at the column outputs, iterative
bound management (the IO model users know from IBM aihwkit's ``IOParameters``).

A layer uses this path ("managed" MVMs) when any of these options is on; without them it keeps its plain
path (:mod:`~neuroemu.crossbar.layers`), bit for bit. Each MVM is one input vector (an image's input of a
linear layer, one receptive field of a convolution) on one chip instance; per vector and row tile:

1. **input management** (``input_management="per_vector"``, aihwkit's ``noise_management=ABS_MAX``): the
   vector's part on the row tile is divided by its own max |x| (s), so its largest entry drives the DAC's
   largest code m (m = 2^(b−1) − 1 signed, symmetric ±m as aihwkit's 2^b − 2 steps over [−1, 1]; 2^b − 1
   unsigned), and the converted outputs are multiplied by s again in digital logic. ``"layer"``: today's
   fixed range per layer (``dac_range``).
2. **noise at the column outputs**, added before the ADC, one Gaussian draw per conversion:
   ``output_noise`` σ in units of the current of one fully-on device (g_max − g_min) at full-scale input
   (aihwkit's ``out_noise``, in the unit of ``adc_range``: σ / ADC full scale = output_noise / adc_range);
   with ``read_noise="per_read"`` the devices' Gaussian read noise redrawn at every MVM, whose effect on a
   column is Gaussian with variance Σ_i code_i² (σ⁺_ij² + σ⁻_ij²) (σ from the device model,
   :meth:`~neuroemu.devices.base.DeviceModel.read_sigma`; a reference column's noise is taken as
   independent per column, and the device's clamp at 0 S is not applied); and the ADC's input-referred
   noise (``adc_noise`` LSB). The three are independent, so one draw of their summed variance is added.
3. the **ADC** rounds and clips (:mod:`~neuroemu.crossbar.adc`); a clipped column **saturates** its
   array's read.
4. **iterative bound management** (``bound_management="iterative"``, aihwkit's ``ITERATIVE``): a read in
   which any column of the row tile's arrays saturated is repeated with the input vector halved (re-quantised
   by the DAC), up to ``bound_management_halvings`` times, and its outputs multiplied by 2^j digitally; every
   repeat draws fresh noise. The repeated reads and conversions are recorded in the ledger.

Noise draws come from the counter-based generator (:func:`~neuroemu.devices.rng.counter_normal_trials`),
one stream per (seed, trial, layer, repeat) indexed by the vector's position since the last read (image ×
output position) and the conversion within it: the same read gets the same noise whatever the batch size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from neuroemu.crossbar.dac import Dac
from neuroemu.crossbar.tiling import Tiling
from neuroemu.devices import rng

__all__ = ["Periphery"]


@dataclass
class Periphery:
    """The per-read periphery settings of one layer (see the module)."""

    output_noise: float = 0.0  #: σ in fully-on devices at full-scale input
    per_read: bool = False  #: device read noise redrawn at every MVM
    per_vector: bool = False  #: input management per vector (else the layer's fixed DAC range)
    halvings: int = 0  #: most input halvings of iterative bound management (0: none)
    adc_noise: float = 0.0  #: σ in LSB
    name: str = "layer"
    seed: int = 0
    first_trial: int = 0

    @property
    def active(self) -> bool:
        """Whether the layer reads through this path (any option on)."""
        return self.output_noise > 0 or self.per_read or self.per_vector or self.halvings > 0

    def input_codes(self, v: torch.Tensor, dac: Dac, tiling: Tiling, halving: int = 0
                    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """DAC codes of input vectors ``v`` (N·T, in) divided by 2^``halving``, and the per-vector scales
        (N·T, row tiles) (``None`` with the layer's fixed range)."""
        if not self.per_vector or dac.two_level:
            return dac.codes(v * 2.0**-halving if halving else v), None
        scales = torch.stack([v[:, a:b].abs().amax(1) for a, b in tiling.row_tiles], 1)
        scales = torch.where(scales > 0, scales, torch.ones_like(scales))
        divisors = scales * 2.0**halving if halving else scales
        scaled = torch.empty_like(v)
        for r, (a, b) in enumerate(tiling.row_tiles):
            torch.div(v[:, a:b], divisors[:, r:r + 1], out=scaled[:, a:b])
        return dac.vector_codes(scaled), scales

    def convert(self, p: torch.Tensor, variance: torch.Tensor | None, lsb: torch.Tensor | None,
                bits: int | None, sigma_out: torch.Tensor, vectors: torch.Tensor, repeat: int = 0,
                stream: str = "analog-noise") -> tuple[torch.Tensor, torch.Tensor | None]:
        """Partial sums (N, T, K, out) → noisy values (ADC codes with ``lsb``), in place, and which
        (vector, trial, partial sum) reads saturated the ADC, (N, T, K) (``None`` without an ADC).

        ``variance``: the per-read device-noise variance of each partial sum, (S·codes)²; ``sigma_out``: the
        output noise σ in S·codes, (K, out) float64; ``bits``: the ADC's; ``vectors``: the run index of each
        of the N vectors (the noise counter); ``repeat``: the bound-management repeat and ``stream`` the
        purpose (each its own stream)."""
        k, out = p.shape[2], p.shape[3]
        var: torch.Tensor | None = (sigma_out.pow(2).float().view(1, 1, k, out)
                                     if self.output_noise > 0 else None)
        if variance is not None:
            var = variance if var is None else variance.add_(var)
        if lsb is not None:
            scale = (1.0 / lsb).view(1, 1, k, out)
            p = p.mul_(scale)
            if var is not None:
                var = var * scale**2
            if self.adc_noise > 0:
                adc = torch.full((1, 1, k, out), self.adc_noise**2)
                var = adc if var is None else var + adc
        if var is not None:
            p = p.add_(self._normal(p.shape, vectors, repeat, stream).mul_(var.sqrt()))
        if lsb is None or bits is None:
            return p, None
        half = 2 ** (bits - 1)
        p = p.round_()
        saturated = ((p > half - 1) | (p < -half)).any(-1)
        return p.clamp_(-half, half - 1), saturated

    def _normal(self, shape: torch.Size, vectors: torch.Tensor, repeat: int, stream: str) -> torch.Tensor:
        n, trials = shape[0], shape[1]
        per = math.prod(shape[2:])
        counters = vectors.view(n, 1) * per + torch.arange(per).view(1, per)
        label = f"{self.name}/{stream}" + (f"/bm{repeat}" if repeat else "")
        trials_drawn = range(self.first_trial, self.first_trial + trials)
        return rng.counter_normal_trials(self.seed, trials_drawn, label, counters, dim=1).view(shape)

