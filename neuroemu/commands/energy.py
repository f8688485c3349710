"""``neuroemu energy``: energy per inference of a network on a substrate, with its breakdown.

Runs the first ``--images`` test images of the model's data set through the network on any registered
substrate (:mod:`neuroemu.substrates`), prices the ledger (:mod:`neuroemu.experiments.energy`) and prints one
JSON object (``--json``) or a table; ``--plot PATH`` writes a stacked-bar PNG (energy per layer, stacked by
component). Every substrate's spec fields are flags (derived from their declarations); a flag of another
substrate than the one run is refused. ``--sweep-adc-bits 4-10`` (substrates with ADCs) adds a table of the
ADC and DAC share of the energy per ADC width (with a ``column_sar_adc`` card the ADC share includes its
column read term, also given on its own). ``--from-ledger FILE`` prices a saved run again; a training ledger
(``neuroemu rpu-train --save-ledger``) gives the training energy (:mod:`neuroemu.commands.energy_training`).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from neuroemu.cards import CardError, UnknownCardError, load_card
from neuroemu.commands.energy_training import is_training, run_saved_training
from neuroemu.commands.sweep import check_mappable, run_command_points
from neuroemu.cost.pricing import EnergyReport, PricingError
from neuroemu.cost.rules import CircuitCards
from neuroemu.experiments.energy import (
    SAVED_FORMAT,
    STANDARD_ROLES,
    check_saved,
    load_role_cards,
    reprice,
    resolve_cards,
)
from neuroemu.experiments.point import Point, make_config
from neuroemu.registration import Registration
from neuroemu.report import format_table, plot_energy_breakdown
from neuroemu.specs import options, presets
from neuroemu.substrates import UnknownSubstrateError, get, registrations
from neuroemu.usage import UsageError, add_spec_options, output_file, spec_from_args

__all__ = ["ADC_COMPONENTS", "register"]

#: breakdown components that are ADC energy (the converter, and a column_sar_adc card's column read)
ADC_COMPONENTS = ("adc", "adc_column_read")
#: options of the command itself (not spec fields)
_OWN = {"model", "substrate", "accumulator_bits", "multiplier_bits", "images", "calibration_images", "card",
        "path", "save_ledger", "from_ledger", "json", "plot", "sweep_adc_bits", "out", "command", "run"}


def _roles() -> dict[str, Registration | None]:
    """Every ``--card`` role: the standard ones (``None``) and each substrate's own."""
    roles: dict[str, Registration | None] = dict.fromkeys(STANDARD_ROLES)
    for registration in registrations():
        roles.update(dict.fromkeys(registration.card_roles, registration))
    return roles


