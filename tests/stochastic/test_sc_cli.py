import json
from pathlib import Path

import pytest

from neuroemu.cli import main
from neuroemu.nets import LeNet5, save_checkpoint


def test_sweep_json_shape_and_resume(data_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "points.jsonl"
    args = ["sc-sweep", "--lengths", "8,16", "--limit", "6", "--block", "apc-max-btanh", "--sng", "lfsr",
            "--json", "--out", str(out)]
    assert main(args) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) == {"model", "sc_model", "block", "blocks", "sng", "n_images", "mux_select", "counter",
                           "fp_accuracy", "points", "warnings"}
    assert result["model"] == result["sc_model"] == "lenet5-mnist-tanh"
    assert result["n_images"] == 6 and result["sng"] == "lfsr"
    assert [p["length"] for p in result["points"]] == [8, 16]
    for point in result["points"]:
        assert set(point) == {"length", "accuracy", "wall_s", "ledger"}
        assert 0 <= point["accuracy"] <= 1
        assert point["ledger"]["totals"]["sc_gate_cycle"] > 0
    lines = out.read_text().splitlines()
    assert len(lines) == 2
    # a second run with one more length reuses the finished points and appends only the new one
    assert main([*args[:2], "8,16,4", *args[3:]]) == 0
    again = json.loads(capsys.readouterr().out)
    assert [p["length"] for p in again["points"]] == [4, 8, 16]  # sorted
    assert again["points"][1:] == result["points"]
    assert len(out.read_text().splitlines()) == 3


def test_sweep_table_and_plot(data_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    plot = tmp_path / "sweep.png"
    assert main(["sc-sweep", "--lengths", "4", "--limit", "3", "--plot", str(plot)]) == 0
    text = capsys.readouterr().out
    assert "accuracy" in text and "length" in text
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(("flag", "value", "known"), [
    ("--block", "apc-min-relu", "apc-max-btanh"),
    ("--sng", "dice", "sobol"),
    ("--model", "nope", "lenet5-mnist"),
    ("--lengths", "8,zero", "positive integers"),
    ("--mux-select", "random", "uniform"),
    ("--counter", "fast", "exact"),
])
def test_unknown_names_exit_2(flag: str, value: str, known: str, capsys: pytest.CaptureFixture) -> None:
    assert main(["sc-sweep", flag, value, "--limit", "2"]) == 2
    assert known in capsys.readouterr().err


@pytest.mark.parametrize(("block", "twin"), [("apc-max-btanh", "lenet5-mnist-tanh"),
                                             ("apc-avg-btanh", "lenet5-mnist-tanh-avg")])
def test_shipped_relu_name_runs_its_tanh_twin(block: str, twin: str, data_root: Path,
                                              capsys: pytest.CaptureFixture) -> None:
    assert main(["sc-sweep", "--model", "lenet5-mnist", "--block", block, "--lengths", "4", "--limit", "2",
                 "--json"]) == 0
    out = capsys.readouterr()
    result = json.loads(out.out)
    assert result["model"] == "lenet5-mnist" and result["sc_model"] == twin
    assert twin in out.err and "ReLU" in out.err


def test_relu_model_file_is_a_usage_error(data_root: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture) -> None:
    path = save_checkpoint(LeNet5(), tmp_path / "relu.pt", dataset="mnist", normalize="unit", provenance={})
    assert main(["sc-sweep", "--model", str(path), "--lengths", "4", "--limit", "2", "--json"]) == 2
    assert "tanh" in capsys.readouterr().err
