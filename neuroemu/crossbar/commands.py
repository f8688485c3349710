"""``neuroemu mc``: device-variation Monte Carlo of a shipped network on an analog crossbar."""

from __future__ import annotations

import argparse
import json
from typing import Any

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the ``mc`` command to the ``neuroemu`` command line."""
    mc = subparsers.add_parser("mc", help="Monte Carlo accuracy of a network on a crossbar device over time")
    mc.add_argument("--model", required=True, help="shipped model name (lenet5-mnist, ...) or .pt path")
    mc.add_argument("--device", required=True, help="device card name or path (ideal, pcm-joshi2020, ...)")
    mc.add_argument("--trials", type=int, default=100, help="chip instances (default 100)")
    mc.add_argument("--time", default="1s",
                    help="comma-separated read times after programming: 1s,1h,1d,1y (default 1s)")
    mc.add_argument("--drift-compensation", dest="comp_on", action="store_true",
                    help="apply global drift compensation (the default)")
    mc.add_argument("--no-drift-compensation", dest="comp_off", action="store_true",
                    help="do not compensate drift (give both flags for both settings)")
    mc.add_argument("--seed", type=int, default=0)
    mc.add_argument("--limit", type=int, help="use only the first N test images")
    mc.add_argument("--batch-size", type=int, help="images per forward (default: ~8192 image-trials)")
    mc.add_argument("--array", default="256x256", help="array rows x columns, or 'none' (default 256x256)")
    mc.add_argument("--dac-bits", default="8", help="DAC bits or 'none' (default 8)")
    mc.add_argument("--adc-bits", default="8", help="ADC bits or 'none' (default 8)")
    mc.add_argument("--mapping", default="differential", help="differential or reference")
    mc.add_argument("--scaling", default="column", help="column or layer")
    mc.add_argument("--slicing", help="bit slicing CELLSxBITS of float layers, e.g. 4x2 (default: none; 8x1 "
                    "for a binary device such as STT-RAM); low-bit layers store binary / ternary weights in "
                    "one cell per side of a pair and k-bit codes in the BITS-bit cells they need")
    mc.add_argument("--input-mode", default="dac", help="dac or bit_serial (one input bit plane per cycle)")
    mc.add_argument("--adc-noise", type=float, default=0.0,
                    help="Gaussian noise at each ADC input, sigma in LSB (default 0)")
    mc.add_argument("--calibration-images", type=int, default=256,
                    help="training images used to calibrate converter ranges (default 256)")
    mc.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    mc.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run the ``mc`` command; unknown model or card names raise ``UsageError`` (exit status 2)."""
    from neuroemu.cards import UnknownCardError, load_card
    from neuroemu.cli import UsageError, optional_bits, optional_pair
    from neuroemu.crossbar.montecarlo import monte_carlo, parse_duration
    from neuroemu.crossbar.spec import default_slicing
    from neuroemu.devices import MODELS
    from neuroemu.nets import UnknownModelError
    from neuroemu.report import format_table
    from neuroemu.specs import SpecError

    try:
        card = load_card(args.device)
    except UnknownCardError as exc:
        raise UsageError(str(exc)) from exc
    if card.kind not in MODELS:
        raise UsageError(f"card {card.name!r} is of kind {card.kind!r}, not a device; device kinds: "
                         f"{', '.join(sorted(MODELS))}")
    try:
        times = [parse_duration(t) for t in args.time.split(",") if t.strip()]
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    if not times:
        raise UsageError("--time needs at least one time")
    compensation = [c for c, on in ((False, args.comp_off), (True, args.comp_on)) if on] or [True]
    options = {"array": optional_pair(args.array, "--array"),
               "dac_bits": optional_bits(args.dac_bits, "--dac-bits"),
               "adc_bits": optional_bits(args.adc_bits, "--adc-bits"), "mapping": args.mapping,
               "scaling": args.scaling, "slicing": optional_pair(args.slicing, "--slicing"),
               "input_mode": args.input_mode, "adc_noise": args.adc_noise}
    if args.slicing is None:
        options["slicing"] = default_slicing(card)
    try:
        result = monte_carlo(args.model, args.device, trials=args.trials, times=times,
                             compensation=compensation, seed=args.seed, limit=args.limit,
                             batch_size=args.batch_size, calibration_images=args.calibration_images,
                             **options)
    except UnknownModelError as exc:
        raise UsageError(str(exc)) from exc
    except ValueError as exc:
        if type(exc) in (ValueError, SpecError):  # a bad option value (the spec names field and range)
            raise UsageError(str(exc)) from exc
        raise
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{result['model']} on {result['device']}: {result['trials']} trials, {result['n_images']} test "
          f"images, seed {result['seed']}; float accuracy {100 * result['fp_accuracy']:.2f} %\n")
    rows = [[_fmt_time(p["time_s"]), "on" if p["drift_compensation"] else "off", f"{100 * p['mean']:.2f}",
             f"{100 * p['std']:.2f}", f"{100 * p['ci95'][0]:.2f}..{100 * p['ci95'][1]:.2f}",
             f"{100 * min(p['accuracies']):.2f}", f"{100 * max(p['accuracies']):.2f}"]
            for p in result["points"]]
    headers = ["time", "drift comp.", "mean %", "std %", "95% CI of mean %", "min %", "max %"]
    print(format_table(headers, rows))
    print(f"\nwall time {result['wall_s']:.1f} s")
    return 0


def _fmt_time(seconds: float) -> str:
    for unit, size in (("y", 365.25 * 86400), ("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def demo_table(model: str = "lenet5-mnist", *, limit: int | None = 1000, trials: int = 5,
               times: tuple[float, ...] = (1.0, 86400.0, 365.25 * 86400.0), seed: int = 0,
               calibration_images: int = 256) -> str:
    """A short crossbar Monte Carlo of ``model`` on every built-in device card, as a text table.

    Each device runs with 8-bit DAC/ADC, 256×256 arrays (8×1-bit slices for a binary device) and global drift
    compensation off and on; meant for ``neuroemu demo``.
    """
    from neuroemu.cards import list_cards
    from neuroemu.crossbar.montecarlo import monte_carlo
    from neuroemu.crossbar.spec import default_slicing
    from neuroemu.devices import MODELS
    from neuroemu.report import format_table

    rows = []
    fp = None
    for card in list_cards():
        if card.kind not in MODELS:
            continue
        slicing = default_slicing(card)
        result = monte_carlo(model, card.name, trials=trials, times=times, compensation=(False, True),
                             seed=seed, limit=limit, array=(256, 256), dac_bits=8, adc_bits=8,
                             slicing=slicing, calibration_images=calibration_images)
        fp = result["fp_accuracy"]
        for point in result["points"]:
            comp = "on" if point["drift_compensation"] else "off"
            rows.append([card.name, _fmt_time(point["time_s"]), comp, f"{100 * point['mean']:.2f}",
                         f"{100 * point['std']:.2f}"])
    head = (f"Crossbar Monte Carlo: {model}, {trials} chips per device, 8-bit DAC/ADC, 256x256 arrays"
            + (f"; float accuracy {100 * fp:.2f} %" if fp is not None else ""))
    return head + "\n\n" + format_table(["device", "time", "drift comp.", "mean %", "std %"], rows)
