"""``neuroemu rpu-train --out``: one line per finished epoch, a checkpoint beside it, and a resumed run that
ends exactly where an uninterrupted one does (test errors, losses, ledger, energy)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from neuroemu.cards import load_card
from neuroemu.cli import EXIT_INTERRUPTED, main
from neuroemu.devices.training import update_model
from neuroemu.experiments.epochs import checkpoint_path
from neuroemu.rpu.network import RpuMlp
from neuroemu.rpu.tile import TileConfig

SMALL = ["rpu-train", "--train-limit", "300", "--test-limit", "200", "--json", "--dac-bits", "8",
         "--adc-bits", "8"]


def _run(capsys, *argv: str) -> dict:
    assert main([*SMALL, *argv]) == 0
    return json.loads(capsys.readouterr().out)


def _same_run(a: dict, b: dict) -> None:
    """Equal in everything but the wall times."""
    for key in ("epochs", "fp_epochs"):
        assert [{k: v for k, v in e.items() if k != "wall_s"} for e in a[key]] == \
            [{k: v for k, v in e.items() if k != "wall_s"} for e in b[key]]
    assert {k: v for k, v in a.items() if k not in ("epochs", "fp_epochs")} == \
        {k: v for k, v in b.items() if k not in ("epochs", "fp_epochs")}


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize("extra", [[], ["--optimizer", "tiki-taka", "--device", "pcm-pair-nandakumar2020",
                                        "--no-fp"]], ids=["sgd-rpu", "tiki-taka-pcm"])
def test_a_run_resumed_after_epoch_1_ends_as_an_uninterrupted_one(tmp_path, capsys, extra):
    whole = _run(capsys, "--epochs", "3", *extra)
    out = tmp_path / "run.jsonl"
    first = _run(capsys, "--epochs", "1", "--out", str(out), *extra)
    curves = 1 if "--no-fp" in extra else 2
    assert len(_lines(out)) == curves and checkpoint_path(out).exists()
    assert first["epochs"][0]["test_error"] == whole["epochs"][0]["test_error"]
    resumed = _run(capsys, "--epochs", "3", "--out", str(out), *extra)
    _same_run(whole, resumed)
    lines = _lines(out)
    assert [(r["config"]["curve"], r["config"]["epoch"]) for r in lines][:curves] == \
        [(c, 1) for c in ("rpu", "fp")[:curves]]
    assert len(lines) == 3 * curves
    # a finished run is read back from the file, nothing trained; fewer epochs come from its lines too
    _same_run(whole, _run(capsys, "--epochs", "3", "--out", str(out), *extra))
    one = _run(capsys, "--epochs", "1", "--out", str(out), *extra)
    assert one["ledger"] == first["ledger"] and one["energy"] == first["energy"]


def test_a_run_killed_in_epoch_2_resumes_from_epoch_1(tmp_path, capsys, monkeypatch):
    whole = _run(capsys, "--epochs", "3")
    out = tmp_path / "run.jsonl"
    original = RpuMlp.train_epoch
    calls = []

    def train_then_die(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(RpuMlp, "train_epoch", train_then_die)
    assert main([*SMALL, "--epochs", "3", "--out", str(out)]) == EXIT_INTERRUPTED
    assert "run the same command again to resume" in capsys.readouterr().err
    assert [r["config"]["epoch"] for r in _lines(out)] == [1, 1]
    saved = torch.load(checkpoint_path(out), weights_only=True)
    assert saved["epoch"] == 1
    monkeypatch.setattr(RpuMlp, "train_epoch", original)
    _same_run(whole, _run(capsys, "--epochs", "3", "--out", str(out)))


def test_lines_lost_after_the_checkpoint_and_a_torn_line_are_repaired(tmp_path, capsys):
    out = tmp_path / "run.jsonl"
    two = _run(capsys, "--epochs", "2", "--out", str(out))
    lines = out.read_text().splitlines(keepends=True)
    assert len(lines) == 4
    # killed after the epoch-2 checkpoint, while its first line was half written
    out.write_text("".join(lines[:2]) + lines[2][:40])
    again = _run(capsys, "--epochs", "2", "--out", str(out))
    _same_run(two, again)
    assert [(r["config"]["curve"], r["config"]["epoch"]) for r in _lines(out)] == \
        [("rpu", 1), ("fp", 1), ("rpu", 2), ("fp", 2)]


@pytest.mark.parametrize("argv, option", [(["--lr", "0.02"], "--lr"), (["--bl", "5"], "--bl"),
                                          (["--no-fp"], "--no-fp"), (["--seed", "1"], "--seed"),
                                          (["--adc-bits", "6"], "--adc-bits")])
def test_a_file_of_other_options_is_not_resumed(tmp_path, capsys, argv, option):
    out = tmp_path / "run.jsonl"
    _run(capsys, "--epochs", "1", "--out", str(out))
    assert main([*SMALL, "--epochs", "2", "--out", str(out), *argv]) == 2
    err = capsys.readouterr().err
    assert option in err and "resume" in err


def test_damaged_or_missing_checkpoints_are_refused(tmp_path, capsys):
    out = tmp_path / "run.jsonl"
    _run(capsys, "--epochs", "1", "--out", str(out))
    checkpoint_path(out).write_bytes(b"not a checkpoint")
    assert main([*SMALL, "--epochs", "2", "--out", str(out)]) == 2
    assert "not a readable checkpoint" in capsys.readouterr().err
    checkpoint_path(out).unlink()
    assert main([*SMALL, "--epochs", "2", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "1 finished epoch(s)" in err and "missing" in err
    other = tmp_path / "mc.jsonl"
    other.write_text(json.dumps({"hash": "x", "status": "ok", "config": {"experiment": "mc"}}) + "\n")
    assert main([*SMALL, "--epochs", "1", "--out", str(other)]) == 2
    assert "'mc'" in capsys.readouterr().err


@pytest.mark.parametrize("optimizer", ["sgd", "tiki-taka"])
@pytest.mark.parametrize("device", ["rpu-gokmen2016", "rram-agsi-neurosim", "pcm-pair-nandakumar2020"])
def test_network_state_round_trips_through_a_weights_only_file(tmp_path, device, optimizer):
    gen = torch.Generator().manual_seed(9)
    images, labels = torch.rand(150, 12, generator=gen), torch.randint(0, 3, (150,), generator=gen)

    def build() -> RpuMlp:
        return RpuMlp(update_model(load_card(device)), TileConfig(), seed=4, sizes=(12, 8, 3),
                      optimizer=optimizer, tt_every=3)

    first = build()
    first.train_epoch(images, labels)
    torch.save(first.state(), tmp_path / "state.pt")
    first.train_epoch(images, labels)
    second = build()
    second.load_state(torch.load(tmp_path / "state.pt", weights_only=True))
    second.train_epoch(images, labels)
    assert all(torch.equal(a, b) for a, b in zip(first.weights(), second.weights(), strict=True))
    assert first.training_ledger() == second.training_ledger()
    other = RpuMlp(update_model(load_card(device)), TileConfig(), seed=4, sizes=(12, 8, 3),
                   optimizer="tiki-taka" if optimizer == "sgd" else "sgd")
    with pytest.raises(ValueError, match="does not fit"):
        other.load_state(first.state())