def register(subparsers: Any) -> None:
    """Add the ``energy`` command to the ``neuroemu`` command line."""
    names = ", ".join(r.name for r in registrations())
    p = subparsers.add_parser("energy", help="energy per inference of a network on a substrate, by component")
    p.add_argument("--model", help="shipped model name (lenet5-mnist, ...) or .pt path (required unless "
                   "--from-ledger)")
    p.add_argument("--substrate", help=f"{names} (required unless --from-ledger)")
    users: dict[str, list[str]] = {}
    for registration in registrations():
        for declared in options(registration.spec):
            users.setdefault(declared.command_line_flag, []).append(registration.name)
    added: set[str] = set()
    for registration in registrations():
        add_spec_options(p, registration.spec, added=added,
                         prefix=lambda declared: ", ".join(users[declared.command_line_flag]) + ": ")
    p.add_argument("--sweep-adc-bits", metavar="LO-HI",
                   help="substrates with ADCs: also price every ADC width LO..HI and print the ADC and DAC "
                        "shares")
    p.add_argument("--accumulator-bits", type=int, default=16,
                   help="width of digital adds (bias, partial sums, signed adds; default 16)")
    p.add_argument("--multiplier-bits", type=int, default=8,
                   help="width of digital scale multiplies (default 8)")
    p.add_argument("--images", type=int, default=16, help="test images to run (default 16)")
    p.add_argument("--calibration-images", type=int,
                   help="training images that calibrate converter ranges or neuron scales (default: the "
                        "substrate's, 64; spiking 256, as snn-sweep)")
    roles = ", ".join(_roles())
    helps = "; ".join(f"{role}: {help_}" for r in registrations() for role, help_ in r.card_roles.items())
    p.add_argument("--card", action="append", default=[], metavar="ROLE=NAME",
                   help=f"replace a default circuit card; roles: {roles} ({helps})")
    p.add_argument("--path", type=Path, action="append", default=[], help="extra card folder")
    p.add_argument("--save-ledger", type=output_file, metavar="PATH",
                   help="also write the run's ledger (with everything its pricing needs) to PATH as JSON")
    p.add_argument("--from-ledger", type=Path, metavar="PATH",
                   help="price a ledger saved with --save-ledger again (other --card / bit options), "
                        "without running the network; latency and area are not recomputed; a training "
                        "ledger of neuroemu rpu-train --save-ledger gives the training energy per sample")
    p.add_argument("--out", type=output_file, metavar="FILE",
                   help="results file (JSON lines): append each finished run, reuse it when run again")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    p.add_argument("--plot", type=output_file, metavar="PATH",
                   help="write a stacked-bar PNG of the breakdown")
    p.set_defaults(run=run)


def _sweep(text: str) -> list[int]:
    try:
        lo, hi = (int(v) for v in text.split("-"))
    except ValueError:
        raise UsageError(f"--sweep-adc-bits must look like 4-10, got {text!r}") from None
    if not 1 <= lo <= hi <= 16:
        raise UsageError(f"--sweep-adc-bits needs 1 <= LO <= HI <= 16, got {text!r}")
    return list(range(lo, hi + 1))


def _card_names(args: argparse.Namespace, registration: Registration) -> dict[str, str]:
    """``--card ROLE=NAME`` as role → name; a role of another substrate than the one run is an error."""
    roles = _roles()
    names: dict[str, str] = {}
    for item in args.card:
        role, sep, name = item.partition("=")
        if not sep or role not in roles or not name:
            raise UsageError(f"--card must be ROLE=NAME with ROLE one of {', '.join(roles)}, got {item!r}")
        owner = roles[role]
        if owner is not None and owner is not registration:
            raise UsageError(f"--card {role}=... applies to --substrate {owner.name}, "
                             f"not {registration.name}")
        names[role] = name
    return names


def _cards(args: argparse.Namespace, registration: Registration) -> tuple[CircuitCards, Any]:
    """The standard cards and the substrate's own, with ``--card ROLE=NAME`` replacements."""
    try:
        return load_role_cards(registration, _card_names(args, registration), args.path)
    except (CardError, PricingError, ValueError) as exc:
        raise UsageError(str(exc)) from exc


def _check_flags(args: argparse.Namespace, registration: Registration) -> None:
    """Refuse flags of other substrates' specs: silently ignoring one would report a run that was not made."""
    own = {o.name for o in options(registration.spec)} | ({"preset"} if presets(registration.spec) else set())
    for name, value in vars(args).items():
        if value is None or name in _OWN or name in own:
            continue
        users = {r.name: o.command_line_flag for r in registrations() for o in options(r.spec)
                 if o.name == name}
        if name == "preset":
            users = {r.name: "--preset" for r in registrations() if presets(r.spec)}
        flag = next(iter(users.values()))
        raise UsageError(f"{flag} applies to --substrate {' or '.join(users)}, not {registration.name}")


