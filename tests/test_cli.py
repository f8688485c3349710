"""The command line, run as a user runs it: in a subprocess."""

import json
import os
import subprocess
import sys

import pytest

from neuroemu.nets import load_checkpoint


def neuroemu(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "neuroemu", *args], capture_output=True, text=True,
                          env=os.environ.copy(), timeout=600)


def test_help_lists_commands():
    result = neuroemu("--help")
    assert result.returncode == 0
    for command in ("demo", "train", "eval", "cards"):
        assert command in result.stdout


def test_eval_json(data_root):
    result = neuroemu("eval", "--model", "lenet5-mnist", "--limit", "500", "--json")
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert {"model", "dataset", "accuracy", "n_images", "wall_s"} <= set(record)
    assert record["model"] == "lenet5-mnist" and record["dataset"] == "mnist"
    assert record["n_images"] == 500
    assert 0.95 <= record["accuracy"] <= 1.0


@pytest.mark.parametrize(
    "args,known",
    [
        (["eval", "--model", "nope"], "lenet5-mnist"),
        (["eval", "--model", "lenet5-mnist", "--dataset", "cifar10"], "fashion-mnist"),
        (["train", "lenet5", "--dataset", "cifar10", "--out", "x.pt"], "mnist"),
        (["train", "resnet", "--out", "x.pt"], "lenet5"),
        (["cards", "show", "no-such-card"], "ideal"),
    ],
)
def test_unknown_names_exit_2_listing_known(args, known):
    result = neuroemu(*args)
    assert result.returncode == 2
    assert known in result.stderr


def test_bad_option_value_exits_2():
    result = neuroemu("eval", "--model", "lenet5-mnist", "--limit", "0")
    assert result.returncode == 2 and "positive" in result.stderr


def test_cards_list_and_show():
    listing = neuroemu("cards", "list", "--json")
    assert listing.returncode == 0, listing.stderr
    names = {card["name"] for card in json.loads(listing.stdout)}
    assert {"ideal", "adc-sar-isaac-8b"} <= names
    shown = neuroemu("cards", "show", "adc-sar-isaac-8b")
    assert shown.returncode == 0 and "ISAAC" in shown.stdout


def test_train_writes_a_loadable_checkpoint(tmp_path, data_root):
    out = tmp_path / "tiny.pt"
    result = neuroemu("train", "lenet5", "--dataset", "mnist", "--epochs", "1", "--limit", "256",
                      "--seed", "1", "--activation", "tanh", "--lrn", "--out", str(out), "--quiet")
    assert result.returncode == 0, result.stderr
    assert load_checkpoint(out).config == {"activation": "tanh", "pooling": "max", "lrn": True}
    evaluated = neuroemu("eval", "--model", str(out), "--limit", "100", "--json")
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads(evaluated.stdout)["n_images"] == 100


def test_quick_demo_ends_in_one_table_and_a_report_and_resumes(data_root, tmp_path):
    out = tmp_path / "demo"
    result = neuroemu("demo", "--quick", "--limit", "20", "--out", str(out))
    assert result.returncode == 0, result.stderr
    for heading in ("Shipped networks", "LeNet-5 on every substrate", "energy vs 8-bit digital", "report:"):
        assert heading in result.stdout
    for name in ("lenet5-fashion", "digital: bits=8", "lowbit", "crossbar: device=pcm-joshi2020",
                 "sttram-pmtj", "stochastic: length=1024", "spiking: timesteps=32",
                 "spiking: timesteps=16, device=rram-wan2022"):
        assert name in result.stdout
    assert "Warning" not in result.stderr  # warnings are summarised once, not printed by Python
    assert (out / "report" / "report.md").is_file()
    lines = (out / "results.jsonl").read_text().splitlines()
    again = neuroemu("demo", "--quick", "--limit", "20", "--out", str(out))
    assert again.returncode == 0 and (out / "results.jsonl").read_text().splitlines() == lines


def test_train_bad_shift_exits_2(tmp_path):
    result = neuroemu("train", "lenet5", "--shift", "-1", "--out", str(tmp_path / "x.pt"))
    assert result.returncode == 2 and "shift" in result.stderr
