"""Every command prints the same numbers as before the spine refactor (golden files in tests/golden/).

The files were written by ``tests/golden/commands.py`` from the code as it stood before the refactor. A
result may gain fields (JSON objects are compared as supersets, ledger entries may gain attributes), but
every number that was printed before must be printed again, exactly; only wall-clock times are ignored.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

GOLDEN = Path(__file__).parent / "golden"
sys.path.insert(0, str(GOLDEN))
from commands import COMMANDS, FINGERPRINTS, REPRICED, run_cli, run_fingerprint, run_repriced  # noqa: E402

IGNORED = {"wall_s", "repriced_from"}


def _same(old: Any, new: Any, where: str = "$") -> None:
    """``new`` holds everything ``old`` holds (see the module); raises AssertionError naming the place."""
    if isinstance(old, dict):
        assert isinstance(new, dict), f"{where}: expected an object, got {new!r}"
        for key, value in old.items():
            if key in IGNORED:
                continue
            assert key in new, f"{where}: key {key!r} is missing"
            _same(value, new[key], f"{where}.{key}")
    elif isinstance(old, list) and old and all(isinstance(x, dict) and "event" in x for x in old):
        _same_entries(old, new, where)
    elif isinstance(old, list):
        assert isinstance(new, list) and len(new) == len(old), f"{where}: {new!r} != {old!r}"
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            _same(a, b, f"{where}[{i}]")
    else:
        assert type(new) is type(old) and new == old, f"{where}: {new!r} != {old!r}"


def _same_entries(old: list[dict], new: list[dict], where: str) -> None:
    """Ledger entries: the same counters, each possibly with more attributes."""
    assert isinstance(new, list) and len(new) == len(old), f"{where}: {len(new)} entries, {len(old)} before"
    unused = list(new)
    for entry in old:
        for candidate in unused:
            if (candidate["event"], candidate["layer"], candidate["count"]) == (
                    entry["event"], entry["layer"], entry["count"]) and all(
                    candidate["attrs"].get(k) == v for k, v in entry["attrs"].items()):
                unused.remove(candidate)
                break
        else:
            raise AssertionError(f"{where}: no entry matches {entry}")


def _golden(stem: str) -> Any:
    return json.loads((GOLDEN / f"{stem}.json").read_text())


@pytest.mark.parametrize(("stem", "args"), COMMANDS, ids=[stem for stem, _ in COMMANDS])
def test_command_prints_the_golden_numbers(data_root, stem, args):
    _same(_golden(stem), run_cli(args))


@pytest.mark.parametrize(("stem", "model", "substrate", "fields"), FINGERPRINTS,
                         ids=[stem for stem, *_ in FINGERPRINTS])
def test_emulated_logits_are_the_golden_ones(data_root, stem, model, substrate, fields):
    _same(_golden(stem), run_fingerprint(model, substrate, fields))


@pytest.mark.parametrize(("stem", "run_args", "reprice_args"), REPRICED, ids=[stem for stem, *_ in REPRICED])
def test_saved_run_reprices_to_the_golden_numbers(data_root, tmp_path, stem, run_args, reprice_args):
    _same(_golden(stem), run_repriced(run_args, reprice_args, tmp_path))


def test_the_comparison_catches_a_changed_number():
    old = {"points": [{"accuracy": 0.5, "wall_s": 1.0}], "ledger": [
        {"event": "mac", "layer": "fc1", "attrs": {"bits": 8}, "count": 4}]}
    _same(old, {"points": [{"accuracy": 0.5, "wall_s": 9.0, "more": 1}], "ledger": [
        {"event": "mac", "layer": "fc1", "attrs": {"bits": 8, "width": 3}, "count": 4}]})
    for changed in ({"points": [{"accuracy": 0.5000001}], "ledger": old["ledger"]},
                    {"points": old["points"], "ledger": [{"event": "mac", "layer": "fc1",
                                                          "attrs": {"bits": 4}, "count": 4}]},
                    {"points": old["points"]}):
        with pytest.raises(AssertionError):
            _same(old, changed)
