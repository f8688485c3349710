"""Device and circuit cards: units, schema validation, search path, display helpers, built-in cards."""

from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neuroemu import cards
from neuroemu.cards import (
    PREFIXES,
    Adc,
    Card,
    CardError,
    IdealDevice,
    Source,
    UnitError,
    UnknownCardError,
    card_rows,
    card_to_dict,
    format_quantity,
    list_cards,
    load_card,
    param,
    parse_quantity,
    register_kind,
)
from neuroemu.cards import schema as card_schema

REPO = Path(__file__).resolve().parents[1]

IDEAL_PARAMS = {"g_min": '"0 S"', "g_max": '"25 uS"', "read_voltage": '"0.2 V"',
                "read_pulse_width": '"250 ns"'}
ADC_PARAMS = {"bits": "8", "architecture": '"sar"', "sample_rate": '"1.28 GHz"', "power": '"2 mW"',
              "area": '"0.0012 mm^2"'}


def card_text(name: str = "my", kind: str = "ideal_device", params: dict[str, str | None] | None = None,
              *, top: str = "", source: str = "", base: dict[str, str] | None = None) -> str:
    """TOML of a valid card, with ``params`` overriding (raw TOML values; ``None`` drops the field)."""
    values = dict(base if base is not None else (ADC_PARAMS if kind == "adc" else IDEAL_PARAMS))
    for key, value in (params or {}).items():
        if value is None:
            values.pop(key, None)
        else:
            values[key] = value
    lines = "\n".join(f"{k} = {v}" for k, v in values.items())
    return (f'name = "{name}"\nkind = "{kind}"\ndescription = "a test card"\n{top}\n'
            f'[source]\ncitation = "Nobody, Tests, 2024"\nlocation = "Table 0"\n{source}\n'
            f"[params]\n{lines}\n")


def write(folder: Path, text: str, stem: str = "my") -> Path:
    path = folder / f"{stem}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def load_error(path: Path) -> str:
    with pytest.raises(CardError) as info:
        load_card(path)
    return str(info.value)


# ---------------------------------------------------------------- units


@pytest.mark.parametrize("prefix,power", sorted(PREFIXES.items()))
@pytest.mark.parametrize("base", ["S", "V", "A", "s", "J", "W", "Hz", "Ohm", "F", "m"])
def test_every_prefix_and_base(prefix, power, base):
    value, unit = parse_quantity(f"3 {prefix}{base}")
    assert unit == base
    assert value == pytest.approx(3 * 10.0**power, rel=1e-15)


@pytest.mark.parametrize(
    "text,value,unit",
    [
        ("25 uS", 2.5e-5, "S"),
        ("25 µS", 2.5e-5, "S"),  # micro sign U+00B5
        ("25 μS", 2.5e-5, "S"),  # Greek mu U+03BC
        ("25uS", 2.5e-5, "S"),
        ("  25   uS ", 2.5e-5, "S"),
        ("0.0012 mm^2", 1.2e-9, "m^2"),
        ("1 m^2", 1.0, "m^2"),
        ("3 um²", 3e-12, "m^2"),
        ("10 kOhm", 1e4, "Ohm"),
        ("10 kΩ", 1e4, "Ohm"),  # Greek capital omega
        ("10 k\u2126", 1e4, "Ohm"),  # ohm sign
        ("1 Ohm", 1.0, "Ohm"),
        ("1 m", 1.0, "m"),
        ("32 nm", 3.2e-8, "m"),
        ("1 mm", 1e-3, "m"),
        ("2 ms", 2e-3, "s"),
        ("2 mS", 2e-3, "S"),
        ("2 MS", 2e6, "S"),
        ("1.28 GHz", 1.28e9, "Hz"),
        ("1.5e3 Hz", 1500.0, "Hz"),
        (".5 V", 0.5, "V"),
        ("-5 uS", -5e-6, "S"),
        ("+2 fF", 2e-15, "F"),
        ("1.5625 pJ", 1.5625e-12, "J"),
        ("0 S", 0.0, "S"),
        ("4 TW", 4e12, "W"),
    ],
)
def test_parse_quantity(text, value, unit):
    assert parse_quantity(text) == (value, unit)  # exact: conversion is decimal, correctly rounded


