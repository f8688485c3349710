"""Command-line plumbing shared by every command: the usage error, argument parsers, flags derived from specs.

It sits below ``neuroemu.cli`` and ``neuroemu.commands`` (both import it; it imports neither). A spec's flags
are derived from its :func:`neuroemu.specs.option` declarations: :func:`add_spec_options` adds one flag per
declared field (help, allowed values and command-line default from the declaration) and
:func:`spec_from_args` builds the spec from the parsed flags, so a new spec field is a new flag for free.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from neuroemu.specs import Option, SpecError, build_spec, format_text, options, parse_duration, parse_text
from neuroemu.specs import presets as spec_presets

__all__ = ["EXIT_FAILURE", "EXIT_USAGE", "UsageError", "add_spec_options", "duration", "nonnegative_float",
           "optional_bits", "output_file", "output_folder", "positive_float", "positive_int",
           "positive_int_list", "spec_from_args"]

EXIT_FAILURE = 1
EXIT_USAGE = 2


class UsageError(Exception):
    """A bad name or value from the user: printed, exit status 2."""


def positive_int(text: str) -> int:
    """An argparse ``type``: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def positive_float(text: str) -> float:
    """An argparse ``type``: a finite number > 0."""
    return _finite(text, lambda v: v > 0, "a finite number > 0")


def nonnegative_float(text: str) -> float:
    """An argparse ``type``: a finite number >= 0."""
    return _finite(text, lambda v: v >= 0, "a finite number >= 0")


def _finite(text: str, allowed: Callable[[float], bool], what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None
    if not (math.isfinite(value) and allowed(value)):
        raise argparse.ArgumentTypeError(f"must be {what}, got {text}")
    return value


def duration(text: str) -> float:
    """An argparse ``type``: a time such as ``1s``, ``1d``, ``1y`` (:func:`neuroemu.specs.parse_duration`),
    finite and >= 0, in seconds."""
    try:
        value = parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"must be a finite time >= 0, got {text}")
    return value


def output_file(text: str) -> Path:
    """An argparse ``type`` for a file a command writes: refused at once (before any work) when it is a
    folder, lies in a folder that does not exist, or cannot be opened for writing. Nothing is truncated:
    the file is opened for appending and, when the check created it, removed again."""
    path = Path(text)
    if not text.strip():
        raise argparse.ArgumentTypeError("must be a file path, got an empty string")
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{path} is a folder; give the path of a file")
    folder = path.parent
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise argparse.ArgumentTypeError(f"cannot write {path}: the folder {folder} {what}")
    existed = path.exists()
    try:
        with path.open("ab"):
            pass
    except OSError as exc:
        raise argparse.ArgumentTypeError(f"cannot write {path}: {exc.strerror or exc}") from None
    if not existed:
        path.unlink(missing_ok=True)
    return path


def output_folder(text: str) -> Path:
    """An argparse ``type`` for a folder a command writes into: refused at once when it is a file, or when
    it (or, for a folder still to be created, its nearest existing parent) is not a writable folder.
    Nothing is created here."""
    path = Path(text)
    if not text.strip():
        raise argparse.ArgumentTypeError("must be a folder path, got an empty string")
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{path} is a file; give the path of a folder")
    existing = next(p for p in (path, *path.absolute().parents) if p.exists())
    if not existing.is_dir():
        raise argparse.ArgumentTypeError(f"cannot create the folder {path}: {existing} is a file")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"cannot write into the folder {existing}: permission denied")
    return path


def optional_bits(text: str, option: str) -> int | None:
    """A converter width from the command line: a positive integer, or ``none`` (no converter)."""
    if text.lower() == "none":
        return None
    try:
        value = int(text)
    except ValueError:
        raise UsageError(f"{option} must be an integer or 'none', got {text!r}") from None
    if value < 1:
        raise UsageError(f"{option} must be >= 1, got {value}")
    return value


def positive_int_list(text: str, option: str) -> list[int]:
    """Comma-separated positive integers from the command line (``16,32,64``), sorted, each once."""
    message = f"{option} must be comma-separated positive integers, got {text!r}"
    try:
        values = sorted({int(v) for v in text.split(",") if v.strip()})
    except ValueError:
        raise UsageError(message) from None
    if not values or values[0] < 1:
        raise UsageError(message)
    return values


def _flag_help(declared: Option, prefix: str | Callable[[Option], str]) -> str:
    lead = prefix(declared) if callable(prefix) else prefix
    text = f"{lead}{declared.help}; {declared.allowed()}"
    if declared.optional and declared.none:
        text += f" ('none': {declared.none})"
    return text.replace("%", "%%") + f" (default {format_text(declared.command_line_default)})"


def add_spec_options(parser: argparse.ArgumentParser | Any, spec: type, *, exclude: Iterable[str] = (),
                     prefix: str | Callable[[Option], str] = "", added: set[str] | None = None) -> None:
    """Add one flag per declared field of ``spec`` (not in ``exclude``, not declared ``cli=False``).

    Every flag defaults to ``None`` (not given), so :func:`spec_from_args` can tell a flag given from the
    declared command-line default. ``prefix``: text (or a function of the field) before each help;
    ``added``: flags already on ``parser`` (several specs on one command
    share a flag such as ``--seed``); it is updated.
    """
    skip = set(exclude)
    added = added if added is not None else set()
    named = spec_presets(spec)
    if named and "--preset" not in added:
        parser.add_argument("--preset", choices=sorted(named), default=None,
                            help="set the fields a named preset declares (flags given still win): "
                                 + "; ".join(f"{p.name}: {p.summary}" for p in named.values()))
        added.add("--preset")
    for declared in options(spec):
        if not declared.cli or declared.name in skip or declared.command_line_flag in added:
            continue
        flag = declared.command_line_flag
        dest = declared.name
        if declared.kind == "bool" and not declared.optional:
            parser.add_argument(flag, dest=dest, action=argparse.BooleanOptionalAction, default=None,
                                help=_flag_help(declared, prefix))
        else:
            parser.add_argument(flag, dest=dest, default=None, metavar=declared.name.upper(),
                                help=_flag_help(declared, prefix))
        added.add(flag)


def spec_from_args(spec: type, args: argparse.Namespace, *, exclude: Iterable[str] = (),
                   **fixed: Any) -> Any:
    """Build ``spec`` from the flags :func:`add_spec_options` added: a flag given is read from its text, one
    not given takes its declared command-line default; ``fixed`` sets fields directly (a swept field).

    Raises :class:`UsageError` naming the flag and the allowed values for a bad value."""
    given: dict[str, Any] = {}
    skip = set(exclude) | set(fixed)
    for declared in options(spec):
        if declared.name in skip or not declared.cli:
            continue
        value = getattr(args, declared.name, None)
        if value is None:
            continue
        try:
            given[declared.name] = value if isinstance(value, bool) else parse_text(declared, value)
        except SpecError as exc:
            raise UsageError(f"{declared.command_line_flag}: {exc}") from None
    preset = getattr(args, "preset", None) if spec_presets(spec) else None
    try:
        return build_spec(spec, {**({"preset": preset} if preset else {}), **given, **fixed})
    except SpecError as exc:
        raise UsageError(str(exc)) from None

