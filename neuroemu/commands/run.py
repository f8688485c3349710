"""``neuroemu run EXPERIMENT.toml --out DIR``: expand an experiment file's grid and run its points.

Every finished point is appended to ``DIR/results.jsonl`` at once (:mod:`neuroemu.experiments.store`);
running again skips the finished ones (``--retry-failed`` runs the failed ones again), so an interrupted
study resumes where it stopped. Points run on a local process pool (``--workers``, default the machine's
cores; ``--workers 1``: in this process) or on a Dask cluster (``--scheduler tcp://HOST:PORT`` or
``--dask-local N``, with the ``neuroemu[dask]`` extra); the results are the same on any backend.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from neuroemu.experiments.dask_backend import DaskBackend, DaskUnavailableError
from neuroemu.experiments.experiment import ExperimentError, load_experiment
from neuroemu.experiments.runner import Backend, PoolBackend, SerialBackend, run_points
from neuroemu.experiments.store import RESULTS_FILE, ResultStore, StoreError
from neuroemu.report import format_table
from neuroemu.usage import UsageError, output_folder, positive_int

__all__ = ["register"]

#: the exit status of a run stopped by Ctrl-C (SIGINT), as shells report a process it ended
EXIT_INTERRUPTED = 130


def register(subparsers: Any) -> None:
    """Add the ``run`` command to the ``neuroemu`` command line."""
    p = subparsers.add_parser("run", help="run an experiment file's points, resumable (results.jsonl)")
    p.add_argument("experiment", type=Path, help="experiment file (TOML; see examples/)")
    p.add_argument("--out", type=output_folder, required=True, help="results folder (DIR/results.jsonl)")
    p.add_argument("--workers", type=positive_int,
                   help="local worker processes (default: the machine's cores; 1: run in this process)")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="run on this Dask distributed scheduler")
    p.add_argument("--dask-local", type=positive_int, metavar="N",
                   help="start a local Dask cluster of N single-threaded workers and run on it")
    p.add_argument("--retry-failed", action="store_true", help="run the points that failed before again")
    p.add_argument("--dry-run", action="store_true", help="check the file and list its points, run nothing")
    p.add_argument("--json", action="store_true", help="print a JSON summary instead of a table")
    p.set_defaults(run=run)


def backend_from_args(args: argparse.Namespace) -> Backend:
    """The backend the flags ask for (a Dask one imports dask, an optional extra)."""
    if args.scheduler and args.dask_local:
        raise UsageError("give --scheduler or --dask-local, not both")
    if args.scheduler or args.dask_local:
        try:
            return DaskBackend(scheduler=args.scheduler, local_workers=args.dask_local)
        except (DaskUnavailableError, ValueError) as exc:
            raise UsageError(str(exc)) from exc
    if args.workers == 1:
        return SerialBackend()
    return PoolBackend(args.workers)


def run(args: argparse.Namespace) -> int:
    """Run (or, with ``--dry-run``, list) an experiment's points; a summary table at the end."""
    try:
        experiment = load_experiment(args.experiment)
    except ExperimentError as exc:
        raise UsageError(str(exc)) from exc
    store = ResultStore(args.out / RESULTS_FILE)
    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {args.out} is a file, not a folder")
    try:
        done = store.finished(retry_failed=args.retry_failed)
    except StoreError as exc:
        raise UsageError(str(exc)) from exc
    todo = len({p.hash for p in experiment.points} - set(done))
    print(f"{experiment.name}: {len(experiment.points)} points, {todo} to run, results in {store.path}",
          file=sys.stderr)
    if args.dry_run:
        for point in experiment.points:
            state = done[point.hash]["status"] if point.hash in done else "to run"
            print(f"{point.hash}  {point.config['substrate']:<10}  {point.config['model']:<22}  "
                  f"{json.dumps(point.axes)}  {state}")
        return 0
    backend = backend_from_args(args)
    try:
        records = run_points(experiment.points, store, backend=backend, retry_failed=args.retry_failed,
                             progress=not args.json)
    except StoreError as exc:
        raise UsageError(str(exc)) from exc
    except KeyboardInterrupt:
        print(f"\n{experiment.name}: interrupted; the finished points are in {store.path}: the same command "
              "runs the rest", file=sys.stderr)
        return EXIT_INTERRUPTED
    failed = [r for r in records if r["status"] == "failed"]
    if args.json:
        print(json.dumps({"experiment": experiment.name, "points": len(records), "failed": len(failed),
                          "results": str(store.path)}))
    else:
        print(format_table(["substrate", "model", "axes", "accuracy %", "J / inference", "status"],
                           [_row(r) for r in records]))
        if failed:
            print(f"\n{len(failed)} point(s) failed; their errors are in {store.path}; --retry-failed "
                  "runs them again")
    return 1 if failed else 0


def _row(record: dict[str, Any]) -> list[object]:
    config, result = record["config"], record["result"]
    axes = ", ".join(f"{k}={v}" for k, v in record["axes"].items()) or "-"
    if result is None:
        return [config["substrate"], config["model"], axes, "-", "-", f"failed: {record['error']}"]
    acc = result["accuracy"]
    lo, hi = acc["ci95"]
    spread = f" ± {100 * (hi - lo) / 2:.2f}" if len(acc["per_trial"]) > 1 else ""
    return [config["substrate"], config["model"], axes, f"{100 * acc['mean']:.2f}{spread}",
            f"{result['energy']['per_inference_j']:.3g}", "ok"]