@pytest.mark.parametrize(
    "text,message",
    [("", "not a quantity"), ("25", "no unit"), ("abc S", "not a quantity"), ("25 uX", "unknown unit"),
     ("25 mm^3", "unknown unit"), ("25 xS", "unknown unit"), ("nan S", "not finite"), ("inf V", "not finite"),
     ("-Infinity W", "not finite"), ("1e999 J", "not finite"), ("25 S S", "unknown unit")],
)
def test_parse_quantity_rejects(text, message):
    with pytest.raises(UnitError, match=message):
        parse_quantity(text)


@pytest.mark.parametrize(
    "value,unit,text",
    [(2.5e-5, "S", "25 µS"), (1.5625e-12, "J", "1.5625 pJ"), (0.0, "S", "0 S"), (1.28e9, "Hz", "1.28 GHz"),
     (1e3, "Ohm", "1 kΩ"), (0.2, "V", "200 mV"), (1.2e-9, "m^2", "1200 µm^2"), (1e-6, "m^2", "1 mm^2"),
     (3.2e-8, "m", "32 nm"), (-5e-6, "S", "-5 µS"), (2.5e-7, "s", "250 ns")],
)
def test_format_quantity(value, unit, text):
    assert format_quantity(value, unit) == text


@given(
    mantissa=st.floats(min_value=1e-3, max_value=1e3, allow_nan=False, allow_infinity=False),
    prefix=st.sampled_from(sorted(PREFIXES)),
    base=st.sampled_from(["S", "V", "A", "s", "J", "W", "Hz", "Ohm", "Ω", "F", "m", "m^2"]),
)
def test_unit_round_trip(mantissa, prefix, base):
    value, unit = parse_quantity(f"{mantissa!r} {prefix}{base}")
    power = 2 if base == "m^2" else 1
    assert value == pytest.approx(mantissa * 10.0 ** (PREFIXES[prefix] * power), rel=1e-14)
    back, same_unit = parse_quantity(format_quantity(value, unit))  # display keeps 6 significant digits
    assert same_unit == unit
    assert back == pytest.approx(value, rel=1e-5)


# ---------------------------------------------------------------- built-in cards


def test_ideal_card_in_si():
    card = load_card("ideal")
    assert isinstance(card, IdealDevice) and card.kind == "ideal_device"
    assert card.g_max == 2.5e-5 and card.g_min == 0.0
    assert card.read_voltage == 0.2 and card.read_pulse_width == pytest.approx(250e-9, rel=1e-15)
    assert card.max_read_current == pytest.approx(5e-6, rel=1e-12)
    assert card.path is not None and card.path.name == "ideal.toml"
    assert "Nandakumar" in card.source.citation and card.source.location


def test_isaac_adc_card_in_si():
    card = load_card("adc-sar-isaac-8b", kind="adc")
    assert isinstance(card, Adc)
    assert (card.bits, card.architecture) == (8, "sar")
    assert card.sample_rate == 1.28e9 and card.power == 2e-3
    assert card.area == pytest.approx(1.2e-9, rel=1e-15) and card.node == pytest.approx(32e-9, rel=1e-15)
    assert card.energy_per_conversion == pytest.approx(1.5625e-12, rel=1e-12)
    assert card.walden_fom == pytest.approx(1.5625e-12 / 256, rel=1e-12)
    assert "ISAAC" in card.source.citation and "Table 6" in card.source.location


def test_list_cards_finds_every_builtin_sorted():
    found = list_cards()
    names = [c.name for c in found]
    assert {"ideal", "adc-sar-isaac-8b", "mult-fp32-horowitz-45nm"} <= set(names)
    assert [(c.kind, c.name) for c in found] == sorted((c.kind, c.name) for c in found)
    on_disk = {p.stem for folder in ("devices", "circuits") for p in (REPO / folder).glob("*.toml")}
    assert set(names) == on_disk
    for card in found:
        assert card.source.citation.strip() and card.source.location.strip()


