"""``neuroemu sc-sweep``: accuracy of an SC network against bitstream length (SC-DCNN's length sweep).

One point per length: the model is mapped with :class:`~neuroemu.stochastic.Stochastic`, evaluated on the
test set (or its first ``--limit`` images) and its ledger kept. Every other spec field is a flag (derived
from its declaration). ``--json`` prints one object ``{"model", "sc_model", "block", "sng", "n_images",
"mux_select", "counter", "fp_accuracy", "points": [{"length", "accuracy", "wall_s", "ledger"}, ...]}``;
otherwise a table and a PNG plot of accuracy against length. With ``--out FILE`` every finished point is
appended to FILE as a JSON line (with a hash of its configuration) and points already there are reused, so
an interrupted sweep resumes.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import neuroemu
from neuroemu.data import DATASETS, load_tensors
from neuroemu.experiments.points import append_point, ledger_summary, point_key, read_points
from neuroemu.nets import UnknownModelError, accuracy, load_checkpoint
from neuroemu.report import format_table, plot_accuracy_sweep
from neuroemu.stochastic import Stochastic
from neuroemu.stochastic.models import default_model, tanh_twin
from neuroemu.usage import UsageError, add_spec_options, positive_int_list, spec_from_args

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the ``sc-sweep`` parser (lengths run in increasing order, each once)."""
    p = subparsers.add_parser("sc-sweep", help="stochastic-computing accuracy against bitstream length")
    p.add_argument("--model", help="tanh model name or .pt path (default: lenet5-mnist-tanh, or for "
                                   "average-pooling blocks lenet5-mnist-tanh-avg where shipped); a shipped "
                                   "ReLU name (lenet5-mnist) runs its shipped tanh twin, as 'sc_model' says")
    p.add_argument("--lengths", default="16,32,64,128,256,512,1024,2048",
                   help="comma-separated bitstream lengths")
    add_spec_options(p, Stochastic, exclude=("length",))
    p.add_argument("--limit", type=int, help="use only the first N test images")
    p.add_argument("--dataset", help="data set (default: the model's)")
    p.add_argument("--out", type=Path, help="JSON-lines file: append finished points, resume from it")
    p.add_argument("--plot", type=Path, help="PNG file for the plot (default sc-sweep-BLOCK-SNG.png)")
    p.add_argument("--json", action="store_true", help="print one JSON object, no table or plot")
    p.set_defaults(run=run_sweep)


def run_sweep(args: argparse.Namespace) -> int:
    """Run the sweep described by ``args``; return the exit status."""
    lengths = positive_int_list(args.lengths, "--lengths")
    # the spec validates every field (listing the allowed values) before any work
    spec = spec_from_args(Stochastic, args, length=lengths[0])
    if args.limit is not None and args.limit < 1:
        raise UsageError(f"--limit must be a positive integer, got {args.limit}")
    if args.dataset is not None and args.dataset not in DATASETS:
        raise UsageError(f"unknown dataset {args.dataset!r}; known datasets: {', '.join(sorted(DATASETS))}")
    requested = args.model or default_model(spec.block)
    model_name = tanh_twin(requested, spec.block)
    if model_name != requested:
        print(f"sc-sweep: {requested} has ReLU activations, which SC-DCNN's blocks do not compute; running "
              f"its shipped tanh-trained twin {model_name} (same architecture and data set)", file=sys.stderr)
    try:
        checkpoint = load_checkpoint(model_name)
    except UnknownModelError as exc:
        raise UsageError(str(exc)) from exc
    if checkpoint.normalize != "unit":
        raise UsageError(f"model {model_name!r} expects {checkpoint.normalize!r} inputs; "
                         "SC needs 'unit' ([0, 1])")
    dataset = args.dataset or checkpoint.dataset
    images, labels = load_tensors(dataset, "test", normalize="unit", limit=args.limit)
    model = checkpoint.build()
    fp_accuracy = accuracy(model, images, labels)
    config = {"model": str(model_name), "dataset": dataset, "block": spec.block, "sng": spec.sng,
              "seed": spec.seed, "mode": spec.mode, "pool_segment": spec.pool_segment,
              "n_images": len(images)}
    defaults = Stochastic()
    for option in ("mux_select", "counter", "sharing"):
        if getattr(spec, option) != getattr(defaults, option):  # absent for defaults: old files resume
            config[option] = getattr(spec, option)
    done = read_points(args.out) if args.out else {}
    points = []
    for i, length in enumerate(lengths):
        key = point_key({**config, "length": length})
        if key in done:
            points.append(done[key])
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore" if args.json or i else "default")  # warn once
                sc_model = neuroemu.map(model, dataclasses.replace(spec, length=length))
        except ValueError as exc:  # e.g. a model the SC blocks cannot run
            raise UsageError(str(exc)) from exc
        start = time.perf_counter()
        acc = accuracy(sc_model, images, labels, batch_size=1000)
        wall = time.perf_counter() - start
        point = {"length": length, "accuracy": acc, "wall_s": round(wall, 3),
                 "ledger": ledger_summary(sc_model.ledger)}
        points.append(point)
        if args.out:
            append_point(args.out, {**config, "length": length}, point)
        if not args.json:
            print(f"L={length}: accuracy {acc:.4f} ({wall:.1f} s)", file=sys.stderr, flush=True)
    result = {"model": str(requested), "sc_model": str(model_name), "block": spec.block, "sng": spec.sng,
              "n_images": len(images), "mux_select": spec.mux_select, "counter": spec.counter,
              "fp_accuracy": fp_accuracy, "points": points}
    if args.json:
        print(json.dumps(result))
        return 0
    _print_table(result)
    plot = args.plot or Path(f"sc-sweep-{spec.block}-{spec.sng}.png")
    points = result["points"]
    plot_accuracy_sweep([p["length"] for p in points], [p["accuracy"] for p in points],
                        float_accuracy=result["fp_accuracy"], xlabel="bitstream length L",
                        label=f"{result['block']} ({result['sng']})",
                        title=f"{result['model']}, {result['n_images']} images", path=plot)
    print(f"\nplot: {plot}")
    return 0


def _print_table(result: dict[str, Any]) -> None:
    n = result["n_images"]
    rows = [[p["length"], f"{100 * p['accuracy']:.2f} %",
             f"{100 * (p['accuracy'] - result['fp_accuracy']):+.2f}", p["wall_s"],
             p["ledger"]["totals"].get("sc_gate_cycle", 0) // max(n, 1)] for p in result["points"]]
    print(f"{result['model']} as {result['block']} ({result['sng']} SNGs), {n} images, "
          f"float accuracy {100 * result['fp_accuracy']:.2f} %\n")
    print(format_table(["length", "accuracy", "Δ vs float (pp)", "wall s", "gate-cycles/image"], rows))
