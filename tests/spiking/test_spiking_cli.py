import json
from pathlib import Path

import pytest

from neuroemu.cli import main


def test_snn_sweep_json_shape_and_resume(data_root: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "points.jsonl"
    args = ["snn-sweep", "--timesteps", "4,16", "--limit", "20", "--calibration-images", "32", "--json",
            "--out", str(out)]
    assert main(args) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) == {"model", "encoding", "reset", "percentile", "seed", "n_images", "fp_accuracy",
                           "scales", "points"}
    assert result["model"] == "lenet5-mnist" and result["n_images"] == 20 and len(result["scales"]) == 4
    assert [p["timesteps"] for p in result["points"]] == [4, 16]
    for point in result["points"]:
        assert set(point) == {"timesteps", "accuracy", "wall_s", "ledger"}
        assert point["ledger"]["totals"]["synaptic_op"] > 0
    four, sixteen = result["points"]
    assert sixteen["ledger"]["totals"]["neuron_update"] == 4 * four["ledger"]["totals"]["neuron_update"]
    assert len(out.read_text().splitlines()) == 2
    assert main([*args[:2], "16,4,8", *args[3:]]) == 0  # reuses 4 and 16, runs and appends 8 only
    again = json.loads(capsys.readouterr().out)
    assert [p["timesteps"] for p in again["points"]] == [4, 8, 16]
    assert [again["points"][0], again["points"][2]] == result["points"]
    assert len(out.read_text().splitlines()) == 3


def test_snn_sweep_table_and_plot(data_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    plot = tmp_path / "snn.png"
    assert main(["snn-sweep", "--timesteps", "4", "--limit", "3", "--calibration-images", "8", "--encoding",
                 "poisson", "--plot", str(plot)]) == 0
    text = capsys.readouterr().out
    assert "time steps" in text and "poisson input" in text
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(("flag", "value", "known"), [
    ("--encoding", "burst", "constant"),
    ("--reset", "soft", "subtract"),
    ("--model", "nope", "lenet5-mnist"),
    ("--model", "lenet5-mnist-tanh", "'act1' (Tanh)"),
    ("--timesteps", "8,zero", "positive integers"),
    ("--limit", "0", "--limit must be a positive integer"),
])
def test_snn_sweep_bad_values_exit_2(flag: str, value: str, known: str, data_root: Path,
                                     capsys: pytest.CaptureFixture) -> None:
    assert main(["snn-sweep", flag, value, "--limit", "2"] if flag != "--limit" else
                ["snn-sweep", flag, value]) == 2
    assert known in capsys.readouterr().err


def test_energy_calibrates_the_spiking_network_as_snn_sweep_does(data_root: Path,
                                                                  capsys: pytest.CaptureFixture) -> None:
    """energy --substrate spiking prices the network snn-sweep measures: 256 calibration images unless
    told otherwise (not the 64 of the other substrates)."""
    base = ["energy", "--model", "lenet5-mnist", "--substrate", "spiking", "--timesteps", "4", "--images",
            "2", "--json"]
    energies = []
    for extra in ([], ["--calibration-images", "256"], ["--calibration-images", "64"]):
        assert main([*base, *extra]) == 0
        energies.append(json.loads(capsys.readouterr().out)["energy_per_inference_j"])
    assert energies[0] == energies[1] != energies[2]
