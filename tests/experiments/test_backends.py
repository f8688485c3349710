"""The same points give the same results lines on every backend (in-process, process pool, Dask), failed
points included; the Dask backend connects to a running scheduler, runs one torch thread per task, and
says how to install the extra when dask is missing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from neuroemu.experiments.dask_backend import DaskBackend, DaskUnavailableError, run_task
from neuroemu.experiments.experiment import parse_experiment
from neuroemu.experiments.point import Point
from neuroemu.experiments.runner import PoolBackend, SerialBackend, run_points
from neuroemu.experiments.store import ResultStore
from neuroemu.nets.checkpoints import resolve_model

#: what differs between two runs of one point: when and how fast it ran, and with what
VOLATILE = ("wall_s", "finished", "versions")


def stable(record: dict[str, Any]) -> dict[str, Any]:
    """A results line without its volatile fields."""
    return {k: v for k, v in record.items() if k not in VOLATILE}


def read_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(autouse=True)
def environment_restored() -> Any:
    """A local Dask cluster writes its workers' settings (OMP_NUM_THREADS=1, MKL_NUM_THREADS=1,
    PYTHONHASHSEED, MALLOC_TRIM_THRESHOLD_) into this process's environment, where every later test's
    subprocess would inherit them: restore the environment after each test."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(scope="module")
def points(tmp_path_factory: pytest.TempPathFactory, data_root: Path) -> list[Point]:
    """Two substrates with random draws (crossbar chips, SC streams repeated with two seeds), two points
    each, and two points that fail when run: a model file replaced after the points were made, and a spec
    value the substrate refuses."""
    model = tmp_path_factory.mktemp("models") / "replaced.pt"
    shutil.copyfile(resolve_model("lenet5-mnist"), model)
    experiment = parse_experiment({"limit": 20, "calibration_images": 16, "trials": 2, "substrate": [
        {"name": "crossbar", "model": "lenet5-mnist", "device": "rram-wan2022", "array": "128x128",
         "dac_bits": 8, "adc_bits": 8, "time": ["0", "1d"]},
        {"name": "stochastic", "model": "lenet5-mnist-tanh", "length": [16, 32]},
        {"name": "digital", "model": str(model)},
    ]}, default_name="backends")
    shutil.copyfile(resolve_model("lenet5-fashion"), model)  # changes between expansion and run
    good = experiment.points[0]
    refused = Point(config={**good.config, "spec": {**good.config["spec"], "adc_bits": 0}},
                    axes={"adc_bits": 0})
    return [*experiment.points, refused]


