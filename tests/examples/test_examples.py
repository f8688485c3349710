"""The examples in examples/ load, run in reduced size and print what their comments promise.

Experiment files are shrunk (few test images, two chips / runs, about two points per [[substrate]] block)
and run in this process with ``--workers 1``; the Python examples run in a subprocess with small
arguments. The full sizes are documented (with their run times) in each file."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from neuroemu.cards import load_card
from neuroemu.cli import main
from neuroemu.experiments.experiment import load_experiment

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
#: the device card beside the experiment files
CARDS = ("my-rram.toml",)
EXPERIMENTS = sorted(p.name for p in EXAMPLES.glob("*.toml") if p.name not in CARDS)


def test_the_examples_are_there():
    assert set(EXPERIMENTS) == {"crossbar_monte_carlo.toml", "sc_length_sweep.toml", "lowbit_on_arrays.toml",
                                "spiking.toml", "sweep-quick.toml"}
    for script in ("crossbar_python_api.py", "own_model_and_card.py"):
        assert (EXAMPLES / script).is_file()


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_experiment_file_loads_and_dry_runs(name, tmp_path, capsys):
    experiment = load_experiment(EXAMPLES / name)
    assert experiment.points
    assert main(["run", str(EXAMPLES / name), "--out", str(tmp_path), "--dry-run"]) == 0
    assert f"{len(experiment.points)} points" in capsys.readouterr().err
    assert not (tmp_path / "results.jsonl").exists()


def test_example_card_loads_by_path():
    card = load_card(EXAMPLES / "my-rram.toml")
    assert card.name == "my-rram"
    assert "EXAMPLE" in card.source.citation


def _first(value: Any, keep: int) -> Any:
    return value[:keep] if isinstance(value, list) else value


def reduced(path: Path, tmp_path: Path, limit: int = 16) -> Path:
    """``path`` shrunk: ``limit`` test images, at most 2 trials, per block the first two values of its first
    grid axis, the first value of the others and the first row of its zip; written under ``tmp_path``."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    data["limit"] = min(data.get("limit", limit), limit)
    data["calibration_images"] = min(data.get("calibration_images", 16), 16)
    data["trials"] = min(data.get("trials", 1), 2)
    for block in data["substrate"]:
        if "trials" in block:
            block["trials"] = min(block["trials"], 2)
        axes = [k for k, v in block.items() if isinstance(v, list) and k != "array"]
        for number, key in enumerate(axes):
            block[key] = _first(block[key], 2 if number == 0 else 1)
        if "zip" in block:
            block["zip"] = {k: v[:1] for k, v in block["zip"].items()}
    out = tmp_path / path.name
    out.write_text(_toml(data), encoding="utf-8")
    return out


def _toml(data: dict[str, Any]) -> str:
    """The small TOML subset the examples use (scalars, lists, [pricing], [[substrate]] with [zip])."""
    def value(v: Any) -> str:
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + " }"
        return json.dumps(v)

    def table(items: dict[str, Any]) -> list[str]:
        return [f"{k} = {value(v)}" for k, v in items.items()]

    lines = table({k: v for k, v in data.items() if k not in ("substrate", "pricing")})
    if "pricing" in data:
        lines += ["[pricing]", *table(data["pricing"])]
    for block in data["substrate"]:
        lines += ["[[substrate]]", *table({k: v for k, v in block.items() if k != "zip"})]
        if "zip" in block:
            lines += ["[substrate.zip]", *table(block["zip"])]
    return "\n".join(lines) + "\n"


def _records(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("name", [n for n in EXPERIMENTS if n != "sweep-quick.toml"])
def test_experiment_runs_reduced(name, tmp_path, data_root):
    small = reduced(EXAMPLES / name, tmp_path)
    expected = len(load_experiment(small).points)
    assert 2 <= expected <= 4
    assert main(["run", str(small), "--out", str(tmp_path / "out"), "--workers", "1", "--json"]) == 0
    records = _records(tmp_path / "out")
    assert len(records) == expected
    assert all(r["status"] == "ok" for r in records), [r["error"] for r in records]
    for record in records:
        assert 0 <= record["result"]["accuracy"]["mean"] <= 1
        assert record["result"]["energy"]["per_inference_j"] > 0


def test_sweep_quick_reduced_runs_twice_to_the_same_lines(tmp_path, data_root):
    small = reduced(EXAMPLES / "sweep-quick.toml", tmp_path, limit=8)
    points = load_experiment(small).points
    assert len({p.config["substrate"] for p in points}) >= 2
    out = tmp_path / "out"
    for _ in range(2):
        assert main(["run", str(small), "--out", str(out), "--workers", "1", "--json"]) == 0
        records = _records(out)
        assert len(records) == len(points)
        assert all(r["status"] == "ok" for r in records), [r["error"] for r in records]


def _script(name: str, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, str(EXAMPLES / name), *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_crossbar_python_api_runs_small(data_root):
    out = _script("crossbar_python_api.py", "--limit", "16", "--trials", "2")
    assert "float accuracy" in out
    rows = re.findall(r"^ +[0-9.e+]+ +(?:True|False) +[0-9.]+ ± [0-9.]+$", out, flags=re.M)
    assert len(rows) == 8                            # 4 read times x with / without drift compensation
    assert "J per inference" in out


def test_own_model_and_card_runs_small(data_root):
    out = _script("own_model_and_card.py", "--train-images", "256", "--limit", "16", "--trials", "2",
                  "--timesteps", "4")
    assert "float model" in out
    assert "crossbar (my-rram, 2 chips)" in out
    assert "spiking (T = 4)" in out
    assert out.count("J per inference") == 2