def test_horowitz_energies():
    assert load_card("mult-fp32-horowitz-45nm").energy == pytest.approx(3.7e-12, rel=1e-12)
    assert load_card("add-int8-horowitz-45nm").energy == pytest.approx(3e-14, rel=1e-12)


def test_card_rows_and_dict():
    card = load_card("adc-sar-isaac-8b")
    rows = dict(card_rows(card))
    assert rows["power"] == "2 mW" and rows["sample_rate"] == "1.28 GHz" and rows["bits"] == "8"
    assert rows["energy_per_conversion (derived)"] == "1.5625 pJ"
    assert list(rows) == ["bits", "architecture", "sample_rate", "power", "area", "node",
                          "energy_per_conversion (derived)", "walden_fom (derived)"]
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in card_rows(card))
    assert dict(card_rows(load_card("ideal")))["g_max"] == "25 µS"

    record = json.loads(json.dumps(card_to_dict(card)))
    assert record["name"] == "adc-sar-isaac-8b" and record["kind"] == "adc"
    assert record["params"]["power"] == 2e-3 and record["units"]["power"] == "W"
    assert record["derived"]["energy_per_conversion"] == pytest.approx(1.5625e-12, rel=1e-12)
    assert record["source"]["citation"] == card.source.citation
    assert record["path"].endswith("adc-sar-isaac-8b.toml")
    for built_in in list_cards():
        json.dumps(card_to_dict(built_in))


def test_cards_are_frozen():
    card = load_card("ideal")
    with pytest.raises(dataclasses.FrozenInstanceError):
        card.g_max = 1.0  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        card.source.citation = "me"  # type: ignore[misc]


def test_replace_and_code_construction_are_validated():
    card = load_card("ideal")
    assert dataclasses.replace(card, g_max=1e-5).g_max == 1e-5
    with pytest.raises(CardError, match=r"ideal\.toml.*params\.g_max"):
        dataclasses.replace(card, g_max=-1e-6)
    with pytest.raises(CardError, match=r"params\.g_min"):
        dataclasses.replace(card, g_min=1e-4)
    built = IdealDevice(name="ideal-test", source=Source(citation="test", location="none"), g_min=0,
                        g_max=1e-5, read_voltage=0.1, read_pulse_width=1e-7)
    assert built.kind == "ideal_device" and isinstance(built.g_min, float)
    with pytest.raises(CardError, match=r"card 'ideal-test'.*params\.read_voltage.*not finite"):
        dataclasses.replace(built, read_voltage=math.nan)
    with pytest.raises(CardError, match=r"params\.bits"):
        Adc(name="a", source=Source(citation="t", location="t"), bits=8.0, architecture="sar",  # type: ignore[arg-type]
            sample_rate=1.0, power=1.0, area=1.0)


def test_readmes_document_every_kind_and_field():
    text = (REPO / "devices" / "README.md").read_text(encoding="utf-8")
    text += (REPO / "circuits" / "README.md").read_text(encoding="utf-8")
    for kind, cls in cards.kinds().items():
        assert f"### `{kind}`" in text, kind
        for spec in cls.PARAMS:
            assert f"`{spec.name}`" in text, (kind, spec.name)
    for name in [c.name for c in list_cards()]:
        assert f"`{name}`" in text, name


# ---------------------------------------------------------------- invalid cards


