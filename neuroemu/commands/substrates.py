"""``neuroemu substrates [list|show NAME]``: the registered substrates and every field of their specs.

``show`` prints each field of the substrate's spec as it is declared (:func:`neuroemu.specs.describe`): its
command-line flag, its Python default and its command-line default, the allowed values and what it means.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from neuroemu.report import format_table
from neuroemu.specs import describe
from neuroemu.substrates import UnknownSubstrateError, get, registrations
from neuroemu.usage import UsageError

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the ``substrates`` command to the ``neuroemu`` command line."""
    p = subparsers.add_parser("substrates", help="the registered substrates and their spec fields")
    actions = p.add_subparsers(dest="substrates_command", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="every registered substrate, with its spec and card roles")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(run=run_list)
    show = actions.add_parser("show", help="every field of one substrate's spec: flag, defaults, range")
    show.add_argument("name", help="substrate name (see `neuroemu substrates list`)")
    show.add_argument("--json", action="store_true")
    show.set_defaults(run=run_show)


def run_list(args: argparse.Namespace) -> int:
    """Print the registered substrates."""
    rows = [{"name": r.name, "spec": r.spec.__name__, "summary": r.summary, "card_roles": list(r.card_roles)}
            for r in registrations()]
    if args.json:
        print(json.dumps(rows))
    else:
        print(format_table(["name", "spec", "card roles", "summary"],
                           [[r["name"], r["spec"], ", ".join(r["card_roles"]) or "-", r["summary"]]
                            for r in rows]))
    return 0


def run_show(args: argparse.Namespace) -> int:
    """Print every field of one substrate's spec."""
    try:
        registration = get(args.name)
    except UnknownSubstrateError as exc:
        raise UsageError(str(exc)) from exc
    fields = list(describe(registration.spec))
    if args.json:
        print(json.dumps({"name": registration.name, "spec": registration.spec.__name__, "fields": fields}))
        return 0
    print(f"{registration.name}: {registration.summary}\nspec: {registration.spec.__name__}\n")
    print(format_table(["field", "flag", "default", "command-line default", "allowed"],
                       [[f["field"], f["flag"] or "-", f["default"], f["command-line default"], f["allowed"]]
                        for f in fields]))
    print()
    for f in fields:
        print(f"{f['field']}: {f['help']}")
    return 0
