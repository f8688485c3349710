"""Data converters at the edge of a crossbar: the input DAC and the per-column ADC.

Both are uniform quantisers with exactly ``2**bits`` output levels over a stated range and clip what lies
outside it (that clipping is the modelled hardware behaviour):

- **DAC**, unsigned (inputs known to be ≥ 0, e.g. after a ReLU): codes 0 … 2^b − 1, value code/(2^b − 1)
  of the full scale, so 0 and the full scale are both levels. Signed: two's-complement codes
  −2^(b−1) … 2^(b−1) − 1, value code/2^(b−1) of the full scale (0 is a level, +full scale is not).
- **ADC**, always signed (a differential column current has either sign): codes −2^(b−1) … 2^(b−1) − 1,
  LSB = range / 2^(b−1).

Values are returned on the quantisation grid (code × LSB), not as integer codes.
"""

from __future__ import annotations

import torch

__all__ = ["adc_levels", "codes_per_full_scale", "dac_codes", "dac_quantize", "quantize_signed",
           "quantize_unsigned"]


def _check_bits(bits: int) -> None:
    if not isinstance(bits, int) or isinstance(bits, bool) or not 1 <= bits <= 24:
        raise ValueError(f"bits must be an integer in 1..24, got {bits!r}")


def quantize_unsigned(x: torch.Tensor, full_scale: float | torch.Tensor, bits: int) -> torch.Tensor:
    """Quantise to ``2**bits`` levels k·full_scale/(2^b − 1), k = 0 … 2^b − 1, clipping outside [0, fs]."""
    _check_bits(bits)
    n = 2**bits - 1
    step = full_scale / n
    return (x / step).round_().clamp_(0, n).mul_(step)


def quantize_signed(x: torch.Tensor, full_scale: float | torch.Tensor, bits: int) -> torch.Tensor:
    """Quantise to ``2**bits`` levels k·fs/2^(b−1), k = −2^(b−1) … 2^(b−1) − 1 (two's complement); clips."""
    _check_bits(bits)
    half = 2 ** (bits - 1)
    step = full_scale / half
    return (x / step).round_().clamp_(-half, half - 1).mul_(step)


def dac_quantize(x: torch.Tensor, full_scale: float, bits: int, signed: bool) -> torch.Tensor:
    """The DAC: ``x`` (input units) → its quantised value as a fraction of the full scale, in [−1, 1]."""
    if signed:
        return quantize_signed(x, full_scale, bits).div_(full_scale)
    return quantize_unsigned(x, full_scale, bits).div_(full_scale)


def codes_per_full_scale(bits: int, signed: bool) -> int:
    """How many LSBs make the full scale: 2^(b−1) (signed) or 2^b − 1 (unsigned)."""
    _check_bits(bits)
    return 2 ** (bits - 1) if signed else 2**bits - 1


def dac_codes(x: torch.Tensor, full_scale: float, bits: int, signed: bool) -> torch.Tensor:
    """The DAC's integer codes (as floats) for ``x``: ``dac_quantize`` × ``codes_per_full_scale``.

    Emulated layers drive the arrays with codes and fold the LSB size into their digital output scale,
    which saves two passes over the input."""
    n = codes_per_full_scale(bits, signed)
    lo, hi = (-n, n - 1) if signed else (0, n)
    return (x * (n / full_scale)).round_().clamp_(lo, hi)


def adc_levels(full_scale: float, bits: int) -> torch.Tensor:
    """Every output level of a ``bits``-bit ADC with range ±``full_scale`` (for tests and plots)."""
    _check_bits(bits)
    half = 2 ** (bits - 1)
    return torch.arange(-half, half, dtype=torch.float64) * (full_scale / half)
