"""The input DAC of one crossbar layer: integer codes, range, sign mode, two-level drivers, bit planes.

Without ``bits`` inputs are applied exactly. With ``bits`` each input becomes an integer code of a uniform
quantiser (:func:`~neuroemu.crossbar.convert.dac_codes`): unsigned codes 0 … 2^b − 1 over [0, full scale]
or two's-complement codes −2^(b−1) … 2^(b−1) − 1; the code drives its row with a proportional voltage, and
the size of one code step (:attr:`Dac.unit`, input units per code) goes to the digital output scale. The
full scale is fixed (a number, shared by every layer) or calibrated: the largest |input| a layer saw on
calibration images, with an unsigned DAC when no input was negative (unless ``signed`` is forced).

``bit_serial``: the codes are applied one bit plane per MVM cycle (ISAAC), each plane's outputs converted
and recombined by shift-and-add with weights 2^j (the sign bit of a two's-complement code: −2^(b−1)).

A layer whose calibration inputs were all ±1 (after a sign activation: BNN, XNOR-Net) gets two-level (±V)
row drivers instead, as binarised crossbars use: ±1 applied exactly in one cycle, recorded as 1-bit
conversions, whatever ``bits`` and the range say (a multi-bit two's-complement DAC would turn +1 into
(2^(b−1) − 1)/2^(b−1)).
"""

from __future__ import annotations

import torch

from neuroemu.crossbar.convert import codes_per_full_scale, dac_codes

__all__ = ["Dac"]


class Dac:
    """The DAC of one layer (see the module); ``name`` is the layer's, for messages."""

    def __init__(self, bits: int | None, full_scale: float | str, signed: bool | None, *,
                 bit_serial: bool = False, per_vector: bool = False, name: str = "layer") -> None:
        self.bits = bits
        #: input management per vector: each vector scaled to its own max |x| (:meth:`vector_codes`)
        self.per_vector = per_vector
        self.name = name
        self.calibrated_range = isinstance(full_scale, str)  #: the full scale comes from calibration
        #: full scale in input units; ``None`` until calibrated (and without a DAC)
        self.full_scale: float | None = None
        if bits is not None and not self.calibrated_range:
            self.full_scale = float(full_scale)
        self.forced_sign = signed  #: ``None``: decided by calibration
        self.signed = True if signed is None else signed
        self.bit_serial = bit_serial
        self.two_level = False  #: ±1 row drivers (set by calibration when every input is ±1)
        self._x_min: torch.Tensor | None = None
        self._x_absmax: torch.Tensor | None = None
        self._binary: torch.Tensor | None = None

    @property
    def codes_per_full_scale(self) -> int:
        """Codes (LSBs) in the full scale: 1 without a multi-level DAC."""
        if self.bits is None or self.two_level:
            return 1
        if self.per_vector:
            return self.vector_top
        return codes_per_full_scale(self.bits, self.signed)

    @property
    def vector_top(self) -> int:
        """The largest code of a per-vector scaled input: 2^(b−1) − 1 signed (symmetric codes ±m, as
        aihwkit's 2^b − 2 DAC steps over [−1, 1]), 2^b − 1 unsigned; 1 without a DAC."""
        if self.bits is None or self.two_level:
            return 1
        return 2 ** (self.bits - 1) - 1 if self.signed else 2**self.bits - 1

    def vector_codes(self, x: torch.Tensor) -> torch.Tensor:
        """Codes of inputs already divided by their vector's max |x| (in [−1, 1]), in place: round(x·m),
        clipped to ±m (signed) or 0 … m (unsigned); the inputs themselves without a DAC."""
        if self.bits is None:
            return x
        m = self.vector_top
        return x.mul_(m).round_().clamp_(-m if self.signed else 0, m)

    @property
    def unit(self) -> float:
        """Input units per code (1.0 without a DAC): the factor the digital output scale applies."""
        if self.bits is None:
            return 1.0
        if self.per_vector and not self.two_level:
            return 1.0 / self.vector_top  # times each vector's own scale, applied per vector
        if self.full_scale is None:
            raise self._uncalibrated()
        return self.full_scale / self.codes_per_full_scale

    @property
    def cycles(self) -> int:
        """MVM cycles per input: one per bit plane (bit-serial), else one."""
        return self.bits if self.bit_serial and self.bits is not None else 1

    @property
    def event_bits(self) -> int | None:
        """Bits of one recorded ``dac_conversion``: 1 for a bit plane, else ``bits``."""
        return 1 if self.bit_serial else self.bits

    def codes(self, x: torch.Tensor) -> torch.Tensor:
        """Inputs → DAC codes (as floats; the inputs themselves without a DAC)."""
        if self.bits is None:
            return x
        if self.two_level:  # ±1 exactly (sign(0) = +1, as SignActivation)
            return torch.where(x >= 0, 1.0, -1.0).to(x.dtype)
        if self.full_scale is None:
            raise self._uncalibrated()
        return dac_codes(x, self.full_scale, self.bits, self.signed)

    def bit_planes(self, codes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Codes → (the ``bits`` bit planes stacked first, their shift-and-add weights)."""
        assert self.bits is not None
        n = self.bits
        c = codes.to(torch.int32)
        if self.signed:
            c = c & ((1 << n) - 1)
        planes = torch.stack([(c >> j) & 1 for j in range(n)]).to(codes.dtype)
        weights = torch.tensor([float(2**j) for j in range(n)])
        if self.signed:
            weights[-1] = -(2.0 ** (n - 1))
        return planes, weights

    def observe(self, x: torch.Tensor) -> None:
        """Calibration: note the smallest input, the largest |input| and whether every input is ±1."""
        x_min, x_abs = x.min().reshape(1), x.abs().max().reshape(1)
        binary = torch.tensor([bool(((x == 1) | (x == -1)).all())])
        self._binary = binary if self._binary is None else self._binary & binary
        self._x_min = x_min if self._x_min is None else torch.minimum(self._x_min, x_min)
        self._x_absmax = x_abs if self._x_absmax is None else torch.maximum(self._x_absmax, x_abs)

    def finish_calibration(self) -> None:
        """Fix the full scale to the largest |input| seen (unsigned when no input was negative), or switch
        to two-level drivers when every input was ±1 (see the module)."""
        if self.bits is not None and self._binary is not None and bool(self._binary.all()):
            self.two_level, self.bits, self.full_scale, self.signed = True, 1, 1.0, True
            self.bit_serial = False
            return
        if self.bits is None or not self.calibrated_range:
            return
        assert self._x_absmax is not None and self._x_min is not None
        absmax = float(self._x_absmax)
        self.full_scale = absmax if absmax > 0 else 1.0
        if self.forced_sign is None:
            self.signed = bool(self._x_min < 0)

    def _uncalibrated(self) -> RuntimeError:
        return RuntimeError(f"{self.name}: the DAC range is 'calibrated' but the model is not calibrated: "
                            "call neuroemu.crossbar.calibrate(model, images) first")
