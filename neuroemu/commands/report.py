"""``neuroemu report DIR --out REPORT_DIR``: a markdown report with PNG plots of a results folder.

Reads ``DIR/results.jsonl`` (written by ``neuroemu run``; every line checked as the store reads it) and writes
``REPORT_DIR/report.md`` and its plots (:mod:`neuroemu.experiments.report`), replacing an earlier report
there. A missing, unreadable or damaged results file is a usage error (exit status 2) naming the problem.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from neuroemu.experiments.report import ReportError, write_report
from neuroemu.experiments.store import RESULTS_FILE, ResultStore, StoreError
from neuroemu.usage import UsageError, output_folder

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the ``report`` command to the ``neuroemu`` command line."""
    p = subparsers.add_parser("report", help="a markdown report with plots of a results folder")
    p.add_argument("results", type=Path, metavar="DIR",
                   help="results folder of `neuroemu run` (DIR/results.jsonl)")
    p.add_argument("--out", type=output_folder, required=True, metavar="REPORT_DIR",
                   help="folder for report.md and its PNG plots (created; an earlier report there is "
                        "replaced)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Read the results, write the report, print report.md's path."""
    path = args.results / RESULTS_FILE
    if args.results.is_file():
        raise UsageError(f"{args.results} is a file; give the results folder that holds results.jsonl")
    if not path.is_file():
        raise UsageError(f"no results file {path} (make one with `neuroemu run EXPERIMENT.toml --out "
                         f"{args.results}`)")
    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {args.out} is a file, not a folder")
    try:
        records = list(ResultStore(path).records().values())
    except StoreError as exc:
        raise UsageError(str(exc)) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the results file {path}: {exc}") from exc
    try:
        report = write_report(records, args.out)
    except ReportError as exc:
        raise UsageError(f"{path}: {exc}") from exc
    print(report)
    return 0
