"""Killing ``neuroemu run`` at any moment (SIGKILL or SIGINT) loses at most the points in flight and never
leaves a damaged or duplicated line: a study killed at seeded random moments and started again ends with
every point exactly once, the same as an uninterrupted run. A process pool stops at once on SIGINT and
leaves no worker behind when its parent is killed."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from neuroemu.experiments.experiment import load_experiment
from neuroemu.experiments.store import ResultStore

pytestmark = pytest.mark.slow

VOLATILE = ("wall_s", "finished", "versions")

#: 31 fast points: digital (~20 ms each), lowbit, stochastic (~0.1 s each)
EXPERIMENT = """\
name = "interrupt"
limit = 400
calibration_images = 8
[[substrate]]
name = "digital"
model = ["lenet5-mnist", "lenet5-fashion"]
bits = [4, 6, 8, 10, 12, 16, 24, 32]
[[substrate]]
name = "lowbit"
model = ["lenet5-mnist-ternary", "lenet5-mnist-xnor", "lenet5-fashion-ternary", "lenet5-fashion-xnor"]
[[substrate]]
name = "stochastic"
model = "lenet5-mnist-tanh"
limit = 60
length = [8, 12, 16, 20, 24, 28, 32, 40, 48, 56, 64]
"""

#: 44 slower points (~0.25 s each): a pool of two is still busy seconds after its first results
SLOW = """\
name = "slow"
model = "lenet5-mnist-tanh"
limit = 100
calibration_images = 8
[[substrate]]
name = "stochastic"
length = [8, 12, 16, 20, 24, 28, 32, 40, 48, 56, 64]
sng = ["sobol", "lfsr", "halton", "random"]
"""


def start(experiment: Path, out: Path, *flags: str) -> subprocess.Popen:
    """``neuroemu run`` in its own session, with SIGINT's default action (a test runner started in the
    background would otherwise pass SIGINT on as ignored)."""
    return subprocess.Popen([sys.executable, "-m", "neuroemu", "run", str(experiment), "--out", str(out),
                             "--json", *flags], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def raw_lines(path: Path) -> list[bytes]:
    """The file's complete lines (a last piece without its newline, cut short by a kill, left out)."""
    return path.read_bytes().split(b"\n")[:-1] if path.exists() else []


