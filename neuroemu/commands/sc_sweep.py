"""``neuroemu sc-sweep``: accuracy of an SC network against bitstream length (SC-DCNN's length sweep).

One point per length: the model is mapped with :class:`~neuroemu.stochastic.Stochastic`, evaluated on the
test set (or its first ``--limit`` images) and its ledger kept. Every other spec field is a flag (derived
from its declaration). ``--json`` prints one object ``{"model", "sc_model", "block", "blocks", "sng",
"n_images", "mux_select", "counter", "fp_accuracy", "points": [{"length", "accuracy", "wall_s", "ledger"},
...], "warnings"}`` (``blocks``: the per-layer designs, ``null`` when every layer takes ``--block``;
``warnings``: with ``--mode analytic``, the lengths and blocks where the analytic mode was measured to
disagree with the bit-exact one, :func:`~neuroemu.stochastic.agreement.analytic_warnings`, also printed to
stderr);
otherwise a table and a PNG plot of accuracy against length. With ``--out FILE`` every finished point is
appended to FILE as a JSON line (with a hash of its configuration) and points already there are reused, so
an interrupted sweep resumes.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import warnings
from pathlib import Path
from typing import Any

from neuroemu.commands.sweep import check_mappable, run_command_points, sweep_rows
from neuroemu.data import DATASETS
from neuroemu.experiments.point import Point, make_config
from neuroemu.nets import UnknownModelError, load_checkpoint
from neuroemu.report import format_table, plot_accuracy_sweep
from neuroemu.stochastic import Stochastic
from neuroemu.stochastic.agreement import analytic_warnings
from neuroemu.stochastic.models import default_model, tanh_twin
from neuroemu.usage import UsageError, add_spec_options, output_file, positive_int_list, spec_from_args

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
    p.add_argument("--out", type=output_file,
                   help="results file (JSON lines): append finished points, resume")
    p.add_argument("--plot", type=output_file, help="PNG file for the plot (default sc-sweep-BLOCK-SNG.png)")
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
    check_mappable(model_name, spec)
    notes = analytic_warnings(spec, lengths)
    for note in notes:
        print(f"sc-sweep: warning: {note}", file=sys.stderr)
    points = [Point(make_config("stochastic", model_name, dataclasses.replace(spec, length=length),
                                experiment="sc-sweep", dataset=args.dataset, limit=args.limit),
                    axes={"length": length}) for length in lengths]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the mapping check above warned once already
        records = run_command_points(points, args.out, progress=not args.json)
    first = records[0]["result"]["accuracy"]
    points_out = sweep_rows(points, records, "length")
    result = {"model": str(requested), "sc_model": str(model_name), "block": spec.block,
              "blocks": spec.blocks, "sng": spec.sng,
              "n_images": first["n_images"], "mux_select": spec.mux_select, "counter": spec.counter,
              "fp_accuracy": first["fp_accuracy"], "points": points_out, "warnings": notes}
    if args.json:
        print(json.dumps(result))
        return 0
    _print_table(result)
    plot = args.plot or Path(f"sc-sweep-{spec.block}-{spec.sng}.png")
    plot_accuracy_sweep([p["length"] for p in points_out], [p["accuracy"] for p in points_out],
                        float_accuracy=result["fp_accuracy"], xlabel="bitstream length L",
                        label=f"{_design(result)} ({result['sng']})",
                        title=f"{result['model']}, {result['n_images']} images", path=plot)
    print(f"\nplot: {plot}")
    return 0


def _print_table(result: dict[str, Any]) -> None:
    n = result["n_images"]
    rows = [[p["length"], f"{100 * p['accuracy']:.2f} %",
             f"{100 * (p['accuracy'] - result['fp_accuracy']):+.2f}", p["wall_s"],
             p["ledger"]["totals"].get("sc_gate_cycle", 0) // max(n, 1)] for p in result["points"]]
    print(f"{result['model']} as {_design(result)} ({result['sng']} SNGs), {n} images, "
          f"float accuracy {100 * result['fp_accuracy']:.2f} %\n")
    print(format_table(["length", "accuracy", "Δ vs float (pp)", "wall s", "gate-cycles/image"], rows))


def _design(result: dict[str, Any]) -> str:
    """``block``, or ``block`` with the per-layer designs that replace it."""
    return result["block"] if not result["blocks"] else f"{result['block']}, {result['blocks']}"
