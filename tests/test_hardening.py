"""Bad input from a careful or an adversarial user: one clear line and exit status 2 (1 for an environment
problem), checked before any work — never a traceback, never a plausible number that is false.

One test per finding of the hardening issue that is not covered where its code lives (cards:
``tests/test_card_fuzz.py``; checkpoints: ``tests/nets/test_checkpoints.py``; data files:
``tests/data/test_data_verify.py``; interrupted runs: ``tests/experiments/test_interrupt.py``).
"""

from __future__ import annotations

import copy
import json
import re
import resource
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from neuroemu.cli import EXIT_INTERRUPTED, main
from neuroemu.commands import mc
from neuroemu.experiments.store import ResultStore

pytestmark = pytest.mark.usefixtures("data_root")  # they run networks on the test set

#: (command line before the output option, the option): every option naming a file or folder a command writes
OUTPUTS = [
    (["mc", "--model", "lenet5-mnist", "--limit", "4"], "--out"),
    (["sc-sweep", "--model", "lenet5-mnist-tanh", "--lengths", "8", "--limit", "4"], "--out"),
    (["sc-sweep", "--model", "lenet5-mnist-tanh", "--lengths", "8", "--limit", "4"], "--plot"),
    (["snn-sweep", "--model", "lenet5-mnist", "--timesteps", "4", "--limit", "4"], "--out"),
    (["snn-sweep", "--model", "lenet5-mnist", "--timesteps", "4", "--limit", "4"], "--plot"),
    (["energy", "--model", "lenet5-mnist", "--substrate", "digital", "--images", "2"], "--out"),
    (["energy", "--model", "lenet5-mnist", "--substrate", "digital", "--images", "2"], "--plot"),
    (["energy", "--model", "lenet5-mnist", "--substrate", "digital", "--images", "2"], "--save-ledger"),
    (["train", "lenet5", "--epochs", "1", "--limit", "8"], "--out"),
]


def _refused(capsys: pytest.CaptureFixture[str], argv: list[str], pattern: str) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert re.search(pattern, err), err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize(("argv", "option"), OUTPUTS, ids=[f"{a[0]} {o}" for a, o in OUTPUTS])
def test_an_output_that_cannot_be_written_is_refused_before_any_work(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], option: str) -> None:
    refused = rf"argument {option}: "
    _refused(capsys, [*argv, option, str(tmp_path)], refused + ".* is a folder; give the path of a file")
    missing = tmp_path / "no-such-folder" / "file"
    _refused(capsys, [*argv, option, str(missing)], refused + "cannot write .*the folder .* does not exist")
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    _refused(capsys, [*argv, option, str(blocker / "x")], refused + ".*the folder .* is not a folder")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]  # nothing written


@pytest.mark.parametrize("command", [["demo", "--quick"], ["report", "results-folder"]])
def test_an_output_folder_that_is_a_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                     command: list[str]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    _refused(capsys, [*command, "--out", str(blocker)],
             r"argument --out: .* is a file; give the path of a folder")


def test_a_checking_probe_leaves_an_existing_output_untouched(tmp_path: Path) -> None:
    from neuroemu.usage import output_file

    kept = tmp_path / "results.jsonl"
    kept.write_text('{"kept": true}\n')
    assert output_file(str(kept)) == kept
    assert kept.read_text() == '{"kept": true}\n'
    assert output_file(str(tmp_path / "new.json")) == tmp_path / "new.json"
    assert not (tmp_path / "new.json").exists()


def test_a_missing_device_file_is_a_usage_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code = main(["mc", "--model", "lenet5-mnist", "--device", str(tmp_path / "none.toml"), "--limit", "2"])
    assert code == 2
    assert "none.toml: no such card file" in capsys.readouterr().err


def test_a_folder_given_as_model_says_so(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["mc", "--model", str(tmp_path), "--limit", "2"]) == 2
    assert "is a folder, not a checkpoint file" in capsys.readouterr().err


