"""``neuroemu demo``: the mission end to end on the shipped LeNet-5s, ending in one cross-substrate table.

First the shipped networks on their test sets (digital execution); then one study made of every registered
substrate's demo blocks (:class:`~neuroemu.registration.DemoBlock`: crossbar Monte Carlo on RRAM, PCM and
STT-RAM over a year with and without drift compensation, binary and ternary weights on arrays and in
digital logic, the SC bitstream-length sweep, spiking time steps), each point priced, run on a local process
pool and kept in ``OUT/results.jsonl`` (a second run resumes); a report with its plots
(``OUT/report/report.md``, the accuracy-vs-energy Pareto plot among them); and the final table: substrate,
model, accuracy ± 95 % CI, energy per inference, latency, energy relative to the 8-bit digital baseline.
Warnings are summarised once at the end.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from neuroemu.commands.evaluate import evaluate
from neuroemu.experiments.experiment import parse_experiment
from neuroemu.experiments.point import Point
from neuroemu.experiments.report import write_report
from neuroemu.experiments.runner import PoolBackend, run_points
from neuroemu.experiments.store import RESULTS_FILE, ResultStore, StoreError
from neuroemu.nets import load_checkpoint, shipped_models
from neuroemu.registration import DemoBlock, Registration
from neuroemu.report import format_table
from neuroemu.substrates import registrations
from neuroemu.usage import UsageError, output_folder, positive_int

__all__ = ["demo_points", "final_table", "register"]

#: training images that calibrate converters and neuron scales in the demo
CALIBRATION_IMAGES = 256
#: test images of the digital table with --quick
QUICK_EVALUATION_IMAGES = 1000


def register(subparsers: Any) -> None:
    """Add the ``demo`` command to the ``neuroemu`` command line."""
    p = subparsers.add_parser("demo", help="every substrate on the shipped LeNet-5s: accuracy, energy, "
                                           "report")
    p.add_argument("--out", type=output_folder, default=Path("neuroemu-demo"),
                   help="folder for results.jsonl and the report (default ./neuroemu-demo; a second run "
                        "resumes from it)")
    p.add_argument("--quick", action="store_true", help="fewer images, trials and points: about a minute")
    p.add_argument("--limit", type=positive_int, help="use at most N test images in every part")
    p.add_argument("--workers", type=positive_int, help="worker processes (default: the machine's cores)")
    p.set_defaults(run=run)


def _block(block: DemoBlock, quick: bool, limit: int | None) -> dict[str, Any]:
    values = {**block.block, **(block.quick if quick else {})}
    if limit is not None:
        values["limit"] = min(limit, values.get("limit", limit))
    return values


def demo_points(quick: bool = False, limit: int | None = None
                ) -> list[tuple[Registration, DemoBlock, list[Point]]]:
    """Every registered substrate's demo blocks as points (``quick``: with their ``--quick`` changes;
    ``limit``: at most that many test images anywhere)."""
    parts = []
    for registration in registrations():
        for number, block in enumerate(registration.demo, start=1):
            data = {"name": "demo-quick" if quick else "demo", "calibration_images": CALIBRATION_IMAGES,
                    "substrate": [{"name": registration.name, **_block(block, quick, limit)}]}
            experiment = parse_experiment(data, where=f"the demo of {registration.name} (block {number})")
            parts.append((registration, block, list(experiment.points)))
    return parts


def _matches(point: Point, headline: Mapping[str, Any]) -> bool:
    spec = point.config["spec"]  # the values as read (an axis may hold "1d" where the spec holds 86400.0)
    return all(spec[k] == v if k in spec else point.axes.get(k) == v for k, v in headline.items())


def _label(registration: Registration, block: DemoBlock, point: Point) -> str:
    fixed = {k: v for k, v in block.block.items() if k not in ("model", "limit", "trials", "zip")
             and not isinstance(v, list)}
    shown = {**fixed, **{k: v for k, v in point.axes.items() if k not in ("model", "trials")}}
    return registration.name + (": " + ", ".join(f"{k}={v}" for k, v in shown.items()) if shown else "")


def final_table(parts: list[tuple[Registration, DemoBlock, list[Point]]],
                records: Mapping[str, dict[str, Any]]) -> str:
    """One row per headline point: accuracy ± 95 % CI, energy, latency, energy / 8-bit digital baseline."""
    baseline = next((r["result"]["energy"]["per_inference_j"] for r in records.values()
                     if r["status"] == "ok" and r["config"]["substrate"] == "digital"
                     and r["config"]["spec"].get("bits") == 8), None)
    rows = []
    for registration, block, points in parts:
        for point in points:
            if not _matches(point, block.headline):
                continue
            record = records[point.hash]
            if record["status"] != "ok":
                rows.append([_label(registration, block, point), point.config["model"], "failed", "-", "-",
                             "-"])
                continue
            acc, energy = record["result"]["accuracy"], record["result"]["energy"]
            lo, hi = acc["ci95"]
            spread = f" ± {100 * (hi - lo) / 2:.2f}" if len(acc["per_trial"]) > 1 else ""
            latency = energy["latency_s"]
            relative = f"{energy['per_inference_j'] / baseline:.3g}x" if baseline else "-"
            rows.append([_label(registration, block, point), point.config["model"],
                         f"{100 * acc['mean']:.2f}{spread}", f"{energy['per_inference_j']:.3g}",
                         f"{latency:.3g}" if latency is not None else "-", relative])
    return format_table(["substrate", "model", "accuracy % (± 95 % CI)", "J / inference", "latency s",
                         "energy vs 8-bit digital"], rows)


def run(args: argparse.Namespace) -> int:
    """The shipped networks table, the study, its report and the final table."""
    start = time.perf_counter()
    evaluation_limit = args.limit or (QUICK_EVALUATION_IMAGES if args.quick else None)
    rows = []
    for model in shipped_models():
        result = evaluate(model, None, evaluation_limit)
        weights = load_checkpoint(model).config.get("quant", "fp32")
        rows.append([model, weights, result["dataset"], result["n_images"],
                     f"{100 * result['accuracy']:.2f} %", result["macs_per_image"], result["wall_s"]])
    print("Shipped networks on their test sets (digital execution)\n")
    print(format_table(["model", "weights", "dataset", "images", "accuracy", "MACs/image", "wall s"], rows),
          flush=True)
    parts = demo_points(args.quick, args.limit)
    points = [p for _, _, block_points in parts for p in block_points]
    store = ResultStore(args.out / RESULTS_FILE)
    print(f"\nThe study: {len(points)} points on {len({r.name for r, _, _ in parts})} substrates; results in "
          f"{store.path}", file=sys.stderr, flush=True)
    try:
        done = run_points(points, store, backend=PoolBackend(args.workers), progress=True)
    except StoreError as exc:
        raise UsageError(str(exc)) from exc
    records = {r["hash"]: r for r in done}
    report = write_report(done, args.out / "report")
    print("\nLeNet-5 on every substrate (headline points; every point is in the report)\n")
    print(final_table(parts, records))
    caught = sorted({w for r in done for w in r.get("warnings", [])})
    failed = [r for r in done if r["status"] == "failed"]
    if caught:
        print(f"\n{len(caught)} distinct warning(s) during the study:", *(f"  - {w}" for w in caught),
              sep="\n")
    if failed:
        print(f"\n{len(failed)} point(s) failed (their errors are in {store.path}):",
              *(f"  - {r['config']['substrate']} {r['axes']}: {r['error']}" for r in failed), sep="\n")
    print(f"\nreport: {report}\nwall time {time.perf_counter() - start:.0f} s")
    return 1 if failed else 0
