"""DAC and ADC: exactly 2^b levels over their range, clipping outside it."""

import pytest
import torch

from neuroemu.crossbar import adc_levels, dac_quantize, quantize_signed, quantize_unsigned


@pytest.mark.parametrize("bits", [1, 2, 4, 8])
def test_unsigned_has_exactly_2_to_the_b_levels_and_clips(bits):
    x = torch.linspace(-1.0, 3.0, 20001, dtype=torch.float64)
    q = quantize_unsigned(x, 2.0, bits)
    levels = torch.unique(q)
    assert len(levels) == 2**bits
    assert float(levels[0]) == 0.0 and float(levels[-1]) == pytest.approx(2.0)
    assert torch.allclose(levels, torch.arange(2**bits, dtype=torch.float64) * 2.0 / (2**bits - 1))
    assert torch.all(q[x < 0] == 0) and torch.all(q[x > 2.0] == levels[-1])  # clipped


@pytest.mark.parametrize("bits", [1, 3, 8])
def test_signed_has_exactly_2_to_the_b_levels_and_clips(bits):
    fs = 1.5
    x = torch.linspace(-4.0, 4.0, 40001, dtype=torch.float64)
    q = quantize_signed(x, fs, bits)
    levels = torch.unique(q)
    assert len(levels) == 2**bits
    assert torch.allclose(levels, adc_levels(fs, bits))
    half = 2 ** (bits - 1)
    assert float(levels[0]) == pytest.approx(-fs)
    assert float(levels[-1]) == pytest.approx(fs * (half - 1) / half)
    assert torch.all(q[x < -fs] == levels[0]) and torch.all(q[x > fs] == levels[-1])
    inside = (x > -fs) & (x < fs * (half - 1) / half)
    assert float((q[inside] - x[inside]).abs().max()) <= fs / half / 2 + 1e-12  # round to nearest


def test_dac_returns_fractions_of_full_scale():
    x = torch.tensor([0.0, 0.6, 1.0, 2.0])
    assert torch.allclose(dac_quantize(x, 1.0, 1, signed=False), torch.tensor([0.0, 1.0, 1.0, 1.0]))
    assert torch.allclose(dac_quantize(-x, 1.0, 2, signed=True), torch.tensor([0.0, -0.5, -1.0, -1.0]))
    with pytest.raises(ValueError, match="bits"):
        quantize_signed(x, 1.0, 0)
