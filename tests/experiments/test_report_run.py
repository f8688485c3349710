"""``neuroemu report`` on a real results file: a tiny experiment over every plotted kind of point (16 test
images) run with the runner, then the command in-process; and its usage errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from neuroemu.cli import main
from neuroemu.experiments.experiment import parse_experiment
from neuroemu.experiments.runner import run_points
from neuroemu.experiments.store import ResultStore

PNG = b"\x89PNG\r\n\x1a\n"
TINY = {"name": "tiny", "model": "lenet5-mnist", "limit": 16, "calibration_images": 16, "trials": 2,
        "substrate": [{"name": "digital", "bits": [8]},
                      {"name": "crossbar", "device": "rram-wan2022", "time": ["1s", "1d"],
                       "drift_compensation": [False, True]},
                      {"name": "stochastic", "model": "lenet5-mnist-tanh", "length": [16, 32]},
                      {"name": "spiking", "timesteps": [4, 8]}]}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory, data_root: Path) -> Path:
    folder = tmp_path_factory.mktemp("tiny")
    records = run_points(parse_experiment(TINY).points, ResultStore(folder / "results.jsonl"))
    assert [r["status"] for r in records] == ["ok"] * 9
    return folder


def test_report_of_a_real_run(results, tmp_path, capsys):
    out = tmp_path / "new" / "report"
    assert main(["report", str(results), "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out / "report.md")
    text = (out / "report.md").read_text()
    assert text.startswith("# Report: tiny\n\n9 points: 9 ok, 0 failed.")
    expected = ["accuracy-vs-energy-lenet5-on-mnist.png", "accuracy-vs-length.png",
                "accuracy-vs-timesteps.png", "monte-carlo.png", "energy-breakdown.png"]
    assert [line.split("](")[1][:-1] for line in text.splitlines() if line.startswith("![")] == expected
    for name in expected:
        assert (out / name).read_bytes()[:8] == PNG
    for substrate in ("digital", "crossbar", "stochastic", "spiking"):
        assert f"### {substrate}\n" in text
    # the float and the tanh LeNet-5 on MNIST are one network in the key picture
    assert "Pareto front of `lenet5 on mnist`:" in text and "(lenet5-mnist, lenet5-mnist-tanh)" in text
    assert "2 chip instances (trials) each" in text
    assert "Failed points" not in text and "Plots not made" not in text
    # a record's numbers reach the table: the digital point's accuracy
    digital = next(r for r in ResultStore(results / "results.jsonl").records().values()
                   if r["config"]["substrate"] == "digital")
    assert f"| #1 | 8 | lenet5-mnist | {100 * digital['result']['accuracy']['mean']:.2f} ± " in text
    # run again into the same folder: the same report
    assert main(["report", str(results), "--out", str(out)]) == 0
    assert (out / "report.md").read_text() == text


def test_report_of_a_failed_point(results, tmp_path):
    folder = tmp_path / "with-failure"
    folder.mkdir()
    lines = (results / "results.jsonl").read_text().splitlines()
    failed = json.loads(lines[0])
    failed.update(hash="f" * 16, status="failed", result=None, error="RuntimeError: out of memory")
    (folder / "results.jsonl").write_text("\n".join([*lines, json.dumps(failed)]) + "\n")
    assert main(["report", str(folder), "--out", str(tmp_path / "r")]) == 0
    text = (tmp_path / "r" / "report.md").read_text()
    assert "10 points: 9 ok, 1 failed." in text
    assert "| crossbar | lenet5-mnist |" in text or "| digital | lenet5-mnist |" in text
    assert "RuntimeError: out of memory" in text


def test_missing_results_file(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nowhere"), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "neuroemu report: error: no results file" in err and "nowhere/results.jsonl" in err
    assert not (tmp_path / "r").exists()


def test_damaged_results_file(tmp_path, capsys):
    (tmp_path / "results.jsonl").write_text('{"hash": "abc", "status": "ok", "config": {}}\nnot json\n{}\n')
    assert main(["report", str(tmp_path), "--out", str(tmp_path / "r")]) == 2
    assert "line 2 is not JSON" in capsys.readouterr().err


def test_results_file_lacking_fields(tmp_path, capsys):
    (tmp_path / "results.jsonl").write_text('{"hash": "abc", "status": "ok", "config": {}}\n')
    assert main(["report", str(tmp_path), "--out", str(tmp_path / "r")]) == 2
    assert "result abc: no field config.substrate" in capsys.readouterr().err


def test_binary_results_file(tmp_path, capsys):
    (tmp_path / "results.jsonl").write_bytes(b"\xff\xfe\x00garbage\n")
    assert main(["report", str(tmp_path), "--out", str(tmp_path / "r")]) == 2
    assert "line 1 is not JSON" in capsys.readouterr().err


def test_out_is_a_file(tmp_path, capsys):
    (tmp_path / "results.jsonl").write_text("")
    (tmp_path / "taken").write_text("x")
    with pytest.raises(SystemExit) as exit_info:  # refused when the option is read
        main(["report", str(tmp_path), "--out", str(tmp_path / "taken")])
    assert exit_info.value.code == 2
    assert "taken is a file; give the path of a folder" in capsys.readouterr().err


def test_empty_results_file(tmp_path):
    (tmp_path / "results.jsonl").write_text("")
    assert main(["report", str(tmp_path), "--out", str(tmp_path / "r")]) == 0
    assert "holds no points" in (tmp_path / "r" / "report.md").read_text()
