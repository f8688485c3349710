"""``neuroemu eval``: test accuracy of a shipped model or checkpoint, as a table or one JSON object."""

from __future__ import annotations

import argparse
import json
from typing import Any

from neuroemu.data import DATASETS
from neuroemu.experiments.evaluate import evaluate_model
from neuroemu.nets import UnknownModelError
from neuroemu.report import format_table
from neuroemu.usage import UsageError, positive_int

__all__ = ["check_dataset", "evaluate", "register"]


def register(subparsers: Any) -> None:
    """Add the ``eval`` command to the ``neuroemu`` command line."""
    p = subparsers.add_parser("eval", help="test accuracy of a shipped model or checkpoint")
    p.add_argument("--model", required=True, help="shipped model name (lenet5-mnist, ...) or .pt path")
    p.add_argument("--dataset", help="data set (default: the one the model was trained on)")
    p.add_argument("--limit", type=positive_int, help="use only the first N test images")
    p.add_argument("--batch-size", type=positive_int, default=1000)
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.set_defaults(run=run)


def check_dataset(name: str | None) -> None:
    """Refuse an unknown data set name, listing the known ones."""
    if name is not None and name not in DATASETS:
        raise UsageError(f"unknown dataset {name!r}; known datasets: {', '.join(sorted(DATASETS))}")


def evaluate(model: str, dataset: str | None, limit: int | None, batch_size: int = 1000) -> dict:
    """The ``eval`` record of ``model`` (unknown names raise ``UsageError``)."""
    check_dataset(dataset)
    try:
        return evaluate_model(model, dataset, limit, batch_size)
    except UnknownModelError as exc:
        raise UsageError(str(exc)) from exc


def run(args: argparse.Namespace) -> int:
    """Print the test accuracy of ``--model``."""
    result = evaluate(args.model, args.dataset, args.limit, args.batch_size)
    if args.json:
        print(json.dumps(result))
    else:
        print(format_table(list(result), [list(result.values())]))
    return 0