def run(args: argparse.Namespace) -> int:
    """Run the ``energy`` command; unknown substrate / model / card names raise ``UsageError`` (exit 2)."""
    if args.from_ledger is not None:
        return _run_saved(args)
    if args.model is None or args.substrate is None:
        raise UsageError("--model and --substrate are required (unless --from-ledger PATH)")
    try:
        registration = get(args.substrate)
    except UnknownSubstrateError as exc:
        raise UsageError(str(exc)) from exc
    if args.calibration_images is None:
        args.calibration_images = registration.calibration_images
    if args.images < 1 or args.calibration_images < 1:
        raise UsageError("--images and --calibration-images must be >= 1")
    _check_flags(args, registration)
    has_adc = "adc_bits" in {o.name for o in options(registration.spec)}
    if args.sweep_adc_bits is not None and not has_adc:
        with_adc = [r.name for r in registrations() if "adc_bits" in {o.name for o in options(r.spec)}]
        raise UsageError(f"--sweep-adc-bits applies to substrates with ADCs ({', '.join(with_adc)}), not "
                         f"{registration.name}")
    sweep = _sweep(args.sweep_adc_bits) if args.sweep_adc_bits is not None else []
    cards = dict(_card_names(args, registration))
    try:  # the spec from the flags, its cards loaded, its dependent defaults filled: before any work
        spec = registration.complete(spec_from_args(registration.spec, args))
        load_role_cards(registration, cards, args.path)
        check_mappable(args.model, resolve_cards(spec, args.path))
    except (CardError, PricingError, ValueError) as exc:  # an unknown card, or one of the wrong kind
        raise UsageError(str(exc)) from exc
    pricing = {"accumulator_bits": args.accumulator_bits, "multiplier_bits": args.multiplier_bits,
               "cards": cards, "paths": args.path}
    try:  # a spec may refuse an ADC (spiking on digital synapses: no crossbar to convert)
        specs = [spec, *(dataclasses.replace(spec, adc_bits=bits) for bits in sweep)]
    except ValueError as exc:
        raise UsageError(f"--sweep-adc-bits: {exc}") from exc
    points = [Point(make_config(registration.name, args.model, s, experiment="energy", limit=args.images,
                                calibration_images=args.calibration_images, pricing=pricing),
                    axes={"adc_bits": s.adc_bits} if sweep else {}) for s in specs]
    records = run_command_points(points, args.out)
    energy = records[0]["result"]["energy"]
    report = EnergyReport.from_dict(energy["report"])
    used = {**records[0]["config"]["spec"], "accumulator_bits": args.accumulator_bits,
            "multiplier_bits": args.multiplier_bits}
    result = _result(str(args.model), registration.name, report, used)
    result["images"] = records[0]["result"]["accuracy"]["n_images"]
    result["latency_s"], result["area_m2"] = energy["latency_s"], energy["area_m2"]
    if "per_image" in energy:  # the spread of the energy over images (spiking: it follows the spikes)
        result["energy_per_image"] = energy["per_image"]
    if "not_counted" in energy:
        result["not_counted"] = energy["not_counted"]
    for key in ("area_breakdown_m2", "floorplan_basis", "programming_j", "programming", "floorplan_layers"):
        if key in energy:
            result[key] = energy[key]
    if sweep:
        rows = []
        for bits, record in zip(sweep, records[1:], strict=True):
            r = EnergyReport.from_dict(record["result"]["energy"]["report"])
            rows.append({"adc_bits": bits, "energy_per_inference_j": r.per_inference_j,
                         "adc_share": r.share(*ADC_COMPONENTS), "dac_share": r.share("dac"),
                         "adc_dac_share": r.share(*ADC_COMPONENTS, "dac"),
                         "adc_column_read_share": r.share("adc_column_read")})
        result["adc_sweep"] = rows
    if args.save_ledger is not None:
        config = records[0]["config"]
        saved = {"model": str(args.model), "format": SAVED_FORMAT, "substrate": registration.name,
                 "inferences": energy["inferences"], "ledger": records[0]["result"]["ledger"]["entries"],
                 "options": used, "card_sha256": {load_card(config["spec"][field], args.path).name: sha
                                                  for field, sha in config["card_sha256"].items()}}
        args.save_ledger.write_text(json.dumps(saved), encoding="utf-8")
    return _finish(args, report, result)


