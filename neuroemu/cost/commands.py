"""``neuroemu energy``: energy per inference of a network on a substrate, with its breakdown.

Runs the first ``--images`` test images of the model's data set through the network on the substrate,
prices the ledger with the standard rules (:mod:`neuroemu.cost.rules`) and prints one JSON object
(``--json``) or a table; ``--plot PATH`` writes a stacked-bar PNG (energy per layer, stacked by component).
``--sweep-adc-bits 4-10`` (crossbar) adds a table of the ADC and DAC share of the energy per ADC width
(with a ``column_sar_adc`` card the ADC share includes its column read term, also given on its own).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["demo_table", "register"]

_ROLES = ("adc", "dac", "sample_hold", "shift_add")
#: breakdown components that are ADC energy (the converter, and a column_sar_adc card's column read)
ADC_COMPONENTS = ("adc", "adc_column_read")
_SC_ROLES = ("sc_gate", "sc_mux", "sc_or", "sc_counter", "sc_apc", "sc_rng")
_SPIKING_ROLE = "spiking"
_ALL_ROLES = (*_ROLES, *_SC_ROLES, _SPIKING_ROLE)


def register(subparsers: Any) -> None:
    """Add the ``energy`` command to the ``neuroemu`` command line."""
    p = subparsers.add_parser("energy", help="energy per inference of a network on a substrate, by component")
    p.add_argument("--model", help="shipped model name (lenet5-mnist, ...) or .pt path (required unless "
                   "--from-ledger)")
    p.add_argument("--substrate", help="digital, lowbit, crossbar, stochastic or spiking (required unless "
                   "--from-ledger)")
    p.add_argument("--bits", type=int, default=8, help="digital: MAC datapath width (default 8; 32 also "
                   "has published cards)")
    p.add_argument("--weight-memory", metavar="CARD",
                   help="digital: also fetch the weights from this memory card once per image "
                        "(e.g. sram-32kb-horowitz-45nm, dram-horowitz-45nm)")
    p.add_argument("--device", default="rram-wan2022", help="crossbar: device card (default rram-wan2022)")
    p.add_argument("--array", default="256x256", help="crossbar: array ROWSxCOLS or 'none' (default 256x256)")
    p.add_argument("--dac-bits", default="8", help="crossbar: DAC bits or 'none' (default 8)")
    p.add_argument("--adc-bits", default="8", help="crossbar: ADC bits or 'none' (default 8)")
    p.add_argument("--input-mode", default="dac", choices=["dac", "bit_serial"],
                   help="crossbar: inputs through a dac_bits DAC, or one bit plane per cycle (default dac)")
    p.add_argument("--columns-per-adc", type=int, default=128,
                   help="crossbar: columns sharing one ADC, for latency and area (default 128, as ISAAC)")
    p.add_argument("--sweep-adc-bits", metavar="LO-HI",
                   help="crossbar: also price every ADC width LO..HI and print the ADC / DAC share")
    p.add_argument("--length", type=int, default=1024, help="stochastic: bitstream length L (default 1024)")
    p.add_argument("--block", default="apc-max-btanh",
                   help="stochastic: SC-DCNN block (apc-max-btanh, apc-avg-btanh, mux-max-stanh, "
                        "mux-avg-stanh)")
    p.add_argument("--sng", default="sobol", help="stochastic: random source of the number generators "
                   "(default sobol; only sobol has a price card)")
    p.add_argument("--mux-select", default="uniform", choices=["uniform", "weighted"],
                   help="stochastic: MUX blocks' select (default uniform, SC-DCNN's)")
    p.add_argument("--counter", default="exact", choices=["exact", "approximate"],
                   help="stochastic: APC blocks' parallel counter (default exact)")
    p.add_argument("--sng-sharing", default="shared", choices=["shared", "private"],
                   help="stochastic: one generator per weight index shared by all neurons, or one per stream "
                        "(default shared)")
    p.add_argument("--timesteps", type=int, default=64,
                   help="spiking: simulation steps per image (default 64)")
    p.add_argument("--encoding", default="constant", choices=["constant", "poisson"],
                   help="spiking: pixels as constant input currents or Poisson spike trains "
                        "(default constant)")
    p.add_argument("--accumulator-bits", type=int, default=16,
                   help="width of digital adds (bias, partial sums, signed adds; default 16)")
    p.add_argument("--multiplier-bits", type=int, default=8,
                   help="width of digital scale multiplies (default 8)")
    p.add_argument("--images", type=int, default=16, help="test images to run (default 16)")
    p.add_argument("--calibration-images", type=int, default=64,
                   help="crossbar / spiking: training images that calibrate converter ranges or neuron "
                        "scales (default 64)")
    p.add_argument("--card", action="append", default=[], metavar="ROLE=NAME",
                   help=f"replace a default circuit card; roles: {', '.join(_ALL_ROLES)} "
                        "(sc_rng: comma-separated Sobol RNG cards of several widths; spiking: a "
                        "spiking_core card, default loihi-davies2018)")
    p.add_argument("--path", type=Path, action="append", default=[], help="extra card folder")
    p.add_argument("--save-ledger", type=Path, metavar="PATH",
                   help="also write the run's ledger (and programmed conductances) to PATH as JSON")
    p.add_argument("--from-ledger", type=Path, metavar="PATH",
                   help="price a ledger saved with --save-ledger again (other --card / bit options), "
                        "without running the network; latency and area are not recomputed")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    p.add_argument("--plot", type=Path, metavar="PATH", help="write a stacked-bar PNG of the breakdown")
    p.set_defaults(run=run)


def _sweep(text: str) -> list[int]:
    from neuroemu.cli import UsageError

    try:
        lo, hi = (int(v) for v in text.split("-"))
    except ValueError:
        raise UsageError(f"--sweep-adc-bits must look like 4-10, got {text!r}") from None
    if not 1 <= lo <= hi <= 16:
        raise UsageError(f"--sweep-adc-bits needs 1 <= LO <= HI <= 16, got {text!r}")
    return list(range(lo, hi + 1))


def _cards(args: argparse.Namespace) -> tuple[Any, Any, Any]:
    """The circuit cards, the SC cards and the spiking core card, with ``--card ROLE=NAME`` replacements."""
    from neuroemu.cards import CardError, UnknownCardError, load_card
    from neuroemu.cli import UsageError
    from neuroemu.cost.pricing import PricingError
    from neuroemu.cost.rules import CircuitCards
    from neuroemu.cost.spiking import DEFAULT_SPIKING_CARD
    from neuroemu.cost.stochastic import ScCards

    names: dict[str, object] = {}
    sc_names: dict[str, object] = {}
    spiking = DEFAULT_SPIKING_CARD
    for item in args.card:
        role, sep, name = item.partition("=")
        if not sep or role not in _ALL_ROLES or not name:
            raise UsageError(f"--card must be ROLE=NAME with ROLE one of {', '.join(_ALL_ROLES)}, "
                             f"got {item!r}")
        if role == _SPIKING_ROLE:
            spiking = name
        elif role == "sc_rng":
            sc_names[role] = tuple(name.split(","))
        elif role in _SC_ROLES:
            sc_names[role] = name
        else:
            names[role] = None if (role == "sample_hold" and name == "none") else name
    try:
        return (CircuitCards.load(args.path, **names), ScCards.load(args.path, **sc_names),
                load_card(spiking, args.path, kind="spiking_core"))
    except (UnknownCardError, CardError, PricingError) as exc:
        raise UsageError(str(exc)) from exc


def run(args: argparse.Namespace) -> int:
    """Run the ``energy`` command; unknown substrate / model / card names raise ``UsageError`` (exit 2)."""
    from neuroemu.cards import CardError, UnknownCardError, load_card
    from neuroemu.cli import UsageError, optional_bits, optional_pair
    from neuroemu.cost.pricing import PricingError
    from neuroemu.cost.substrates import available_substrates, measure
    from neuroemu.data import load_tensors
    from neuroemu.nets import UnknownModelError, load_checkpoint
    from neuroemu.specs import SpecError

    if args.from_ledger is not None:
        return _run_saved(args)
    if args.model is None or args.substrate is None:
        raise UsageError("--model and --substrate are required (unless --from-ledger PATH)")
    status = available_substrates()
    usable = [name for name, why in status.items() if why is None]
    if args.substrate not in status or status[args.substrate] is not None:
        why = f" ({status[args.substrate]})" if args.substrate in status else ""
        raise UsageError(f"substrate {args.substrate!r} is not available{why}; available substrates: "
                         f"{', '.join(usable)}")
    if args.images < 1 or args.calibration_images < 1:
        raise UsageError("--images and --calibration-images must be >= 1")
    if args.sweep_adc_bits and args.substrate != "crossbar":
        raise UsageError("--sweep-adc-bits applies to --substrate crossbar only")
    cards, sc_cards, spiking_card = _cards(args)
    try:
        checkpoint = load_checkpoint(args.model)
    except UnknownModelError as exc:
        raise UsageError(str(exc)) from exc
    images, _ = load_tensors(checkpoint.dataset, "test", normalize=checkpoint.normalize, limit=args.images)
    options: dict[str, Any] = {}
    sweep: list[int] = []
    if args.substrate == "digital":
        options["bits"] = args.bits
        if args.weight_memory is not None:
            try:
                options["weight_memory"] = load_card(args.weight_memory, args.path, kind="memory")
            except (UnknownCardError, CardError) as exc:
                raise UsageError(str(exc)) from exc
    elif args.substrate == "crossbar":
        try:
            device = load_card(args.device, args.path)
        except UnknownCardError as exc:
            raise UsageError(str(exc)) from exc
        options.update(device=device, array=optional_pair(args.array, "--array"),
                       dac_bits=optional_bits(args.dac_bits, "--dac-bits"),
                       adc_bits=optional_bits(args.adc_bits, "--adc-bits"), input_mode=args.input_mode,
                       columns_per_adc=args.columns_per_adc)
        options["calibration"], _ = load_tensors(checkpoint.dataset, "train", normalize=checkpoint.normalize,
                                                 limit=args.calibration_images)
        if args.sweep_adc_bits:
            sweep = _sweep(args.sweep_adc_bits)
    elif args.substrate == "stochastic":
        options.update(length=args.length, block=args.block, sng=args.sng, sharing=args.sng_sharing,
                       mux_select=args.mux_select, counter=args.counter)
    elif args.substrate == "spiking":
        options.update(timesteps=args.timesteps, encoding=args.encoding)
        options["calibration"], _ = load_tensors(checkpoint.dataset, "train", normalize=checkpoint.normalize,
                                                 limit=args.calibration_images)

    def run_one(**extra: Any) -> Any:
        try:
            return measure(args.substrate, checkpoint.build(), images, cards=cards, sc_cards=sc_cards,
                           spiking_card=spiking_card,
                           accumulator_bits=args.accumulator_bits, multiplier_bits=args.multiplier_bits,
                           **{**options, **extra})
        except PricingError as exc:
            raise UsageError(str(exc)) from exc
        except ValueError as exc:
            if type(exc) in (ValueError, SpecError):  # a bad option value or a model it cannot run
                raise UsageError(str(exc)) from exc
            raise

    measurement = run_one()
    report = measurement.report
    result = {
        "model": str(args.model),
        "substrate": args.substrate,
        "energy_per_inference_j": report.per_inference_j,
        "breakdown_j": report.breakdown_per_inference_j(),
        "per_layer_j": report.per_layer_per_inference_j(),
        # crossbar: from card rates / areas and component counts (neuroemu.cost.floorplan); else no basis
        "latency_s": measurement.floorplan.latency_s if measurement.floorplan else None,
        "area_m2": measurement.floorplan.area_m2 if measurement.floorplan else None,
        "cards": sorted(set(report.cards)),
        "images": len(images),
        "options": {k: v for k, v in measurement.options.items()},
        "unpriced": list(report.unpriced),
    }
    if measurement.floorplan is not None:
        result["area_breakdown_m2"] = measurement.floorplan.area_breakdown_m2
        result["floorplan_basis"] = measurement.floorplan.basis
    if measurement.programming is not None:
        result["programming_j"] = measurement.programming.total_j
        result["programming"] = measurement.programming.to_dict()
        result["floorplan_layers"] = list(measurement.floorplan.layers)
    if sweep:
        rows = []
        for bits in sweep:
            r = run_one(adc_bits=bits).report
            rows.append({"adc_bits": bits, "energy_per_inference_j": r.per_inference_j,
                         "adc_share": r.share(*ADC_COMPONENTS), "dac_share": r.share("dac"),
                         "adc_dac_share": r.share(*ADC_COMPONENTS, "dac"),
                         "adc_column_read_share": r.share("adc_column_read")})
        result["adc_sweep"] = rows
    if args.save_ledger is not None:
        saved = {"model": str(args.model), **measurement.saved()}
        args.save_ledger.write_text(json.dumps(saved), encoding="utf-8")
    return _finish(args, report, result)


def _finish(args: argparse.Namespace, report: Any, result: dict[str, Any]) -> int:
    """Warn about unpriced events, plot, print JSON or tables."""
    if report.unpriced:
        events = sorted({u["event"] for u in report.unpriced})
        print(f"neuroemu energy: warning: {len(report.unpriced)} ledger entries have no price rule and are "
              f"NOT in the total: {', '.join(events)}", file=sys.stderr)
    if args.plot is not None:
        _plot(report, args.plot, f"{result['model']} on {result['substrate']}")
    if args.json:
        print(json.dumps(result))
        return 0
    _print_tables(result)
    return 0


def _run_saved(args: argparse.Namespace) -> int:
    """``--from-ledger``: price a saved run again with the cards and widths given now."""
    from neuroemu.cards import UnknownCardError
    from neuroemu.cli import UsageError
    from neuroemu.cost.pricing import PricingError
    from neuroemu.cost.substrates import reprice

    try:
        saved = json.loads(args.from_ledger.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"--from-ledger {args.from_ledger}: cannot read a saved run: {exc}") from exc
    if not isinstance(saved, dict):
        raise UsageError(f"--from-ledger {args.from_ledger}: not a saved run")
    cards, sc_cards, spiking_card = _cards(args)
    try:
        report = reprice(saved, cards=cards, sc_cards=sc_cards, spiking_card=spiking_card,
                         accumulator_bits=args.accumulator_bits,
                         multiplier_bits=args.multiplier_bits, paths=args.path)
    except (PricingError, UnknownCardError) as exc:
        raise UsageError(f"--from-ledger {args.from_ledger}: {exc}") from exc
    result = {
        "model": saved.get("model"),
        "substrate": saved.get("substrate"),
        "energy_per_inference_j": report.per_inference_j,
        "breakdown_j": report.breakdown_per_inference_j(),
        "per_layer_j": report.per_layer_per_inference_j(),
        "latency_s": None,  # needs the mapped model: not recomputed from a saved ledger
        "area_m2": None,
        "cards": sorted(set(report.cards)),
        "images": report.images,
        "options": {**saved.get("options", {}), "accumulator_bits": args.accumulator_bits,
                    "multiplier_bits": args.multiplier_bits},
        "unpriced": list(report.unpriced),
        "repriced_from": str(args.from_ledger),
    }
    return _finish(args, report, result)


def _print_tables(result: dict[str, Any]) -> None:
    from neuroemu.report import format_table

    total = result["energy_per_inference_j"]
    print(f"{result['model']} on {result['substrate']}: {total:.4g} J per inference "
          f"({result['images']} images)\n")
    rows = [[name, joules, f"{100 * joules / total:.1f} %" if total else "-"]
            for name, joules in sorted(result["breakdown_j"].items(), key=lambda kv: -kv[1])]
    print(format_table(["component", "J / inference", "share"], rows))
    print()
    print(format_table(["layer", "J / inference"], [[k, v] for k, v in result["per_layer_j"].items()]))
    if "programming" in result:
        missing = result["programming"]["unpriced"]
        print("\nprogramming the chip once (not per inference): " + (
            f"{result['programming_j']:.4g} J" if result["programming_j"] is not None
            else "not priced (" + "; ".join(f"{k}: {v}" for k, v in missing.items()) + ")"))
    if "adc_sweep" in result:
        sweep = result["adc_sweep"]
        column = any(r["adc_column_read_share"] > 0 for r in sweep)  # a column_sar_adc card
        print("\nADC and DAC share of the energy vs ADC bits (Xia et al., DAC 2016)\n")
        extra = ["of it column read %"] if column else []
        print(format_table(["ADC bits", "J / inference", "ADC %", *extra, "DAC %", "ADC+DAC %"],
                           [[r["adc_bits"], r["energy_per_inference_j"], f"{100 * r['adc_share']:.1f}",
                             *([f"{100 * r['adc_column_read_share']:.1f}"] if column else []),
                             f"{100 * r['dac_share']:.1f}", f"{100 * r['adc_dac_share']:.1f}"]
                            for r in sweep]))
    print(f"\ncards: {', '.join(result['cards'])}")
    if result["latency_s"] is None:
        print("latency: n/a, area: n/a (no basis in the cards for this substrate)")
    else:
        parts = ", ".join(f"{k} {v:.4g} m^2" for k, v in result["area_breakdown_m2"].items())
        area = "n/a" if result["area_m2"] is None else f"{result['area_m2']:.4g} m^2 ({parts})"
        print(f"latency: {result['latency_s']:.4g} s per inference; area: {area}\n"
              f"  ({result['floorplan_basis']})")


def _plot(report: Any, path: Path, title: str) -> None:
    """Stacked bars: energy per inference of each layer, stacked by component."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    layers = list(report.per_layer_j)
    components = sorted(report.breakdown_j, key=lambda c: -report.breakdown_j[c])
    table = {c: [0.0] * len(layers) for c in components}
    for line in report.lines:
        index = layers.index(line["layer"] if line["layer"] is not None else "-")
        for component, joules in line["components_j"].items():
            table[component][index] += joules / report.images
    fig, ax = plt.subplots(figsize=(max(4.0, 1.2 * len(layers) + 2), 4))
    bottom = [0.0] * len(layers)
    for component in components:
        ax.bar(layers, table[component], bottom=bottom, label=component)
        bottom = [b + v for b, v in zip(bottom, table[component], strict=True)]
    ax.set_ylabel("energy per inference (J)")
    ax.set_title(f"{title}: {report.per_inference_j:.3g} J / inference")
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# (label, model, substrate, options) priced by ``neuroemu demo``
DEMO_RUNS: tuple[tuple[str, str, str, dict[str, Any]], ...] = (
    ("digital, 32-bit MACs", "lenet5-mnist", "digital", {"bits": 32}),
    ("digital, 8-bit MACs", "lenet5-mnist", "digital", {"bits": 8}),
    ("low-bit, ternary (TWN)", "lenet5-mnist-ternary", "lowbit", {}),
    ("crossbar, rram-wan2022, 8-bit DAC/ADC", "lenet5-mnist", "crossbar", {"device": "rram-wan2022"}),
    ("crossbar, pcm-joshi2020, 8-bit DAC/ADC", "lenet5-mnist", "crossbar", {"device": "pcm-joshi2020"}),
    ("stochastic, apc-max-btanh, L = 1024", "lenet5-mnist-tanh", "stochastic", {"length": 1024}),
    ("spiking, IF neurons, T = 32, Loihi core", "lenet5-mnist", "spiking", {"timesteps": 32}),
)
DEMO_ENERGY_IMAGES = 16  # event counts per image do not depend on the images: a few suffice


def demo_table(limit: int | None = None) -> str:
    """Energy per inference of LeNet-5 on every priced substrate, side by side, for ``neuroemu demo``.

    ``limit`` (the demo's image limit) caps the images run; counts per image do not depend on it.
    """
    from neuroemu.cost.substrates import measure
    from neuroemu.data import load_tensors
    from neuroemu.nets import load_checkpoint
    from neuroemu.report import format_table

    images = min(limit or DEMO_ENERGY_IMAGES, DEMO_ENERGY_IMAGES)
    rows = []
    for label, name, substrate, options in DEMO_RUNS:
        checkpoint = load_checkpoint(name)
        inputs, _ = load_tensors(checkpoint.dataset, "test", normalize=checkpoint.normalize, limit=images)
        report = measure(substrate, checkpoint.build(), inputs, **options).report
        top, joules = max(report.breakdown_j.items(), key=lambda kv: kv[1])
        share = f"{100 * joules / report.total_j:.0f} %"
        rows.append([label, name, f"{report.per_inference_j:.3g}", top, share])
    return ("Energy per inference (LeNet-5; 45 nm digital, ISAAC converter, 40 nm SC and Loihi cards)\n\n"
            + format_table(["substrate", "model", "J / inference", "largest part", "share"], rows))
