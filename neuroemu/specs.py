"""Substrate spec fields declared once: type, default, range, unit and help in one :func:`option` call.

A substrate spec (``Crossbar``, ``Stochastic``, ...) is a frozen dataclass whose fields are declared with
:func:`option`, the way card kinds declare theirs with :func:`neuroemu.cards.param`::

    @dataclass(frozen=True, kw_only=True)
    class Crossbar:
        dac_bits: int | None = option(None, "DAC resolution", kind=int, ge=1, le=24, optional=True,
                                      none="exact inputs, no DAC", cli_default=8)

        def __post_init__(self) -> None:
            validate(self)          # every declared field: type, range, choices, in one place

Everything else is derived from that one declaration: validation and its error messages (the field, the
allowed range, the value given), the command-line flags of every command that builds the spec
(:mod:`neuroemu.usage`), reading a value from text (``"256x256"``, ``"none"``, ``"1d"``), and the table of
fields in the documentation (:func:`describe`).

``cli_default`` is the value the command line uses when the flag is not given, where it differs from the
Python default: the crossbar spec's Python defaults are the exact reference (ideal converters, one array per
layer) and its command-line defaults a realistic chip; both are declared here, on the field, and nowhere else.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Option", "Preset", "SpecError", "build_spec", "describe", "format_text", "option", "options",
           "parse_duration", "parse_text", "presets", "validate"]

#: the metadata key of a declared field
_KEY = "neuroemu_option"
#: marks an option without a command-line default of its own (the Python default serves both)
UNSET: Any = type("Unset", (), {"__repr__": lambda self: "UNSET"})()
#: kinds of value an option holds
KINDS = ("int", "float", "str", "bool", "pair", "triple", "card")


class SpecError(ValueError):
    """A spec field with a bad value; the message names the field, the allowed values and the value."""


@dataclass(frozen=True)
class Option:
    """The declaration of one spec field (see :func:`option`)."""

    name: str
    default: Any
    help: str
    kind: str
    unit: str | None = None
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    choices: tuple[str, ...] | None = None
    optional: bool = False  #: ``None`` is allowed (``none`` says what it means)
    none: str = ""
    words: tuple[str, ...] = ()  #: strings allowed besides a number (``"calibrated"``)
    cli_default: Any = UNSET  #: the command line's default where it differs from ``default``
    flag: str | None = None  #: the command-line flag, where not ``--`` + the name with dashes
    cli: bool = True  #: has a command-line flag

    @property
    def command_line_default(self) -> Any:
        return self.default if self.cli_default is UNSET else self.cli_default

    @property
    def command_line_flag(self) -> str:
        return self.flag or "--" + self.name.replace("_", "-")

    def allowed(self) -> str:
        """The allowed values in words: ``an integer in 1..24``, ``one of ['max', 'avg']``, ..."""
        if self.kind == "bool":
            text = "True or False"
        elif self.kind == "str":
            text = f"one of {list(self.choices)}" if self.choices else "a non-empty string"
        elif self.kind == "card":
            text = "a card name, path or Card"
        elif self.kind in ("pair", "triple"):
            n = 2 if self.kind == "pair" else 3
            text = f"a tuple of {n} integers{self._bounds()}"
        elif self.kind == "int":
            text = "an integer" + self._bounds()
        else:
            lower = self.ge is not None or self.gt is not None
            upper = self.le is not None or self.lt is not None
            text = ("a number" if lower and upper else "a finite number") + self._bounds()
            if self.unit:
                text += f" ({self.unit})"
        if self.words:
            text = " or ".join(repr(w) for w in self.words) + " or " + text
        return "None or " + text if self.optional else text

    def _bounds(self) -> str:
        lo, hi = (self.ge, self.gt), (self.le, self.lt)
        if self.kind in ("int", "pair", "triple") and self.ge is not None and self.le is not None:
            return f" in {_num(self.ge)}..{_num(self.le)}"
        if any(v is not None for v in lo) and any(v is not None for v in hi):
            left = f"[{_num(self.ge)}" if self.ge is not None else f"({_num(self.gt)}"
            right = f"{_num(self.le)}]" if self.le is not None else f"{_num(self.lt)})"
            return f" in {left}, {right}"
        for value, sign in ((self.ge, ">="), (self.gt, ">"), (self.le, "<="), (self.lt, "<")):
            if value is not None:
                return f" {sign} {_num(value)}"
        return ""

    def check(self, value: Any, owner: str = "") -> None:
        """Raise :class:`SpecError` unless ``value`` is allowed (see :meth:`allowed`)."""
        if not self._ok(value):
            prefix = f"{owner}." if owner else ""
            raise SpecError(f"{prefix}{self.name} must be {self.allowed()}, got {value!r}")

    def _ok(self, value: Any) -> bool:
        if value is None:
            return self.optional
        if isinstance(value, str) and value in self.words:
            return True
        if self.kind == "bool":
            return isinstance(value, bool)
        if self.kind == "str":
            return isinstance(value, str) and (value in self.choices if self.choices else bool(value))
        if self.kind == "card":
            return bool(value) if isinstance(value, str) else hasattr(value, "kind")
        if self.kind in ("pair", "triple"):
            n = 2 if self.kind == "pair" else 3
            return (isinstance(value, tuple) and len(value) == n
                    and all(_is_int(v) and self._in_range(v) for v in value))
        if self.kind == "int":
            return _is_int(value) and self._in_range(value)
        return (isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
                and self._in_range(value))

    def _in_range(self, v: float) -> bool:
        return ((self.ge is None or v >= self.ge) and (self.gt is None or v > self.gt)
                and (self.le is None or v <= self.le) and (self.lt is None or v < self.lt))


def option(default: Any, help: str, *, kind: type | str, unit: str | None = None,
           ge: float | None = None, gt: float | None = None, le: float | None = None, lt: float | None = None,
           choices: tuple[str, ...] | None = None, optional: bool = False, none: str = "",
           words: tuple[str, ...] = (), cli_default: Any = UNSET, flag: str | None = None,
           cli: bool = True) -> Any:
    """A spec field declared once (see the module): ``option(8, "ADC bits", kind=int, ge=1, le=24)``.

    ``kind``: ``int``, ``float``, ``str``, ``bool`` or ``"pair"`` / ``"triple"`` (tuples of integers) or
    ``"card"`` (a card name, path or card object); ``ge``/``gt``/``le``/``lt``: bounds (tuples: of every
    item); ``choices``: allowed strings; ``optional``: ``None`` allowed, meaning ``none``; ``words``: strings
    allowed besides a number; ``unit``: the SI unit of a number; ``cli_default``: the command line's
    default where it differs; ``flag``: the command-line flag where it is not ``--name-with-dashes``;
    ``cli=False``: no flag.
    """
    names = {int: "int", float: "float", str: "str", bool: "bool"}
    kind_name = names.get(kind, kind) if isinstance(kind, type) else kind
    if kind_name not in KINDS:
        raise TypeError(f"option kind must be one of {list(KINDS)}, got {kind!r}")
    if (gt is not None and ge is not None) or (lt is not None and le is not None):
        raise TypeError("give at most one lower (gt/ge) and one upper (lt/le) bound")
    declared = Option(name="", default=default, help=help, kind=kind_name, unit=unit, ge=ge, gt=gt, le=le,
                      lt=lt, choices=tuple(choices) if choices else None, optional=optional, none=none,
                      words=tuple(words), cli_default=cli_default, flag=flag, cli=cli)
    return dataclasses.field(default=default, metadata={_KEY: declared})


@dataclass(frozen=True)
class Preset:
    """A named set of spec field values, declared beside the fields (a spec class's ``PRESETS``), each with
    the reason for its value: ``fields`` maps a field name to (value, why). A preset fills the fields it
    names; a field set explicitly (a flag, an experiment-file key) still wins."""

    name: str
    summary: str
    fields: Mapping[str, tuple[Any, str]]

    def values(self) -> dict[str, Any]:
        """The field values, without their reasons."""
        return {name: value for name, (value, _why) in self.fields.items()}


def presets(spec: Any) -> Mapping[str, Preset]:
    """The presets a spec class declares (``PRESETS``, name → :class:`Preset`); empty when none."""
    cls = spec if isinstance(spec, type) else type(spec)
    return getattr(cls, "PRESETS", {})


def options(spec: Any) -> tuple[Option, ...]:
    """The declared fields of a spec class or instance, in declaration order (named)."""
    cls = spec if isinstance(spec, type) else type(spec)
    found = []
    for f in dataclasses.fields(cls):
        declared = f.metadata.get(_KEY)
        if declared is not None:
            found.append(dataclasses.replace(declared, name=f.name))
    return tuple(found)


def validate(spec: Any) -> None:
    """Check every declared field of ``spec`` (call it from ``__post_init__``)."""
    owner = type(spec).__name__
    for declared in options(spec):
        declared.check(getattr(spec, declared.name), owner)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _num(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


_UNITS = {"s": 1.0, "min": 60.0, "h": 3600.0, "d": 86400.0, "w": 7 * 86400.0, "y": 365.25 * 86400.0}
_DURATION = re.compile(r"\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(s|min|h|d|w|y)?\s*")


def parse_duration(text: str) -> float:
    """Seconds in ``"1s"``, ``"30min"``, ``"1h"``, ``"1d"``, ``"2w"``, ``"1y"`` (365.25 d) or a number."""
    match = _DURATION.fullmatch(text)
    if match is None:
        raise ValueError(f"cannot read time {text!r}: use a number with an optional unit "
                         f"({', '.join(_UNITS)}), e.g. 1s, 1h, 1d, 1y")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "yes", "on", "1"):
        return True
    if lowered in ("false", "no", "off", "0"):
        return False
    raise ValueError(f"expected true or false, got {text!r}")


def _ints(text: str, n: int) -> tuple[int, ...]:
    values = tuple(int(v) for v in text.lower().split("x"))
    if len(values) != n:
        raise ValueError(f"expected {n} integers")
    return values


_PARSERS: dict[str, Callable[[str], Any]] = {
    "int": int,
    "str": str,
    "card": str,
    "bool": _parse_bool,
    "pair": lambda text: _ints(text, 2),
    "triple": lambda text: _ints(text, 3),
}


def parse_text(declared: Option, text: str) -> Any:
    """A value of ``declared`` from text (a command-line flag, a file): ``none`` → ``None`` (optional
    fields), ``256x256`` → ``(256, 256)``, ``1d`` → 86400.0 (fields in seconds), ``true`` / ``false``.

    Raises :class:`SpecError` naming the field and the allowed values; the value itself is checked by
    :func:`validate` when the spec is built."""
    stripped = text.strip()
    if declared.optional and stripped.lower() in ("none", "auto"):
        return None
    if stripped in declared.words:
        return stripped
    try:
        if declared.kind == "float":
            return parse_duration(stripped) if declared.unit == "s" else float(stripped)
        return _PARSERS[declared.kind](stripped)
    except ValueError:
        example = {"pair": " (like 256x256)", "triple": " (like 1x28x28)"}.get(declared.kind, "")
        raise SpecError(f"{declared.name} must be {declared.allowed()}{example}, got {text!r}") from None


def format_text(value: Any) -> str:
    """A field's value as :func:`parse_text` reads it back: ``none``, ``256x256``, ``true``, ``8``."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return "x".join(map(str, value))
    return str(getattr(value, "name", value))


def build_spec(spec: type, fields: Mapping[str, Any]) -> Any:
    """``spec`` with ``fields`` set and every other declared field at its command-line default, or at the
    value of the preset ``fields["preset"]`` names (:class:`Preset`) where it sets one.

    An unknown field raises :class:`SpecError` listing the known ones; a bad value, the field's message."""
    declared = {o.name: o for o in options(spec)}
    fields = dict(fields)
    preset_name = fields.pop("preset", None)
    unknown = sorted(set(fields) - set(declared))
    if unknown:
        raise SpecError(f"{spec.__name__} has no field {unknown[0]!r}; fields: {', '.join(declared)}")
    values = {name: o.command_line_default for name, o in declared.items()}
    if preset_name is not None:
        known = presets(spec)
        if preset_name not in known:
            raise SpecError(f"{spec.__name__} has no preset {preset_name!r}; presets: "
                            f"{', '.join(known) or 'none'}")
        values.update(known[preset_name].values())
    values.update(fields)
    return spec(**values)


def describe(spec: Any) -> Iterator[dict[str, str]]:
    """One row per declared field of a spec, for documentation tables: name, flag, defaults, allowed, help."""
    for declared in options(spec):
        yield {"field": declared.name, "flag": declared.command_line_flag if declared.cli else "",
               "default": repr(declared.default),
               "command-line default": format_text(declared.command_line_default) if declared.cli else "",
               "allowed": declared.allowed(), "help": declared.help + (
                   f" (None: {declared.none})" if declared.optional and declared.none else "")}
