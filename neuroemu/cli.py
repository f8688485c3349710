"""The ``neuroemu`` command line: ``demo``, ``train``, ``eval``, ``cards``, ``substrates``, ``run``,
``mc``, ``sc-sweep``, ``snn-sweep`` and ``energy`` (one module each in :mod:`neuroemu.commands`).

Unknown models, data sets, substrates and cards exit with status 2 and a message listing the known ones, as
argparse does for its own usage errors; a damaged card, data file or checkpoint exits with status 1. Ctrl-C
stops a command with one line saying how many finished points its results file keeps (status 130); a
reader of stdout that goes away (``| head``) ends it quietly (status 141).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from neuroemu import __version__
from neuroemu.cards import CardError
from neuroemu.commands import (
    cards,
    demo,
    energy,
    evaluate,
    mc,
    report,
    rpu_train,
    run,
    sc_sweep,
    snn_sweep,
    substrates,
    train,
)
from neuroemu.data import DataError
from neuroemu.experiments.store import RESULTS_FILE, ResultStore, StoreError
from neuroemu.nets import CheckpointError
from neuroemu.usage import EXIT_FAILURE, EXIT_USAGE, UsageError

__all__ = ["COMMANDS", "EXIT_BROKEN_PIPE", "EXIT_INTERRUPTED", "build_parser", "main"]

#: exit statuses of a command stopped by Ctrl-C (SIGINT) and by a closed stdout (SIGPIPE), as a shell says
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141

#: the command modules, in the order ``--help`` lists them
COMMANDS = (demo, train, evaluate, cards, substrates, run, report, mc, sc_sweep, snn_sweep, energy, rpu_train)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``neuroemu`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return EXIT_USAGE
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print(f"neuroemu {args.command}: interrupted{_kept(args)}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader of stdout went away (``| head``): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return EXIT_BROKEN_PIPE
    except UsageError as exc:
        print(f"neuroemu {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (CardError, DataError, CheckpointError) as exc:
        print(f"neuroemu {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_FAILURE


def _kept(args: argparse.Namespace) -> str:
    """``; N points kept in FILE`` for a command with a results file (``--out``), else nothing."""
    out = getattr(args, "out", None)
    if not isinstance(out, Path):
        return ""
    path = out / RESULTS_FILE if out.is_dir() else out
    try:
        kept = len(ResultStore(path).records())
    except (StoreError, OSError):
        return ""
    return f"; {kept} finished point(s) kept in {path} (run the same command again to resume)"


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command."""
    parser = argparse.ArgumentParser(
        prog="neuroemu",
        description="Emulate trained CNNs on neuromorphic and stochastic-computing hardware.",
    )
    parser.add_argument("--version", action="version", version=f"neuroemu {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.register(sub)
    return parser


if __name__ == "__main__":
    sys.exit(main())
