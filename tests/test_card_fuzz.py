"""Mutated cards of every kind: a clear ``CardError`` naming the file and the field, or a card that shows,
prints as strict JSON and (for devices) emulates to finite outputs (a crossbar layer on an inference
device, pulsed updates on a training device) — never another exception.

Each example takes one built-in card and replaces one of its params by a generated value: numbers from
tiny to huge (float and integer), quantities with the field's unit or another one, wrong types.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

import neuroemu
from neuroemu.cards import CardError
from neuroemu.cards.loader import builtin_card_dirs, card_rows, card_to_dict, read_card
from neuroemu.cards.units import DIMENSIONS
from neuroemu.cli import main
from neuroemu.crossbar import Crossbar
from neuroemu.crossbar.spec import default_slicing
from neuroemu.devices import MODELS
from neuroemu.devices.training import TRAINING_KINDS, update_model
from neuroemu.devices.updates import NormalStream

CARDS = sorted(path for folder in builtin_card_dirs() for path in folder.glob("*.toml"))
UNITS = [unit for unit in DIMENSIONS if unit != "m^2"] + ["uS", "mV", "ns", "pJ", "kOhm"]

_magnitudes = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.builds(lambda m, e: m * 10.0**e, st.floats(-10, 10), st.integers(-320, 308)),
    st.integers(min_value=-(10**40), max_value=10**40),
)
_quantities = st.builds(lambda v, u: f'"{v!r} {u}"', _magnitudes, st.sampled_from(UNITS))
_exponents = st.builds(lambda e, u: f'"1e{e} {u}"', st.integers(-10**12, 10**12), st.sampled_from(UNITS))
_others = st.sampled_from(['"abc"', "true", "[1, 2]", '"nan S"', '"inf V"', "{ a = 1 }", '""', '"1e3"'])
VALUES = st.one_of(_magnitudes.map(repr), _quantities, _exponents, _others)


def _mutations() -> st.SearchStrategy[tuple[Path, str]]:
    choices = [(path, key) for path in CARDS for key in tomllib.loads(path.read_text()).get("params", {})]
    return st.sampled_from(choices)


_x = torch.rand(3, 6, generator=torch.Generator().manual_seed(0))
_layer = nn.Sequential(nn.Linear(6, 4))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(target=_mutations(), value=VALUES)
def test_a_mutated_card_is_refused_clearly_or_works(tmp_path: Path, target: tuple[Path, str],
                                                    value: str) -> None:
    path, key = target
    text = re.sub(rf"(?m)^{key}\s*=.*$", lambda _: f"{key} = {value}", path.read_text())
    mutated = tmp_path / path.name
    mutated.write_text(text)
    try:
        card = read_card(mutated)
    except CardError as exc:
        assert path.name in str(exc), exc
        assert "params." in str(exc), exc
        return
    card_rows(card)
    json.dumps(card_to_dict(card), allow_nan=False)
    if card.kind in MODELS:  # an inference device: emulate a layer on it
        with torch.no_grad():
            emulated = neuroemu.map(_layer, Crossbar(device=card, slicing=default_slicing(card)))
            assert torch.isfinite(emulated(_x)).all()
    elif card.kind in TRAINING_KINDS:  # a training device: a few pulsed updates stay finite and in bounds
        model = update_model(card)
        generator = torch.Generator().manual_seed(0)
        devices = model.sample((4, 6), generator)
        w = torch.zeros(4, 6)
        model.program(w, devices)
        for _ in range(3):
            model.apply(w, torch.randint(-5, 6, (4, 6)).float(), devices, NormalStream(generator))
        assert torch.isfinite(w).all() and (w <= devices.hi).all() and (w >= devices.lo).all()


@pytest.mark.parametrize("raw", ['"1e99999999999 uS"', '"1e-99999999999 uS"', '"1e300 S"', '"1e-300 S"'])
def test_quantities_beyond_the_magnitude_window_are_refused(tmp_path: Path, raw: str) -> None:
    source = next(p for p in CARDS if p.stem == "rram-wan2022")
    mutated = tmp_path / source.name
    mutated.write_text(re.sub(r"(?m)^g_max\s*=.*$", f"g_max = {raw}", source.read_text()))
    with pytest.raises(CardError, match=r"params\.g_max = .* out of range"):
        read_card(mutated)


def test_arrays_nested_thousands_deep_are_refused(tmp_path: Path) -> None:
    source = next(p for p in CARDS if p.stem == "ideal")
    mutated = tmp_path / source.name
    nested = "[" * 100_000 + "]" * 100_000
    mutated.write_text(re.sub(r"(?m)^g_max\s*=.*$", f"g_max = {nested}", source.read_text()))
    with pytest.raises(CardError, match="nested too deeply"):
        read_card(mutated)


def test_cards_json_is_strict_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cards", "show", "rram-wan2022", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out, parse_constant=lambda c: pytest.fail(f"not JSON: {c}"))
    assert shown["derived"]["on_off_ratio"] is None  # g_min = 0: infinite, which JSON cannot say
    assert main(["cards", "list", "--json"]) == 0
    json.loads(capsys.readouterr().out, parse_constant=lambda c: pytest.fail(f"not JSON: {c}"))