def test_ctrl_c_says_how_many_points_were_kept(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "mc.jsonl"

    def interrupted(points, path, **kwargs):  # the first point finished, then Ctrl-C
        with ResultStore(path).writing() as store:
            store.append({"hash": points[0].hash, "status": "ok", "config": points[0].config})
        raise KeyboardInterrupt

    monkeypatch.setattr(mc, "run_command_points", interrupted)
    code = main(["mc", "--model", "lenet5-mnist", "--limit", "2", "--time", "1s,1d", "--out", str(out)])
    assert code == EXIT_INTERRUPTED
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [f"neuroemu mc: interrupted; 1 finished point(s) kept in {out} "
                                        "(run the same command again to resume)"]


def test_a_closed_pipe_ends_quietly() -> None:
    process = subprocess.Popen([sys.executable, "-m", "neuroemu", "cards", "list", "--json"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.read(10)
    process.stdout.close()  # as `| head -c 10` does
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=60) in (0, 141)
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr


@pytest.fixture(scope="module")
def saved_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    path = tmp_path_factory.mktemp("saved") / "run.json"
    assert main(["energy", "--model", "lenet5-mnist", "--substrate", "crossbar", "--images", "2",
                 "--calibration-images", "2", "--json", "--save-ledger", str(path)]) == 0
    return json.loads(path.read_text())


TAMPERED = {
    "the ledger is not a list": lambda s: s.__setitem__("ledger", {"a": 1}),
    "an entry lacks its event": lambda s: s["ledger"][0].pop("event"),
    "a count is negative": lambda s: s["ledger"][0].__setitem__("count", -5),
    "a count is text": lambda s: s["ledger"][0].__setitem__("count", "5"),
    "a count is a float": lambda s: s["ledger"][0].__setitem__("count", 1e300),
    "attributes are a list": lambda s: s["ledger"][0].__setitem__("attrs", [1]),
    "an attribute is null": lambda s: s["ledger"][0]["attrs"].__setitem__("bits", None),
    "a layer is a number": lambda s: s["ledger"][0].__setitem__("layer", 5),
    "inferences are text": lambda s: s.__setitem__("inferences", "3"),
    "options are a list": lambda s: s.__setitem__("options", [1]),
    "the model is an object": lambda s: s.__setitem__("model", {"a": 1}),
    "the card hashes are missing": lambda s: s.pop("card_sha256"),
    "a card differs from the recorded one": lambda s: s.__setitem__("card_sha256",
                                                                    {"rram-wan2022": "0" * 64}),
    "the format is the older /2": lambda s: s.__setitem__("format", "neuroemu-energy-run/2"),
}


@pytest.mark.parametrize("tamper", list(TAMPERED.values()), ids=list(TAMPERED))
def test_a_tampered_saved_run_is_refused_in_one_line(saved_run: dict, tamper, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    damaged = copy.deepcopy(saved_run)
    tamper(damaged)
    path = tmp_path / "tampered.json"
    path.write_text(json.dumps(damaged))
    assert main(["energy", "--from-ledger", str(path), "--json"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("neuroemu energy: error: --from-ledger"), err


def test_the_saved_run_itself_reprices(saved_run: dict, tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    path.write_text(json.dumps(saved_run))
    assert main(["energy", "--from-ledger", str(path), "--json"]) == 0


def test_a_user_card_of_a_built_in_name_is_not_repriced_with_the_built_in(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The user's own rram-wan2022 (100× the read energy) was emulated; re-pricing must not fall back on the
    built-in card of that name."""
    builtin = Path(__file__).resolve().parents[1] / "devices" / "rram-wan2022.toml"
    mine = tmp_path / "mine" / "rram-wan2022.toml"
    mine.parent.mkdir()
    mine.write_text(builtin.read_text().replace('read_pulse_width = "10 ns"', 'read_pulse_width = "1000 ns"'))
    saved = tmp_path / "run.json"
    assert main(["energy", "--model", "lenet5-mnist", "--substrate", "crossbar", "--device", str(mine),
                 "--images", "2", "--calibration-images", "2", "--json", "--save-ledger", str(saved)]) == 0
    capsys.readouterr()
    assert main(["energy", "--from-ledger", str(saved), "--json"]) == 2
    assert "differs from the one found now" in capsys.readouterr().err


class _ReachedWork(Exception):
    """Raised in place of a command's work: the command accepted every option."""


def _stop(*args, **kwargs):
    raise _ReachedWork


_ENERGY = "neuroemu.commands.energy.run_command_points"
#: (command line that runs, the module attribute that starts its work)
FUZZED = [
    (["mc", "--model", "lenet5-mnist"], "neuroemu.commands.mc.run_command_points"),
    (["sc-sweep", "--model", "lenet5-mnist-tanh"], "neuroemu.commands.sc_sweep.run_command_points"),
    (["snn-sweep", "--model", "lenet5-mnist"], "neuroemu.commands.snn_sweep.run_command_points"),
    (["energy", "--model", "lenet5-mnist", "--substrate", "crossbar"], _ENERGY),
    (["energy", "--model", "lenet5-mnist-tanh", "--substrate", "stochastic"], _ENERGY),
    (["energy", "--model", "lenet5-mnist", "--substrate", "spiking"], _ENERGY),
    (["eval", "--model", "lenet5-mnist"], "neuroemu.commands.evaluate.evaluate_model"),
    (["train", "lenet5", "--out", "unused.pt"], "neuroemu.commands.train.train"),
]
#: values no numeric option may accept
NEVER = ["abc", "nan", "-nan", "inf", "-inf", "1e999", ""]
#: values an option may accept or must refuse in one line
MAYBE = ["0", "-1", "-7", "1.5", "0.0", "1e-30", "99999999999999999999999"]
#: options that do not take numbers
NOT_NUMERIC = {"--model", "--substrate", "--out", "--plot", "--path", "--device", "--card", "--from-ledger",
               "--save-ledger", "--dataset", "--help", "--block", "--sng", "--mode", "--encoding", "--reset",
               "--counter", "--mapping", "--scaling", "--input-mode", "--quant", "--activation", "--pooling",
               "--weight-memory", "--blocks", "--network", "--optimizer", "--backend", "--preset", "--repair",
               "--hwa", "--init", "--input-accounting", "--mux-select", "--slicing", "--array", "--lengths",
               "--time", "--read-noise", "--input-management", "--bound-management",
               "--drift-estimate", "--ir-drop", "--wire"}


def _value_options(argv: list[str]) -> list[str]:
    from neuroemu.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices[argv[0]]
    return sorted(o for a in sub._actions if a.option_strings and a.nargs is None and a.const is None
                  and not isinstance(a.default, bool) for o in a.option_strings[:1] if o not in NOT_NUMERIC)


@pytest.mark.parametrize(("argv", "work"), FUZZED, ids=[" ".join(a[::4]) for a, _ in FUZZED])
def test_numeric_options_refuse_bad_values_in_one_line(argv: list[str], work: str, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(work, _stop)
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = _virtual_memory() + 6 * 2**30  # a runaway allocation fails here instead of exhausting the machine
    resource.setrlimit(resource.RLIMIT_AS, (cap if hard == resource.RLIM_INFINITY else min(cap, hard), hard))
    try:
        _fuzz(argv, capsys)
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _virtual_memory() -> int:
    """This process's virtual memory size in bytes (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmSize in /proc/self/status")


def _fuzz(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    tried = 0
    for option in _value_options(argv):
        for value in NEVER + MAYBE:
            tried += 1
            try:
                code = main([*argv, f"{option}={value}"])
            except SystemExit as exc:
                code = exc.code
            except _ReachedWork:
                assert value not in NEVER, f"{option} {value!r} was accepted"
                continue
            err = capsys.readouterr().err.strip()
            assert code == 2, f"{option} {value!r}: exit {code}: {err}"
            assert "Traceback" not in err, err
            assert err.splitlines()[-1].startswith(f"neuroemu {argv[0]}: error"), err
    assert tried > 0


@pytest.mark.parametrize("value", ["-5", "0"])
def test_a_batch_size_below_one_is_refused(capsys: pytest.CaptureFixture[str], value: str) -> None:
    """Finding 1: ``--batch-size -5`` printed 0.00 % and exited 0; ``0`` silently meant the default."""
    assert main(["mc", "--model", "lenet5-mnist", "--limit", "2", "--batch-size", value]) == 2
    assert f"--batch-size must be a positive integer, got {value}" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["sc-sweep", "--lengths", "8"],
                                     ["snn-sweep", "--timesteps", "2", "--calibration-images", "8"]])
def test_resuming_after_the_model_file_was_replaced_runs_the_points_again(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]) -> None:
    """Finding 2: the resume key was the model's path, so a new model got the old model's accuracies."""
    from neuroemu.nets import load_checkpoint, save_checkpoint

    model = tmp_path / "model.pt"
    name = "lenet5-mnist-tanh" if command[0] == "sc-sweep" else "lenet5-mnist"
    original = load_checkpoint(name)
    net = original.build()
    save_checkpoint(net, model, dataset="mnist", normalize=original.normalize, provenance={})
    out = tmp_path / "sweep.jsonl"
    argv = [*command, "--model", str(model), "--limit", "20", "--out", str(out), "--json"]
    assert main(argv) == 0
    first = json.loads(capsys.readouterr().out)
    with torch.no_grad():
        for parameter in net.parameters():
            parameter.mul_(-1)  # another network in the same file
    save_checkpoint(net, model, dataset="mnist", normalize=original.normalize, provenance={})
    assert main(argv) == 0
    second = json.loads(capsys.readouterr().out)
    assert len(out.read_text().splitlines()) == 2  # the point ran again for the new file
    assert first["points"][0]["accuracy"] != second["points"][0]["accuracy"]
