"""``neuroemu snn-sweep``: accuracy of a converted spiking network against the number of time steps.

One point per ``--timesteps`` value: the model is mapped with :class:`~neuroemu.spiking.Spiking`, its
neuron scales calibrated on training images, evaluated on the test set (or its first ``--limit`` images)
and its ledger kept. Every other spec field is a flag (derived from its declaration). ``--json`` prints one
object ``{"model", "encoding", "reset", "percentile", "seed", "n_images", "fp_accuracy", "scales", "points":
[{"timesteps", "accuracy", "wall_s", "ledger"}, ...]}``; otherwise a table and a PNG plot of accuracy
against time steps. With ``--out FILE`` every finished point is appended to FILE as a JSON line (with a
hash of its configuration) and points already there are reused, so an interrupted sweep resumes.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

from neuroemu.commands.sweep import check_mappable, run_command_points, sweep_rows
from neuroemu.experiments.point import Point, make_config
from neuroemu.report import format_table, plot_accuracy_sweep
from neuroemu.spiking import Spiking
from neuroemu.spiking.substrate import CALIBRATION_IMAGES
from neuroemu.usage import UsageError, add_spec_options, output_file, positive_int_list, spec_from_args

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the ``snn-sweep`` parser (time steps run in increasing order, each once)."""
    p = subparsers.add_parser("snn-sweep", help="spiking (IF, rate-coded) accuracy against time steps")
    p.add_argument("--model", default="lenet5-mnist",
                   help="ReLU model name or .pt path (default lenet5-mnist)")
    p.add_argument("--timesteps", default="8,16,32,64,128", help="comma-separated numbers of time steps")
    add_spec_options(p, Spiking, exclude=("timesteps",))
    p.add_argument("--calibration-images", type=int, default=CALIBRATION_IMAGES,
                   help=f"training images that set the neuron scales (default {CALIBRATION_IMAGES}, as "
                        "energy)")
    p.add_argument("--limit", type=int, help="use only the first N test images")
    p.add_argument("--out", type=output_file,
                   help="results file (JSON lines): append finished points, resume")
    p.add_argument("--plot", type=output_file, help="PNG file for the plot (default snn-sweep-ENCODING.png)")
    p.add_argument("--json", action="store_true", help="print one JSON object, no table or plot")
    p.set_defaults(run=run_sweep)


def run_sweep(args: argparse.Namespace) -> int:
    """Run the sweep described by ``args``; return the exit status."""
    steps = positive_int_list(args.timesteps, "--timesteps")
    # the spec validates every field (naming the allowed values) before any work
    spec = spec_from_args(Spiking, args, timesteps=steps[0])
    for option in ("limit", "calibration_images"):
        value = getattr(args, option)
        if value is not None and value < 1:
            raise UsageError(f"--{option.replace('_', '-')} must be a positive integer, got {value}")
    check_mappable(args.model, spec)
    points = [Point(make_config("spiking", args.model, dataclasses.replace(spec, timesteps=value),
                                experiment="snn-sweep", limit=args.limit,
                                calibration_images=args.calibration_images),
                    axes={"timesteps": value}) for value in steps]
    records = run_command_points(points, args.out, progress=not args.json)
    first = records[0]["result"]
    points_out = sweep_rows(points, records, "timesteps")
    result = {"model": str(args.model), "encoding": spec.encoding, "reset": spec.reset,
              "percentile": spec.percentile, "seed": spec.seed, "n_images": first["accuracy"]["n_images"],
              "fp_accuracy": first["accuracy"]["fp_accuracy"], "scales": first["calibration"]["scales"],
              "points": points_out}
    if args.json:
        print(json.dumps(result))
        return 0
    _print_table(result)
    plot = args.plot or Path(f"snn-sweep-{spec.encoding}.png")
    plot_accuracy_sweep([p["timesteps"] for p in points_out], [p["accuracy"] for p in points_out],
                        float_accuracy=result["fp_accuracy"], xlabel="time steps T",
                        label=f"IF, {result['encoding']} input",
                        title=f"{result['model']}, {result['n_images']} images", path=plot)
    print(f"\nplot: {plot}")
    return 0


def _print_table(result: dict[str, Any]) -> None:
    n = max(result["n_images"], 1)
    fp = result["fp_accuracy"]
    rows = []
    for p in result["points"]:
        totals = p["ledger"]["totals"]
        rows.append([p["timesteps"], f"{100 * p['accuracy']:.2f} %", f"{100 * (p['accuracy'] - fp):+.2f}",
                     p["wall_s"], totals.get("synaptic_op", 0) // n, totals.get("spike_route", 0) // n])
    print(f"{result['model']} as IF neurons ({result['encoding']} input, reset: {result['reset']}), "
          f"{result['n_images']} images, float accuracy {100 * result['fp_accuracy']:.2f} %\n")
    print(format_table(["time steps", "accuracy", "Δ vs float (pp)", "wall s", "synaptic ops/image",
                        "spikes/image"], rows))
