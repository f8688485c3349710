"""Spec fields declared once (neuroemu.specs): validation, messages, text parsing and the field table."""

import dataclasses
from dataclasses import dataclass

import pytest

from neuroemu.crossbar import Crossbar
from neuroemu.specs import SpecError, describe, option, options, parse_duration, parse_text, validate
from neuroemu.spiking import Spiking
from neuroemu.stochastic import Stochastic


@dataclass(frozen=True, kw_only=True)
class Toy:
    bits: int | None = option(None, "converter bits", kind=int, ge=1, le=24, optional=True, none="exact",
                              cli_default=8)
    rate: float = option(0.5, "a rate", kind=float, gt=0, le=1)
    scale: float | str = option("auto", "a scale", kind=float, gt=0, words=("auto",))
    wait: float = option(0.0, "a delay", kind=float, ge=0, unit="s")
    shape: tuple[int, int] = option((2, 3), "a shape", kind="pair", ge=1, flag="--size")
    mode: str = option("a", "a mode", kind=str, choices=("a", "b"))
    on: bool = option(False, "a switch", kind=bool)

    def __post_init__(self) -> None:
        validate(self)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("bits", 0, "Toy.bits must be None or an integer in 1..24, got 0"),
    ("bits", 8.0, "Toy.bits must be None or an integer in 1..24, got 8.0"),
    ("bits", True, "got True"),
    ("rate", 0.0, "Toy.rate must be a number in (0, 1], got 0.0"),
    ("rate", float("nan"), "Toy.rate must be a number in (0, 1]"),
    ("scale", "fixed", "Toy.scale must be 'auto' or a finite number > 0, got 'fixed'"),
    ("wait", float("inf"), "Toy.wait must be a finite number >= 0 (s), got inf"),
    ("shape", (2, 0), "Toy.shape must be a tuple of 2 integers >= 1, got (2, 0)"),
    ("shape", (2, 3, 4), "Toy.shape must be a tuple of 2 integers"),
    ("mode", "c", "Toy.mode must be one of ['a', 'b'], got 'c'"),
    ("on", 1, "Toy.on must be True or False, got 1"),
])
def test_a_bad_value_names_the_field_the_allowed_values_and_the_value(field, value, message):
    with pytest.raises(SpecError) as info:
        Toy(**{field: value})
    assert message in str(info.value)


def test_good_values_pass_and_the_declaration_is_kept():
    toy = Toy(bits=None, rate=1.0, scale=2.5, wait=3.0, shape=(1, 1), mode="b", on=True)
    assert toy.bits is None and toy.scale == 2.5
    declared = {o.name: o for o in options(Toy)}
    assert list(declared) == ["bits", "rate", "scale", "wait", "shape", "mode", "on"]
    assert declared["bits"].command_line_default == 8 and declared["rate"].command_line_default == 0.5
    assert declared["shape"].command_line_flag == "--size" and declared["mode"].command_line_flag == "--mode"


@pytest.mark.parametrize(("field", "text", "value"), [
    ("bits", "none", None), ("bits", "6", 6), ("rate", "0.25", 0.25), ("scale", "auto", "auto"),
    ("scale", "1e-3", 1e-3), ("wait", "1d", 86400.0), ("wait", "2", 2.0), ("shape", "256x128", (256, 128)),
    ("on", "true", True), ("on", "off", False), ("mode", "b", "b"),
])
def test_values_read_from_text(field, text, value):
    assert parse_text({o.name: o for o in options(Toy)}[field], text) == value


@pytest.mark.parametrize(("field", "text"), [("bits", "eight"), ("shape", "256"), ("on", "maybe"),
                                             ("wait", "1 fortnight")])
def test_unreadable_text_names_the_field(field, text):
    with pytest.raises(SpecError, match=field):
        parse_text({o.name: o for o in options(Toy)}[field], text)


def test_every_substrate_spec_declares_every_field_once():
    for spec in (Crossbar, Stochastic, Spiking):
        declared = options(spec)
        assert [o.name for o in declared] == [f.name for f in dataclasses.fields(spec)]  # not ClassVars
        assert all(o.help for o in declared)
        for o in declared:  # the defaults themselves are allowed values
            o.check(o.default)
            o.check(o.command_line_default)
        rows = list(describe(spec))
        assert len(rows) == len(declared) and all(row["allowed"] for row in rows)


def test_duration_parsing():
    assert parse_duration("1y") == 365.25 * 86400 and parse_duration("30min") == 1800
    with pytest.raises(ValueError, match="1h"):
        parse_duration("soon")
