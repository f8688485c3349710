"""``neuroemu mc``: device-variation Monte Carlo of a network on an analog crossbar.

Every crossbar spec field is a flag (derived from its declaration in :class:`~neuroemu.crossbar.Crossbar`;
the command-line defaults are the realistic chip declared there), except the Monte Carlo's own dimensions:
``--trials`` (chip instances), ``--time`` (read times) and the drift-compensation settings.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from typing import Any

from neuroemu.cards import UnknownCardError, load_card
from neuroemu.commands.sweep import check_mappable, run_command_points
from neuroemu.crossbar import Crossbar
from neuroemu.devices import MODELS
from neuroemu.experiments.point import Point, make_config
from neuroemu.report import format_table, format_time
from neuroemu.specs import parse_duration
from neuroemu.substrates import get
from neuroemu.usage import UsageError, add_spec_options, output_file, spec_from_args

__all__ = ["register"]

#: Crossbar fields that are the Monte Carlo's own dimensions (or not used by it)
_OWN_FIELDS = ("trials", "time", "drift_compensation", "columns_per_adc")


def register(subparsers: Any) -> None:
    """Add the ``mc`` command to the ``neuroemu`` command line."""
    mc = subparsers.add_parser("mc", help="Monte Carlo accuracy of a network on a crossbar device over time")
    mc.add_argument("--model", required=True, help="shipped model name (lenet5-mnist, ...) or .pt path")
    mc.add_argument("--trials", type=int, default=100, help="chip instances (default 100)")
    mc.add_argument("--time", default="1s",
                    help="comma-separated read times after programming: 1s,1h,1d,1y (default 1s); PCM "
                         "(pcm-joshi2020) reads at t + t0 with t0 = 20 s as in the published model, so 1s "
                         "is read 21 s after programming")
    mc.add_argument("--drift-compensation", dest="comp_on", action="store_true",
                    help="apply global drift compensation (the default)")
    mc.add_argument("--no-drift-compensation", dest="comp_off", action="store_true",
                    help="do not compensate drift (give both flags for both settings)")
    add_spec_options(mc, Crossbar, exclude=_OWN_FIELDS)
    mc.add_argument("--limit", type=int, help="use only the first N test images")
    mc.add_argument("--batch-size", type=int, help="images per forward (default: ~1024 image-trials)")
    mc.add_argument("--calibration-images", type=int, default=256,
                    help="training images used to calibrate converter ranges (default 256)")
    mc.add_argument("--out", type=output_file, metavar="FILE",
                    help="results file (JSON lines): append each finished point, resume from it")
    mc.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    mc.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run the ``mc`` command; unknown model or card names raise ``UsageError`` (exit status 2)."""
    start = time.perf_counter()
    try:
        times = [parse_duration(t) for t in args.time.split(",") if t.strip()]
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    if not times:
        raise UsageError("--time needs at least one time")
    for option in ("limit", "batch_size", "calibration_images"):
        value = getattr(args, option)
        if value is not None and value < 1:
            raise UsageError(f"--{option.replace('_', '-')} must be a positive integer, got {value}")
    compensation = [c for c, on in ((False, args.comp_off), (True, args.comp_on)) if on] or [True]
    spec = spec_from_args(Crossbar, args, exclude=_OWN_FIELDS, trials=args.trials)
    try:
        card = load_card(spec.device)
    except UnknownCardError as exc:
        raise UsageError(str(exc)) from exc
    if card.kind not in MODELS:
        raise UsageError(f"card {card.name!r} is of kind {card.kind!r}, not a device; device kinds: "
                         f"{', '.join(sorted(MODELS))}")
    spec = get("crossbar").complete(spec)
    check_mappable(args.model, dataclasses.replace(spec, trials=1))
    points = [Point(make_config("crossbar", args.model,
                                dataclasses.replace(spec, time=t, drift_compensation=c), experiment="mc",
                                limit=args.limit, calibration_images=args.calibration_images),
                    axes={"time": t, "drift_compensation": c})
              for t in times for c in compensation]
    records = run_command_points(points, args.out, batch_size=args.batch_size, progress=not args.json)
    first = records[0]["result"]["accuracy"]
    result = {"model": str(args.model), "device": str(spec.device), "fp_accuracy": first["fp_accuracy"],
              "n_images": first["n_images"], "trials": spec.trials, "seed": spec.seed,
              "wall_s": round(time.perf_counter() - start, 3), "points": [
                  {"time_s": float(point.axes["time"]),
                   "drift_compensation": point.axes["drift_compensation"],
                   "accuracies": r["result"]["accuracy"]["per_trial"],
                   **{k: r["result"]["accuracy"][k] for k in ("mean", "std", "ci95")}}
                  for point, r in zip(points, records, strict=True)]}
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{result['model']} on {result['device']}: {result['trials']} trials, {result['n_images']} test "
          f"images, seed {result['seed']}; float accuracy {100 * result['fp_accuracy']:.2f} %\n")
    rows = [[format_time(p["time_s"]), "on" if p["drift_compensation"] else "off", f"{100 * p['mean']:.2f}",
             f"{100 * p['std']:.2f}", f"{100 * p['ci95'][0]:.2f}..{100 * p['ci95'][1]:.2f}",
             f"{100 * min(p['accuracies']):.2f}", f"{100 * max(p['accuracies']):.2f}"]
            for p in result["points"]]
    headers = ["time", "drift comp.", "mean %", "std %", "95% CI of mean %", "min %", "max %"]
    print(format_table(headers, rows))
    print(f"\nwall time {result['wall_s']:.1f} s")
    return 0
