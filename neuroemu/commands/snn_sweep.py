"""``neuroemu snn-sweep``: accuracy of a converted spiking network against the number of time steps.

One point per ``--timesteps`` value: the model is mapped with :class:`~neuroemu.spiking.Spiking`, its
neuron scales calibrated on training images, evaluated on the test set (or its first ``--limit`` images)
and its ledger kept. Every other spec field is a flag (derived from its declaration). ``--json`` prints one
object ``{"model", "encoding", "reset", "percentile", "seed", "n_images", "fp_accuracy", "scales", "points":
[{"timesteps", "accuracy", "wall_s", "ledger"}, ...]}``; otherwise a table and a PNG plot of accuracy
against time steps. With ``--out FILE`` every finished point is appended to FILE as a JSON line (with a
hash of its configuration) and points already there are reused, so an interrupted sweep resumes.

On crossbar synapses (``--device CARD``, RESPARC, :mod:`neuroemu.resparc`) the points are time steps ×
``--time`` read times (comma-separated, e.g. ``1s,1d``), each with ``--trials`` chip instances: the JSON
gains ``device`` and ``trials``, and each point ``time_s`` and the accuracy's ``accuracy_std``,
``accuracy_ci95`` (Student t over the trials) and ``per_trial``.
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
from neuroemu.resparc import Resparc
from neuroemu.resparc.substrate import CALIBRATION_IMAGES
from neuroemu.usage import (
    UsageError,
    add_spec_options,
    duration,
    output_file,
    positive_int_list,
    spec_from_args,
)

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the ``snn-sweep`` parser (time steps run in increasing order, each once)."""
    p = subparsers.add_parser("snn-sweep", help="spiking (IF, rate-coded) accuracy against time steps")
    p.add_argument("--model", default="lenet5-mnist",
                   help="ReLU model name or .pt path (default lenet5-mnist)")
    p.add_argument("--timesteps", default="8,16,32,64,128", help="comma-separated numbers of time steps")
    p.add_argument("--time", help="crossbar synapses (--device): comma-separated read times after "
                   "programming, e.g. 1s,1d,1y (default 0)")
    add_spec_options(p, Resparc, exclude=("timesteps", "time"))
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
    times = _times(args.time)
    # the spec validates every field (naming the allowed values) before any work
    spec = spec_from_args(Resparc, args, timesteps=steps[0], time=times[0])
    for option in ("limit", "calibration_images"):
        value = getattr(args, option)
        if value is not None and value < 1:
            raise UsageError(f"--{option.replace('_', '-')} must be a positive integer, got {value}")
    check_mappable(args.model, spec)
    crossbar = spec.device is not None
    grid = [(t, value) for t in times for value in steps]
    points = [Point(make_config("spiking", args.model, dataclasses.replace(spec, timesteps=value, time=t),
                                experiment="snn-sweep", limit=args.limit,
                                calibration_images=args.calibration_images),
                    axes={"timesteps": value, **({"time": t} if crossbar else {})}) for t, value in grid]
    records = run_command_points(points, args.out, progress=not args.json)
    first = records[0]["result"]
    points_out = sweep_rows(points, records, "timesteps")
    result = {"model": str(args.model), "encoding": spec.encoding, "reset": spec.reset,
              "percentile": spec.percentile, "seed": spec.seed, "n_images": first["accuracy"]["n_images"],
              "fp_accuracy": first["accuracy"]["fp_accuracy"], "scales": first["calibration"]["scales"],
              "points": points_out}
    if crossbar:
        result.update(device=getattr(spec.device, "name", spec.device), trials=spec.trials)
        for row, (t, _), record in zip(points_out, grid, records, strict=True):
            accuracy = record["result"]["accuracy"]
            row.update(time_s=t, accuracy_std=accuracy["std"], accuracy_ci95=accuracy["ci95"],
                       per_trial=accuracy["per_trial"])
    if args.json:
        print(json.dumps(result))
        return 0
    _print_table(result)
    plot = args.plot or Path(f"snn-sweep-{spec.encoding}.png")
    label = f"IF, {result['encoding']} input"
    if crossbar:
        label += f", {result['device']} synapses at t = {_seconds(times[0])}"
    first_time = [p for p in points_out if p.get("time_s", times[0]) == times[0]]
    plot_accuracy_sweep([p["timesteps"] for p in first_time], [p["accuracy"] for p in first_time],
                        float_accuracy=result["fp_accuracy"], xlabel="time steps T", label=label,
                        title=f"{result['model']}, {result['n_images']} images", path=plot)
    print(f"\nplot: {plot}")
    return 0


def _seconds(value: float) -> str:
    return f"{value:g} s"


def _times(text: str | None) -> list[float]:
    """``--time`` as seconds, sorted, each once (``[0.0]`` when not given)."""
    if text is None:
        return [0.0]
    try:
        values = sorted({duration(v.strip()) for v in text.split(",") if v.strip()})
    except argparse.ArgumentTypeError as exc:
        raise UsageError(f"--time: {exc}") from None
    if not values:
        raise UsageError(f"--time must be comma-separated durations such as 1s,1d, got {text!r}")
    return values


def _print_table(result: dict[str, Any]) -> None:
    n = max(result["n_images"], 1)
    fp = result["fp_accuracy"]
    crossbar = "device" in result
    chips = n * result.get("trials", 1)
    rows = []
    for p in result["points"]:
        totals = p["ledger"]["totals"]
        accuracy = f"{100 * p['accuracy']:.2f} %"
        if crossbar:
            low, high = p["accuracy_ci95"]
            accuracy += f" ± {100 * (high - low) / 2:.2f}"
        synapses = totals.get("cell_read" if crossbar else "synaptic_op", 0) // chips
        rows.append([*([_seconds(p["time_s"])] if crossbar else []), p["timesteps"],
                     accuracy, f"{100 * (p['accuracy'] - fp):+.2f}", p["wall_s"], synapses,
                     totals.get("spike_route", 0) // chips])
    where = (f", synapses on {result['device']} crossbars ({result['trials']} chips, accuracy ± 95 % CI "
             "over chips)" if crossbar else "")
    print(f"{result['model']} as IF neurons ({result['encoding']} input, reset: {result['reset']}{where}), "
          f"{result['n_images']} images, float accuracy {100 * result['fp_accuracy']:.2f} %\n")
    print(format_table([*(["read at"] if crossbar else []), "time steps", "accuracy", "Δ vs float (pp)",
                        "wall s", "cell reads/image" if crossbar else "synaptic ops/image", "spikes/image"],
                       rows))