INVALID = [
    # (id, kind, params override, extra top-level text, extra [source] text, expected fragments)
    ("missing param", "ideal_device", {"g_max": None}, "", "", ["params.g_max", "missing", "S"]),
    ("unknown top-level", "ideal_device", {}, 'colour = "red"', "", ["colour", "unknown"]),
    ("unknown param", "ideal_device", {"g_mid": '"1 uS"'}, "", "", ["params.g_mid", "g_max"]),
    ("unknown source field", "ideal_device", {}, "", 'doi = "x"', ["source.doi", "citation"]),
    ("wrong type bool", "ideal_device", {"read_voltage": "true"}, "", "",
     ["params.read_voltage", "wrong type"]),
    ("wrong type float for int", "adc", {"bits": "8.5"}, "", "", ["params.bits", "integer"]),
    ("wrong type string for int", "adc", {"bits": '"8"'}, "", "", ["params.bits", "integer"]),
    ("wrong type table", "ideal_device", {"g_max": "{ value = 1 }"}, "", "", ["params.g_max", "wrong type"]),
    ("wrong dimension", "ideal_device", {"g_max": '"5 V"'}, "", "", ["params.g_max", "wrong unit", "in S"]),
    ("missing unit", "ideal_device", {"g_max": "25e-6"}, "", "", ["params.g_max", "no unit", "in S"]),
    ("missing unit for zero", "ideal_device", {"g_min": "0"}, "", "", ["params.g_min", "no unit"]),
    ("unknown unit", "ideal_device", {"g_max": '"25 uX"'}, "", "", ["params.g_max", "unknown unit"]),
    ("out of range", "ideal_device", {"g_max": '"-5 uS"'}, "", "", ["params.g_max = -5 uS", "> 0 S"]),
    ("out of range int", "adc", {"bits": "17"}, "", "", ["params.bits = 17", "<= 16"]),
    ("zero not allowed", "adc", {"power": '"0 W"'}, "", "", ["params.power", "> 0 W"]),
    ("NaN quantity", "ideal_device", {"g_max": '"nan uS"'}, "", "", ["params.g_max", "not finite"]),
    ("NaN number", "ideal_device", {"g_max": "nan"}, "", "", ["params.g_max", "not finite"]),
    ("inf", "adc", {"sample_rate": '"inf Hz"'}, "", "", ["params.sample_rate", "not finite"]),
    ("bad choice", "adc", {"architecture": '"dual-slope"'}, "", "", ["params.architecture", "'sar'"]),
    ("g_min >= g_max", "ideal_device", {"g_min": '"25 uS"'}, "", "", ["params.g_min", "params.g_max", "<"]),
]


@pytest.mark.parametrize("case", INVALID, ids=[c[0] for c in INVALID])
def test_invalid_params_name_file_and_field(tmp_path, case):
    _, kind, params, top, source, fragments = case
    text = card_text(name="broken-card", kind=kind, params=params, top=top, source=source)
    message = load_error(write(tmp_path, text, stem="broken-card"))
    assert "broken-card.toml" in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_out_of_range_message_shape(tmp_path):
    path = write(tmp_path, card_text(params={"g_max": '"-5 uS"'}))
    assert load_error(path).endswith("my.toml: params.g_max = -5 uS is out of range: must be > 0 S")


@pytest.mark.parametrize(
    "replace,fragments",
    [
        (('description = "a test card"\n', ""), ["description", "missing"]),
        (('kind = "ideal_device"\n', ""), ["kind", "missing"]),
        (('location = "Table 0"\n', ""), ["source.location", "missing"]),
        (('citation = "Nobody, Tests, 2024"', 'citation = ""'), ["source.citation", "empty"]),
        (('citation = "Nobody, Tests, 2024"', "citation = 3"), ["source.citation", "wrong type"]),
        (('description = "a test card"', "description = 7"), ["description", "wrong type"]),
        (('name = "my"', 'name = "other"'), ["name", "file name"]),
        (('kind = "ideal_device"', 'kind = "memristor"'), ["memristor", "adc", "ideal_device", "digital_op"]),
        (("g_max = ", "g_max = = "), ["invalid TOML", "line"]),
    ],
)
def test_invalid_structure(tmp_path, replace, fragments):
    old, new = replace
    text = card_text()
    assert old in text
    message = load_error(write(tmp_path, text.replace(old, new, 1)))
    assert "my.toml" in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_missing_source_table(tmp_path):
    text = card_text().replace('[source]\ncitation = "Nobody, Tests, 2024"\nlocation = "Table 0"\n', "")
    message = load_error(write(tmp_path, text))
    assert "my.toml" in message and "source" in message


def test_params_not_a_table(tmp_path):
    text = card_text().split("[params]")[0].replace('name = "my"', 'name = "my"\nparams = 3')
    message = load_error(write(tmp_path, text))
    assert "my.toml" in message and "params = 3" in message and "table" in message