def wait_for_lines(path: Path, count: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while len(raw_lines(path)) < count and process.poll() is None:
        assert time.monotonic() < deadline, f"no result line {count} after {timeout} s"
        time.sleep(0.01)


def stable(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in VOLATILE}


def check_file(path: Path) -> list[dict[str, Any]]:
    """Every complete line parses and no hash is there twice with status ok; the store reads it."""
    records = [json.loads(line) for line in raw_lines(path)]
    ok = [r["hash"] for r in records if r["status"] == "ok"]
    assert len(ok) == len(set(ok)), "a point recorded twice"
    ResultStore(path).records()
    return records


def test_killed_runs_resume_without_loss_or_duplicates(tmp_path: Path, data_root: Path):
    experiment = tmp_path / "interrupt.toml"
    experiment.write_text(EXPERIMENT)
    out = tmp_path / "out"
    results = out / "results.jsonl"
    rng = random.Random(20240611)
    interrupted = 0
    for round_ in range(8):
        before = results.read_bytes() if results.exists() else b""
        process = start(experiment, out, "--workers", "1")
        if round_ % 2 == 0:  # any moment: starting up, expanding the grid, running or writing
            time.sleep(rng.uniform(0.3, 3.0))
        else:  # while points are being recorded
            wait_for_lines(results, len(raw_lines(results)) + rng.randint(1, 3), process)
            time.sleep(rng.uniform(0, 0.15))
        process.send_signal(signal.SIGKILL if round_ % 4 in (0, 1) else signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
        interrupted += process.returncode != 0
        assert process.returncode in (0, -signal.SIGKILL, -signal.SIGINT, 130), stderr
        if process.returncode == 130:  # Ctrl-C: one line saying what was kept, no traceback
            assert "Traceback" not in stderr and "interrupted" in stderr, stderr
        kept = before[:before.rfind(b"\n") + 1]
        assert results.read_bytes().startswith(kept) if kept else True, "a recorded line was changed"
        check_file(results)
    assert interrupted >= 6

    data = results.read_bytes()  # a file cut by hand in the middle of its last line
    last_start = data.rfind(b"\n", 0, len(data) - 1) + 1
    results.write_bytes(data[:last_start + (len(data) - last_start) // 2])

    points = load_experiment(experiment).points
    missing = {p.hash for p in points} - {r["hash"] for r in check_file(results) if r["status"] == "ok"}
    lines_before = len(raw_lines(results))
    final = start(experiment, out, "--workers", "1")
    stdout, stderr = final.communicate(timeout=120)
    assert final.returncode == 0, stderr
    assert f"{len(points)} points, {len(missing)} to run" in stderr
    assert json.loads(stdout)["failed"] == 0

    records = check_file(results)
    assert all(line.strip() for line in raw_lines(results)) and results.read_bytes().endswith(b"\n")
    assert {r["hash"] for r in records[lines_before:]} == missing
    assert len(records[lines_before:]) == len(missing)
    assert {r["hash"] for r in records if r["status"] == "ok"} == {p.hash for p in points}
    # uninterrupted, in a fresh process like the runs above (this test process carries the state of every
    # test before it, which the runs it is compared with never saw)
    uninterrupted = start(experiment, tmp_path / "reference", "--workers", "1")
    _, stderr = uninterrupted.communicate(timeout=300)
    assert uninterrupted.returncode == 0, stderr
    reference = {r["hash"]: stable(r) for r in check_file(tmp_path / "reference" / "results.jsonl")}
    last = {r["hash"]: stable(r) for r in records}
    differing = {p.hash: _differences(last[p.hash], reference[p.hash]) for p in points
                 if last[p.hash] != reference[p.hash]}
    stochastic = {h: d for h, d in differing.items() if last[h]["config"]["substrate"] == "stochastic"}
    assert not differing.keys() - stochastic.keys(), differing
    if stochastic:  # a known bug, not one of resuming: the same SC point computed in two processes can differ
        pytest.xfail(f"known: bit-exact SC results differ between processes (issue 16): {stochastic}")


def _differences(got: Any, want: Any, path: str = "") -> list[str]:
    """Where two records differ: ``path: got != want`` for every differing leaf."""
    if isinstance(got, dict) and isinstance(want, dict):
        return [d for k in sorted(set(got) | set(want)) for d in _differences(got.get(k), want.get(k),
                                                                               f"{path}.{k}")]
    return [] if got == want else [f"{path}: {str(got)[:120]} != {str(want)[:120]}"]


@pytest.fixture
def slow(tmp_path: Path) -> Path:
    experiment = tmp_path / "slow.toml"
    experiment.write_text(SLOW)
    return experiment


def _session(process: subprocess.Popen) -> list[int]:
    """The processes still alive in ``process``'s session (it leads one of its own)."""
    alive = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getsid(int(entry.name)) == process.pid:
                    alive.append(int(entry.name))
            except (ProcessLookupError, PermissionError):
                continue
    return alive


def _gone(process: subprocess.Popen, timeout: float = 15) -> list[int]:
    """Wait until ``process``'s session is empty; what is still alive after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while _session(process) and time.monotonic() < deadline:
        time.sleep(0.1)
    return _session(process)


@pytest.mark.parametrize("flags", [("--workers", "2"), ("--dask-local", "2")], ids=["pool", "dask"])
def test_sigint_stops_the_workers_at_once(flags: tuple[str, ...], slow: Path, tmp_path: Path,
                                          data_root: Path):
    if flags[0] == "--dask-local":
        pytest.importorskip("distributed")
    out = tmp_path / "out"
    process = start(slow, out, *flags)
    try:
        wait_for_lines(out / "results.jsonl", 2, process)
        sent = time.monotonic()
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
        stopped = time.monotonic() - sent
        left = _gone(process)
    finally:
        process.kill()
        for pid in _session(process):
            os.kill(pid, signal.SIGKILL)
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr and "the same command runs the rest" in stderr
    done = len(check_file(out / "results.jsonl"))
    limit = 3 if flags[0] == "--workers" else 10  # a Dask cluster takes seconds to close
    assert done < 44 and stopped < limit, f"{done} points recorded, stopped after {stopped:.1f} s"
    assert not left, f"processes left running: {left}"


def test_a_killed_process_pool_leaves_no_worker_behind(slow: Path, tmp_path: Path, data_root: Path):
    out = tmp_path / "out"
    process = start(slow, out, "--workers", "2")
    try:
        wait_for_lines(out / "results.jsonl", 1, process)
        assert len(_session(process)) >= 3  # the command and its two workers
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=60)
        left = _gone(process)
    finally:
        for pid in _session(process):
            os.kill(pid, signal.SIGKILL)
    assert not left, f"processes left running after their parent was killed: {left}"
    check_file(out / "results.jsonl")