def _result(model: str | None, substrate: str | None, report: EnergyReport,
            used: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON fields every energy result has (latency and area filled in by the caller)."""
    return {
        "model": model,
        "substrate": substrate,
        "energy_per_inference_j": report.per_inference_j,
        "breakdown_j": report.breakdown_per_inference_j(),
        "per_layer_j": report.per_layer_per_inference_j(),
        "latency_s": None,
        "area_m2": None,
        "cards": sorted(set(report.cards)),
        "images": report.images,
        "options": dict(used),
        "unpriced": list(report.unpriced),
    }


def _finish(args: argparse.Namespace, report: EnergyReport, result: dict[str, Any]) -> int:
    """Warn about unpriced events, plot, print JSON or tables."""
    if report.unpriced:
        events = sorted({u["event"] for u in report.unpriced})
        print(f"neuroemu energy: warning: {len(report.unpriced)} ledger entries have no price rule and are "
              f"NOT in the total: {', '.join(events)}", file=sys.stderr)
    if args.plot is not None:
        plot_energy_breakdown(report, args.plot, f"{result['model']} on {result['substrate']}")
    if args.json:
        print(json.dumps(result))
        return 0
    _print_tables(result)
    return 0


def _run_saved(args: argparse.Namespace) -> int:
    """``--from-ledger``: price a saved run again with the cards and widths given now."""
    try:
        saved = json.loads(args.from_ledger.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"--from-ledger {args.from_ledger}: cannot read a saved run: {exc}") from exc
    if not isinstance(saved, dict):
        raise UsageError(f"--from-ledger {args.from_ledger}: not a saved run")
    if is_training(saved):  # a training ledger of neuroemu rpu-train --save-ledger
        return run_saved_training(args, saved)
    try:
        check_saved(saved)
        registration = get(str(saved.get("substrate")))
    except (PricingError, UnknownSubstrateError) as exc:
        raise UsageError(f"--from-ledger {args.from_ledger}: {exc}") from exc
    cards, own_cards = _cards(args, registration)
    try:
        report = reprice(saved, cards=cards, own_cards=own_cards, accumulator_bits=args.accumulator_bits,
                         multiplier_bits=args.multiplier_bits, paths=args.path)
    except (PricingError, UnknownCardError) as exc:
        raise UsageError(f"--from-ledger {args.from_ledger}: {exc}") from exc
    used = {**saved.get("options", {}), "accumulator_bits": args.accumulator_bits,
            "multiplier_bits": args.multiplier_bits}
    # latency and area need the mapped model: not recomputed from a saved ledger
    result = _result(saved.get("model"), saved.get("substrate"), report, used)
    result["repriced_from"] = str(args.from_ledger)
    return _finish(args, report, result)


def _print_tables(result: dict[str, Any]) -> None:
    total = result["energy_per_inference_j"]
    spread = result.get("energy_per_image")
    if spread is None:
        print(f"{result['model']} on {result['substrate']}: {total:.4g} J per inference "
              f"({result['images']} images)\n")
    else:
        low, high = spread["ci95_j"]
        print(f"{result['model']} on {result['substrate']}: {total:.4g} J per inference "
              f"± {(high - low) / 2:.2g} J (95 % CI over {spread['images']} inferences; per inference "
              f"{spread['min_j']:.3g} – {spread['max_j']:.3g} J)\n")
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
    for item in result.get("not_counted", []):
        print(f"\nnot counted: {item['what']} ({', '.join(item['layers'])}): {item['reason']}")
    print(f"\ncards: {', '.join(result['cards'])}")
    if result["latency_s"] is None:
        print("latency: n/a, area: n/a (no basis in the cards for this substrate)")
    else:
        parts = ", ".join(f"{k} {v:.4g} m^2" for k, v in result["area_breakdown_m2"].items())
        area = "n/a" if result["area_m2"] is None else f"{result['area_m2']:.4g} m^2 ({parts})"
        print(f"latency: {result['latency_s']:.4g} s per inference; area: {area}\n"
              f"  ({result['floorplan_basis']})")