def test_bad_name(tmp_path):
    message = load_error(write(tmp_path, card_text(name="Bad_Name"), stem="Bad_Name"))
    assert "Bad_Name.toml" in message and "name" in message and "[a-z0-9]" in message


def test_not_utf8(tmp_path):
    path = tmp_path / "my.toml"
    path.write_bytes(card_text().encode() + b'\n# \xff\xfe\n')
    message = load_error(path)
    assert "my.toml" in message and "invalid TOML" in message


# ---------------------------------------------------------------- search path


def test_user_card_by_path(tmp_path, monkeypatch):
    path = write(tmp_path, card_text(params={"g_max": '"10 uS"'}))
    assert load_card(path).g_max == 1e-5
    assert load_card(str(path)).g_max == 1e-5
    monkeypatch.chdir(tmp_path)
    assert load_card("my.toml").path == Path("my.toml")
    with pytest.raises(CardError, match=r"nothere\.toml"):
        load_card("nothere.toml")


def test_user_folder_via_environment(tmp_path, monkeypatch):
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    write(first, card_text(name="dev-a"), stem="dev-a")
    write(second, card_text(name="adc-b", kind="adc"), stem="adc-b")
    monkeypatch.setenv("NEUROEMU_CARDS", os.pathsep.join([str(first), "", str(second)]))
    assert load_card("dev-a").g_max == 2.5e-5
    assert load_card("adc-b", kind="adc").bits == 8
    names = {c.name for c in list_cards()}
    assert {"dev-a", "adc-b", "ideal", "adc-sar-isaac-8b"} <= names


def test_user_folder_via_paths(tmp_path):
    write(tmp_path, card_text(name="dev-c"), stem="dev-c")
    assert load_card("dev-c", paths=[tmp_path]).name == "dev-c"
    assert "dev-c" in {c.name for c in list_cards([tmp_path])}
    with pytest.raises(UnknownCardError):
        load_card("dev-c")


def test_missing_user_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("NEUROEMU_CARDS", str(tmp_path / "nope"))
    with pytest.raises(CardError, match=r"nope.*NEUROEMU_CARDS"):
        load_card("ideal")


def test_duplicate_of_builtin_is_an_error(tmp_path):
    write(tmp_path, card_text(name="ideal"), stem="ideal")
    for call in (lambda: load_card("ideal", paths=[tmp_path]), lambda: list_cards([tmp_path])):
        with pytest.raises(CardError) as info:
            call()
        message = str(info.value)
        assert "'ideal'" in message and str(Path("devices") / "ideal.toml") in message
        assert str(tmp_path / "ideal.toml") in message


def test_same_folder_twice_is_not_a_duplicate(tmp_path, monkeypatch):
    write(tmp_path, card_text(name="dev-d"), stem="dev-d")
    monkeypatch.setenv("NEUROEMU_CARDS", str(tmp_path))
    assert load_card("dev-d", paths=[tmp_path]).name == "dev-d"


def test_broken_user_card_breaks_list_cards(tmp_path):
    write(tmp_path, card_text(name="dev-e", params={"g_max": '"5 V"'}), stem="dev-e")
    with pytest.raises(CardError, match=r"dev-e\.toml.*params\.g_max"):
        list_cards([tmp_path])


def test_unknown_name_lists_known_names():
    with pytest.raises(UnknownCardError) as info:
        load_card("no-such-card")
    message = str(info.value)
    assert "no-such-card" in message
    for name in ("ideal", "adc-sar-isaac-8b", "add-int8-horowitz-45nm"):
        assert name in message
    assert isinstance(info.value, CardError) and isinstance(info.value, ValueError)


def test_kind_mismatch():
    with pytest.raises(CardError) as info:
        load_card("ideal", kind="adc")
    message = str(info.value)
    assert "ideal.toml" in message and "'ideal_device'" in message and "'adc'" in message
    with pytest.raises(CardError, match="known kinds: adc"):
        load_card("ideal", kind="memristor")


