"""Sweep results kept as they finish: one JSON line per point, keyed by a hash of its configuration.

A sweep command appends each finished point with :func:`append_point` and, when run again with the same
file, reuses the points :func:`read_points` finds for the same configuration, so an interrupted sweep
resumes where it stopped and nothing finished is lost.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from neuroemu.ledger import Ledger

__all__ = ["append_point", "ledger_summary", "point_key", "read_points"]


def point_key(config: dict[str, Any]) -> str:
    """A short, stable hash of a point's configuration (JSON with sorted keys)."""
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]


def read_points(path: Path) -> dict[str, dict[str, Any]]:
    """Finished points of an earlier run by key (a damaged last line, from an interruption, is ignored)."""
    if not path.exists():
        return {}
    points = {}
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
            points[record["hash"]] = record["point"]
        except (json.JSONDecodeError, KeyError, TypeError):
            continue
    return points


def append_point(path: Path, config: dict[str, Any], point: dict[str, Any]) -> None:
    """Append one finished point (with its configuration and key) to ``path``."""
    with path.open("a") as fh:
        fh.write(json.dumps({"hash": point_key(config), "config": config, "point": point}) + "\n")


def ledger_summary(ledger: Ledger) -> dict[str, Any]:
    """Totals per event and the full entries of ``ledger``, JSON-ready."""
    totals: dict[str, int] = {}
    for entry in ledger.entries():
        totals[entry.event] = totals.get(entry.event, 0) + entry.count
    return {"totals": totals, "entries": ledger.to_list()}
