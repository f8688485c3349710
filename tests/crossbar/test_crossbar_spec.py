"""Crossbar(...) validation: bad values name the field and the allowed range."""

import pytest

from neuroemu.crossbar import Crossbar


@pytest.mark.parametrize(("field", "value", "fragment"), [
    ("array", (0, 128), "array"),
    ("array", (128,), "array"),
    ("dac_bits", 0, "1..24"),
    ("adc_bits", 25, "1..24"),
    ("adc_bits", 8.0, "adc_bits"),
    ("dac_range", -1.0, "> 0"),
    ("adc_range", "auto", "calibrated"),
    ("mapping", "single", "differential"),
    ("scaling", "row", "column"),
    ("weight_clip", 0.0, "weight_clip"),
    ("slicing", (0, 2), "slicing"),
    ("slicing", (5, 5), "cells\\*bits <= 24"),
    ("trials", 0, "trials must be an integer >= 1"),
    ("seed", 1.5, "seed"),
    ("time", -1.0, "time"),
    ("time", float("nan"), "time"),
    ("drift_compensation", 1, "drift_compensation"),
    ("device", "", "device"),
])
def test_bad_values_name_the_field(field, value, fragment):
    with pytest.raises(ValueError, match=fragment) as info:
        Crossbar(**{field: value})
    assert field in str(info.value)


def test_unknown_device_card_lists_the_known_ones():
    from torch import nn

    from neuroemu.cards import UnknownCardError

    with pytest.raises(UnknownCardError, match="pcm-joshi2020"):
        Crossbar(device="no-such-card").apply(nn.Sequential(nn.Linear(2, 2)))
    with pytest.raises(ValueError, match="not a device"):
        Crossbar(device="adc-sar-isaac-8b").apply(nn.Sequential(nn.Linear(2, 2)))


def test_slicing_needs_differential_pairs_and_spec_is_frozen():
    with pytest.raises(ValueError, match="slicing"):
        Crossbar(mapping="reference", slicing=(2, 2))
    spec = Crossbar()
    with pytest.raises(AttributeError):
        spec.trials = 3  # type: ignore[misc]