def test_builtin_dirs_are_the_repository_folders():
    assert cards.builtin_card_dirs() == [REPO / "devices", REPO / "circuits"]


# ---------------------------------------------------------------- new kinds


@pytest.fixture
def widget_kind():
    """A throw-away kind with one field of every dimension, removed from the registry afterwards."""

    @register_kind("test_widget")
    @dataclass(frozen=True, kw_only=True)
    class Widget(Card):
        conductance: float = param("S", gt=0)
        resistance: float = param("Ohm", gt=0)
        voltage: float = param("V", ge=-1, le=1)
        current: float = param("A")
        time: float = param("s", gt=0)
        energy: float = param("J", ge=0)
        power: float = param("W", ge=0)
        frequency: float = param("Hz", gt=0)
        capacitance: float = param("F", gt=0)
        length: float = param("m", gt=0)
        area: float = param("m^2", gt=0)
        ratio: float = param(gt=0, lt=1)
        enabled: bool = param()
        label: str | None = param(default=None)
        count: int = param(ge=0, default=3)

    yield Widget
    del card_schema._REGISTRY["test_widget"]


WIDGET = {"conductance": '"1 mS"', "resistance": '"1 kΩ"', "voltage": '"-500 mV"', "current": '"2 uA"',
          "time": '"3 ps"', "energy": '"4 fJ"', "power": '"5 MW"', "frequency": '"6 kHz"',
          "capacitance": '"7 nF"', "length": '"8 um"', "area": '"9 m^2"', "ratio": "0.5", "enabled": "true"}


def test_new_kind_needs_no_loader_change(tmp_path, widget_kind):
    card = load_card(write(tmp_path, card_text(kind="test_widget", base=WIDGET)))
    assert isinstance(card, widget_kind)
    expected = {"conductance": 1e-3, "resistance": 1e3, "voltage": -0.5, "current": 2e-6, "time": 3e-12,
                "energy": 4e-15, "power": 5e6, "frequency": 6e3, "capacitance": 7e-9, "length": 8e-6,
                "area": 9.0, "ratio": 0.5, "enabled": True, "label": None, "count": 3}
    assert {k: getattr(card, k) for k in expected} == expected
    assert dict(card_rows(card))["resistance"] == "1 kΩ"
    json.dumps(card_to_dict(card))


@pytest.mark.parametrize(
    "override,fragments",
    [({"ratio": "1.0"}, ["params.ratio = 1.0", "< 1"]), ({"ratio": '"0.5 S"'}, ["params.ratio", "a number"]),
     ({"enabled": "1"}, ["params.enabled", "boolean"]), ({"voltage": '"2 V"'}, ["params.voltage", "<= 1 V"]),
     ({"resistance": '"1 kS"'}, ["params.resistance", "resistance in Ohm"]),
     ({"count": "-1"}, ["params.count", ">= 0"]), ({"label": "3"}, ["params.label", "string"]),
     ({"ratio": "inf"}, ["params.ratio", "not finite"]), ({"capacitance": None}, ["params.capacitance"])],
)
def test_new_kind_validation(tmp_path, widget_kind, override, fragments):
    message = load_error(write(tmp_path, card_text(kind="test_widget", base=WIDGET, params=override)))
    assert "my.toml" in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_register_kind_rejects_bad_schemas():
    with pytest.raises(TypeError, match="frozen"):

        @register_kind("bad_a")
        @dataclass(kw_only=True)
        class A(Card):
            x: float = param("S")

    with pytest.raises(TypeError, match="belong in cards"):

        @register_kind("bad_b")
        @dataclass(frozen=True, kw_only=True)
        class B(Card):
            x: float = param("S", default=1e-6)

    with pytest.raises(TypeError, match="unit"):

        @register_kind("bad_c")
        @dataclass(frozen=True, kw_only=True)
        class C(Card):
            x: float = param("furlong")

    with pytest.raises(TypeError, match="already registered"):

        @register_kind("adc")
        @dataclass(frozen=True, kw_only=True)
        class D(Card):
            x: float = param("S")

    assert not {"bad_a", "bad_b", "bad_c"} & set(cards.kinds())
