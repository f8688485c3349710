"""``neuroemu energy --from-ledger FILE`` on a training ledger saved by ``neuroemu rpu-train --save-ledger``:
the training energy, per event kind, layer, array and polarity, in total and per training sample, with the
unpriced events and why (:mod:`neuroemu.cost.rpu_training`).

``--card adc=NAME`` / ``dac=NAME`` / ``sample_hold=NAME|none`` replace the converter cards that price the
reads (where the run had converter widths); ``--json`` prints one object: ``kind`` ("rpu-training"),
``device``, ``samples``, ``options`` (the run's), ``energy_j`` / ``energy_per_sample_j`` (update and refresh
pulses; ``null`` when the card prices none of them or misses one), ``priced_j`` / ``priced_per_sample_j``
(everything priced, reads included), ``breakdown_j`` / ``breakdown_per_sample_j`` (by component),
``lines``, ``priced``, ``unpriced`` (event → reason), ``cards`` and ``repriced_from``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from typing import Any

from neuroemu.cards import CardError
from neuroemu.cost.pricing import PricingError
from neuroemu.cost.rpu_training import by_component
from neuroemu.cost.rules import CircuitCards
from neuroemu.experiments.training_energy import TRAINING_FORMAT, load_training, price_training
from neuroemu.report import format_table
from neuroemu.usage import UsageError

__all__ = ["CONVERTER_ROLES", "is_training", "run_saved_training"]

#: the ``--card`` roles that price a training run's reads
CONVERTER_ROLES = ("adc", "dac", "sample_hold")


def is_training(saved: Mapping[str, Any]) -> bool:
    """Whether a saved file claims to be a training ledger (any version of its format)."""
    return str(saved.get("format", "")).split("/")[0] == TRAINING_FORMAT.split("/")[0]


def _cards(args: argparse.Namespace) -> CircuitCards:
    names: dict[str, object] = {}
    for item in args.card:
        role, sep, name = item.partition("=")
        if not sep or role not in CONVERTER_ROLES or not name:
            raise UsageError(f"--card with a training ledger must be ROLE=NAME with ROLE one of "
                             f"{', '.join(CONVERTER_ROLES)} (the converters of its reads), got {item!r}")
        names[role] = None if (role == "sample_hold" and name == "none") else name
    try:
        return CircuitCards.load(args.path, **names)
    except (CardError, PricingError) as exc:
        raise UsageError(str(exc)) from exc


def run_saved_training(args: argparse.Namespace, saved: Mapping[str, Any]) -> int:
    """Price a saved training ledger (``--from-ledger``) and print it; a bad file is a usage error."""
    cards = _cards(args)
    try:
        loaded = load_training(saved, args.path)
        energy = price_training(loaded, cards)
    except PricingError as exc:
        raise UsageError(f"--from-ledger {args.from_ledger}: {exc}") from exc
    components = by_component(energy)
    result = {"kind": "rpu-training", "device": loaded.card.name, "samples": loaded.samples,
              "options": loaded.options, "energy_j": energy["energy_j"],
              "energy_per_sample_j": energy["energy_per_sample_j"], "priced_j": energy["priced_j"],
              "priced_per_sample_j": energy["priced_per_sample_j"], "breakdown_j": components,
              "breakdown_per_sample_j": {k: v / loaded.samples for k, v in components.items()},
              "lines": energy["lines"], "priced": energy["priced"], "unpriced": energy["unpriced"],
              "cards": energy["cards"],
              "repriced_from": str(args.from_ledger)}
    if energy["unpriced"]:
        print(f"neuroemu energy: warning: unpriced training events, NOT in the totals: "
              f"{', '.join(energy['unpriced'])}", file=sys.stderr)
    if args.json:
        print(json.dumps(result))
        return 0
    _print(result)
    return 0


def _which(attrs: Mapping[str, Any]) -> str:
    if "polarity" in attrs or "kind" in attrs:
        return str(attrs.get("polarity", attrs.get("kind")))
    if "side" in attrs:
        return f"{attrs['side']} pulses"
    if "rows" in attrs:
        bits = ", ".join(f"{k.split('_')[0].upper()} {attrs[k]} b" for k in ("dac_bits", "adc_bits")
                         if k in attrs)
        return f"{attrs['rows']}x{attrs['cols']}" + (f" ({bits})" if bits else "")
    return ""


def _print(result: Mapping[str, Any]) -> None:
    samples = result["samples"]
    options = result["options"]
    print(f"in-memory training on {result['device']} ({options.get('optimizer')}, BL {options.get('bl')}, "
          f"{options.get('epochs')} epoch(s)): {samples} training samples\n")
    rows = [[line["event"], line["layer"] or "-", line["attrs"].get("array", "-"), _which(line["attrs"]),
             line["count"], "-" if line["energy_j"] is None else f"{line['energy_j']:.4g}",
             "-" if line["energy_per_sample_j"] is None else f"{line['energy_per_sample_j']:.4g}",
             "" if line["unpriced"] is None else "unpriced" if line["energy_j"] is None else "partly"]
            for line in result["lines"]]
    print(format_table(["event", "layer", "array", "polarity / kind / size", "count", "J", "J / sample", ""],
                       rows))
    print()
    print(format_table(["component", "J", "J / sample"],
                       [[k, f"{v:.4g}", f"{result['breakdown_per_sample_j'][k]:.4g}"]
                        for k, v in sorted(result["breakdown_j"].items(), key=lambda kv: -kv[1])]))
    update = result["energy_per_sample_j"]
    print(f"\nupdate pulses: {'not priced' if update is None else f'{update:.4g} J per sample'}; everything "
          f"priced: {result['priced_per_sample_j']:.4g} J per sample ({result['priced_j']:.4g} J in all)")
    for event, reason in result["unpriced"].items():
        print(f"unpriced: {event}: {reason}")
    print(f"cards: {', '.join(result['cards']) or '-'}")