@pytest.fixture(scope="module")
def serial(points: list[Point], tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    store = ResultStore(tmp_path_factory.mktemp("serial") / "results.jsonl")
    records = run_points(points, store, backend=SerialBackend())
    assert [stable(r) for r in read_lines(store.path)] == [stable(r) for r in records]
    return records


def test_the_serial_run_records_two_failures(serial: list[dict[str, Any]]):
    statuses = [r["status"] for r in serial]
    assert statuses == ["ok"] * 4 + ["failed"] * 2
    assert "has changed since the point was made" in serial[4]["error"]
    assert "adc_bits" in serial[5]["error"]
    assert len({tuple(r["result"]["accuracy"]["per_trial"]) for r in serial[:4]}) > 1


def _same_on(backend: Any, points: list[Point], serial: list[dict[str, Any]], path: Path) -> None:
    store = ResultStore(path)
    records = run_points(points, store, backend=backend)
    assert [stable(r) for r in records] == [stable(r) for r in serial]
    written = sorted((stable(r) for r in read_lines(path)), key=lambda r: r["hash"])
    assert written == sorted((stable(r) for r in serial), key=lambda r: r["hash"])


def test_a_process_pool_gives_the_serial_lines(points, serial, tmp_path: Path):
    _same_on(PoolBackend(2), points, serial, tmp_path / "results.jsonl")


def test_a_local_dask_cluster_gives_the_serial_lines(points, serial, tmp_path: Path):
    pytest.importorskip("distributed")
    _same_on(DaskBackend(local_workers=2), points, serial, tmp_path / "results.jsonl")


def test_a_running_scheduler_gives_the_serial_lines_with_one_torch_thread(points, serial, tmp_path: Path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        # torch's thread count belongs to the thread that sets it: ask the worker's one task thread
        client.submit(torch.set_num_threads, 2, pure=False).result()
        assert client.submit(torch.get_num_threads, pure=False).result() == 2
        backend = DaskBackend(scheduler=cluster.scheduler_address)
        _same_on(backend, points[:2], serial[:2], tmp_path / "results.jsonl")
        assert client.submit(torch.get_num_threads, pure=False).result() == 1


def test_a_task_runs_with_one_torch_thread_and_turns_a_failure_into_its_error(points: list[Point]):
    threads = torch.get_num_threads()
    try:
        outcome, error = run_task(points[-1].config)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(threads)
    assert outcome is None and error.startswith("SpecError: ") and "adc_bits" in error


def test_without_dask_the_backend_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch):
    for name in ("dask", "dask.distributed", "distributed"):
        monkeypatch.setitem(sys.modules, name, None)  # import NAME -> ImportError
    with pytest.raises(DaskUnavailableError, match=r'pip install "neuroemu\[dask\]"'):
        DaskBackend(local_workers=2)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"scheduler": "tcp://127.0.0.1:8786", "local_workers": 2}, "not both"),
    ({"scheduler": "127.0.0.1:8786"}, "tcp://HOST:PORT"),
    ({"local_workers": 0}, "local_workers must be an integer >= 1"),
    ({"local_workers": True}, "local_workers must be an integer >= 1"),
])
def test_bad_backend_arguments_are_refused(kwargs: dict[str, Any], message: str):
    pytest.importorskip("distributed")
    with pytest.raises(ValueError, match=message):
        DaskBackend(**kwargs)


def test_neuroemu_imports_without_dask():
    """dask is imported only when a Dask backend is made: the command line works without the extra."""
    code = ("import sys; sys.modules['dask'] = sys.modules['distributed'] = None; "
            "from neuroemu.cli import main; import neuroemu.experiments.dask_backend; "
            "assert main(['substrates', 'list']) == 0")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


EXPERIMENT = """\
name = "cli-dask"
limit = 20
calibration_images = 16
[[substrate]]
name = "digital"
model = "lenet5-mnist"
bits = [8, 32]
[[substrate]]
name = "lowbit"
model = ["lenet5-mnist-ternary", "lenet5-mnist-xnor"]
"""


def test_neuroemu_run_on_a_local_dask_cluster(tmp_path: Path, data_root: Path):
    pytest.importorskip("distributed")
    experiment = tmp_path / "cli-dask.toml"
    experiment.write_text(EXPERIMENT)
    lines = {}
    for flag in (["--dask-local", "2"], ["--workers", "1"]):
        out = tmp_path / flag[0].strip("-")
        done = subprocess.run([sys.executable, "-m", "neuroemu", "run", str(experiment), "--out", str(out),
                               "--json", *flag], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == {"experiment": "cli-dask", "points": 4, "failed": 0,
                                           "results": str(out / "results.jsonl")}
        lines[flag[0]] = sorted((stable(r) for r in read_lines(out / "results.jsonl")),
                                key=lambda r: r["hash"])
    assert len(lines["--dask-local"]) == 4
    assert lines["--dask-local"] == lines["--workers"]


def test_neuroemu_run_refuses_two_dask_flags_and_a_bad_address(tmp_path: Path):
    experiment = tmp_path / "cli-dask.toml"
    experiment.write_text(EXPERIMENT)
    for flags, message in ((["--dask-local", "2", "--scheduler", "tcp://127.0.0.1:1"], "not both"),
                           (["--scheduler", "127.0.0.1:1"], "tcp://HOST:PORT")):
        done = subprocess.run([sys.executable, "-m", "neuroemu", "run", str(experiment), "--out",
                               str(tmp_path / "out"), *flags], capture_output=True, text=True, timeout=120)
        assert done.returncode == 2 and message in done.stderr, done.stderr
