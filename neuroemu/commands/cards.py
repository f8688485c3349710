"""``neuroemu cards list|show``: the device and circuit cards in the search path, with their sources."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from neuroemu.cards import UnknownCardError, card_rows, card_to_dict, list_cards, load_card
from neuroemu.report import format_table
from neuroemu.usage import UsageError

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the ``cards`` command to the ``neuroemu`` command line."""
    cards = subparsers.add_parser("cards", help="list or show device and circuit cards")
    actions = cards.add_subparsers(dest="cards_command", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="every card in the search path")
    listing.add_argument("--json", action="store_true")
    listing.add_argument("--path", type=Path, action="append", default=[], help="extra card folder")
    listing.set_defaults(run=run_list)
    show = actions.add_parser("show", help="one card's fields in SI units and its source")
    show.add_argument("name", help="card name or path of a .toml card")
    show.add_argument("--json", action="store_true")
    show.add_argument("--path", type=Path, action="append", default=[], help="extra card folder")
    show.set_defaults(run=run_show)


def run_list(args: argparse.Namespace) -> int:
    """Print every card of the search path (plus ``--path`` folders)."""
    cards = list_cards(args.path)
    if args.json:
        print(json.dumps([card_to_dict(card) for card in cards], allow_nan=False))
    else:
        rows = [[c.name, c.kind, "yes" if c.source.verified else "NO", c.description,
                 f"{c.source.citation}, {c.source.location}"] for c in cards]
        print(format_table(["name", "kind", "verified", "description", "source"], rows))
    return 0


def run_show(args: argparse.Namespace) -> int:
    """Print one card's fields in SI units and its source."""
    try:
        card = load_card(args.name, args.path)
    except UnknownCardError as exc:
        raise UsageError(str(exc)) from exc
    if args.json:
        print(json.dumps(card_to_dict(card), allow_nan=False))
    else:
        print(f"{card.name} ({card.kind}): {card.description}")
        print(f"source: {card.source.citation}, {card.source.location}")
        print("verified: yes (the notes say against what)" if card.source.verified else
              "verified: NO (some numbers were not checked against the source; see the notes)")
        print(f"file:   {card.path}\n")
        print(format_table(["field", "value"], card_rows(card)))
    return 0
