"""The card base class, the kind registry and the field metadata that drives validation.

A *kind* is a frozen, keyword-only dataclass that subclasses :class:`Card` and is registered under its kind
name; its own fields are the card's ``[params]``. Each param field carries its schema in
``dataclasses.field`` metadata, most easily written with :func:`param`::

    @register_kind("adc")
    @dataclass(frozen=True, kw_only=True)
    class Adc(Card):
        bits: int = param(ge=1, le=16, doc="resolution")
        power: float = param("W", gt=0, doc="average power while converting")
        node: float | None = param("m", gt=0, default=None, doc="technology node")

        def check(self) -> None:    # optional cross-field checks: raise ValueError naming params.<field>
            ...

        @derived("J", doc="power / sample_rate")
        def energy_per_conversion(self) -> float:
            return self.power / self.sample_rate

Metadata keys (all optional): ``unit`` (a key of :data:`~neuroemu.cards.units.DIMENSIONS`; the field then
holds a float in that SI unit and the card must write it with a unit), ``min``/``max`` (bounds in SI) with
``min_inclusive``/``max_inclusive`` (default ``True``), ``choices`` (allowed strings), ``doc``. Field types
may be ``float``, ``int``, ``str``, ``bool``, or any of those ``| None`` (optional, default ``None``).
Quantities (fields with a unit) may not have a numeric default: physical numbers live in cards only.

Values are validated in ``__post_init__``, so a card built in code (or with :func:`dataclasses.replace`) is
checked exactly as one read from a file.
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from neuroemu.cards.units import DIMENSIONS, format_quantity

__all__ = [
    "MAGNITUDE_WINDOW",
    "NAME_PATTERN",
    "Card",
    "CardError",
    "Derived",
    "ParamSpec",
    "Source",
    "UnknownCardError",
    "derived",
    "derived_specs",
    "display_path",
    "get_kind",
    "kinds",
    "param",
    "param_specs",
    "register_kind",
]

#: a card name: lowercase letters, digits and hyphens, starting with a letter or digit.
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]*")
_KIND_PATTERN = re.compile(r"[a-z][a-z0-9_]*")
_TYPES = (float, int, str, bool)

#: The magnitude window of every number on a card, in SI (zero aside): far beyond any device or circuit
#: value, and far inside float32 and float64, so that the products of a few card values the models and
#: prices form neither overflow nor underflow into a silently wrong number (a numerical guard, not physics).
MAGNITUDE_WINDOW = (1e-24, 1e24)
_TYPE_WORDS = {float: "a number", int: "an integer", str: "a string", bool: "a boolean (true/false)"}


class CardError(ValueError):
    """A card that cannot be read or is invalid; the message names the file and the field."""


class UnknownCardError(CardError):
    """No card of that name in the search path; the message lists every known card name."""


def display_path(path: Path | str) -> str:
    """``path`` relative to the working directory when it lies below it, else as given."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(path)


@dataclass(frozen=True, kw_only=True)
class Source:
    """Where a card's numbers come from."""

    citation: str  #: authors, title, venue, year
    location: str  #: table / figure / section holding the numbers
    url: str | None = None  #: DOI or other stable link
    notes: str | None = None  #: derivations, caveats, conversions
    #: whether every number was checked against the source (``false``: some were not; the notes say which)
    verified: bool = True


@dataclass(frozen=True)
class ParamSpec:
    """The schema of one ``[params]`` field, read from the dataclass field and its metadata."""

    name: str
    type: type  # float, int, str or bool
    optional: bool
    unit: str | None
    min: float | None
    max: float | None
    min_inclusive: bool
    max_inclusive: bool
    choices: tuple[str, ...] | None
    default: Any  # dataclasses.MISSING when required
    doc: str

    @property
    def required(self) -> bool:
        return self.default is MISSING

    def format(self, value: Any) -> str:
        """``value`` (SI) for people: ``"25 µS"``, ``"8"``, ``"sar"``, ``"none"``."""
        if value is None:
            return "none"
        if isinstance(value, bool):
            return "true" if value else "false"
        if self.unit is not None:
            return format_quantity(value, self.unit)
        if isinstance(value, float):
            return f"{value:.6g}"
        return str(value)

    def expected(self) -> str:
        """What the field accepts, e.g. ``"a conductance in S (e.g. '25 uS'), > 0 S"``."""
        if self.unit is not None:
            text = f"a {DIMENSIONS[self.unit]} in {self.unit} (SI prefix allowed: f p n u µ m k M G T)"
        else:
            text = _TYPE_WORDS[self.type]
        if self.choices is not None:
            text += ", one of " + ", ".join(repr(c) for c in self.choices)
        if (bounds := self.bounds()) is not None:
            text += ", " + bounds
        if self.optional:
            text += " (optional)"
        return text

    def bounds(self) -> str | None:
        """The allowed range, e.g. ``">= 1 and <= 16"`` or ``"> 0 S"``; ``None`` when unbounded."""
        parts = []
        if self.min is not None:
            parts.append(f"{'>=' if self.min_inclusive else '>'} {self.format(self.min)}")
        if self.max is not None:
            parts.append(f"{'<=' if self.max_inclusive else '<'} {self.format(self.max)}")
        return " and ".join(parts) or None

    def problem(self, value: Any) -> str | None:
        """Why an already-typed ``value`` is not allowed (range, choices, finiteness), or ``None``."""
        if value is None:
            return None if self.optional else "is required"
        if isinstance(value, float) and not math.isfinite(value):
            return f"is not finite: must be {self.expected()}"
        if self.choices is not None and value not in self.choices:
            return "is not allowed: must be one of " + ", ".join(repr(c) for c in self.choices)
        if isinstance(value, int | float) and not isinstance(value, bool) and value != 0:
            low, high = MAGNITUDE_WINDOW
            if not low <= abs(value) <= high:
                return (f"is out of range: no device or circuit has it; a card number must be 0 or of "
                        f"magnitude {low:g} to {high:g} in SI")
        too_low = self.min is not None and (value < self.min if self.min_inclusive else value <= self.min)
        too_high = self.max is not None and (value > self.max if self.max_inclusive else value >= self.max)
        if too_low or too_high:
            return f"is out of range: must be {self.bounds()}"
        return None


class Derived(property):
    """A property computed from a card's params, with a unit for display (see :func:`derived`)."""

    unit: str | None
    doc: str


def derived(unit: str | None = None, doc: str = "") -> Callable[[Callable[[Any], Any]], Derived]:
    """Decorate a method of a kind as a derived quantity: a read-only property with a unit.

    ``card_rows`` and ``card_to_dict`` show derived quantities after the params.
    """
    if unit is not None and unit not in DIMENSIONS:
        raise TypeError(f"derived quantity unit {unit!r} is not one of {', '.join(DIMENSIONS)}")

    def wrap(function: Callable[[Any], Any]) -> Derived:
        prop = Derived(function, doc=doc or function.__doc__)
        prop.unit = unit
        prop.doc = doc or (function.__doc__ or "").strip()
        return prop

    return wrap


def param(
    unit: str | None = None,
    *,
    gt: float | None = None,
    ge: float | None = None,
    lt: float | None = None,
    le: float | None = None,
    choices: tuple[str, ...] | None = None,
    default: Any = MISSING,
    doc: str = "",
) -> Any:
    """A dataclass field for a ``[params]`` entry: ``param("S", gt=0, doc="...")``.

    ``unit``: canonical SI unit (field holds a float in it); ``gt``/``ge``/``lt``/``le``: bounds in SI;
    ``choices``: allowed strings; ``default``: makes the field optional (quantities: only ``None``).
    """
    if (gt is not None and ge is not None) or (lt is not None and le is not None):
        raise TypeError("give at most one lower (gt/ge) and one upper (lt/le) bound")
    metadata: dict[str, Any] = {"doc": doc}
    if unit is not None:
        metadata["unit"] = unit
    if gt is not None or ge is not None:
        metadata["min"], metadata["min_inclusive"] = (ge, True) if gt is None else (gt, False)
    if lt is not None or le is not None:
        metadata["max"], metadata["max_inclusive"] = (le, True) if lt is None else (lt, False)
    if choices is not None:
        metadata["choices"] = tuple(choices)
    return field(default=default, metadata=metadata)


_REGISTRY: dict[str, type[Card]] = {}


@dataclass(frozen=True, kw_only=True)
class Card:
    """Base of every card kind: identity and provenance; a kind's params are its subclass's fields.

    ``kind`` may be left out when building a card in code (it is filled in from the class).
    """

    name: str
    kind: str = ""
    description: str = ""
    source: Source = field(repr=False)
    path: Path | None = field(default=None, repr=False, compare=False)

    KIND: ClassVar[str] = ""
    PARAMS: ClassVar[tuple[ParamSpec, ...]] = ()

    def __post_init__(self) -> None:
        cls = type(self)
        if not cls.KIND:
            raise TypeError(f"{cls.__name__} is not a registered card kind (use @register_kind)")
        where = self._where()
        if not self.kind:
            object.__setattr__(self, "kind", cls.KIND)
        elif self.kind != cls.KIND:
            raise CardError(f"{where}: kind = {self.kind!r} does not match class {cls.__name__} "
                            f"(kind {cls.KIND!r})")
        if not isinstance(self.name, str) or not NAME_PATTERN.fullmatch(self.name):
            raise CardError(f"{where}: name = {self.name!r} is not a valid card name: use lowercase letters, "
                            "digits and '-' (pattern [a-z0-9][a-z0-9-]*)")
        if not isinstance(self.source, Source):
            raise CardError(f"{where}: source must be a Source, got {type(self.source).__name__}")
        for spec in cls.PARAMS:
            value = getattr(self, spec.name)
            if spec.type is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
                object.__setattr__(self, spec.name, value)
            if value is not None and not _has_type(value, spec.type):
                raise CardError(f"{where}: params.{spec.name} = {value!r} has the wrong type: "
                                f"expected {spec.expected()}")
            if (problem := spec.problem(value)) is not None:
                raise CardError(f"{where}: params.{spec.name} = {spec.format(value)} {problem}")
        try:
            self.check()
        except CardError:
            raise
        except ValueError as exc:
            raise CardError(f"{where}: {exc}") from exc

    def check(self) -> None:
        """Cross-field checks of a kind; raise ``ValueError`` with a message naming ``params.<field>``."""

    def _where(self) -> str:
        return display_path(self.path) if self.path is not None else f"card {self.name!r}"

    def fmt(self, field_name: str) -> str:
        """``params.<field> = <value with unit>``, for messages of :meth:`check`."""
        spec = next(s for s in type(self).PARAMS if s.name == field_name)
        return f"params.{field_name} = {spec.format(getattr(self, field_name))}"


def _has_type(value: Any, kind: type) -> bool:
    if kind is int or kind is float:
        return isinstance(value, kind) and not isinstance(value, bool)
    return isinstance(value, kind)


_C = TypeVar("_C", bound=type[Card])


def register_kind(kind: str) -> Callable[[_C], _C]:
    """Class decorator: register a frozen dataclass subclass of :class:`Card` as card kind ``kind``.

    Checks the class's param fields (types, units, bounds) at import time, so a mistake in a new kind fails
    loudly before any card is read.
    """
    if not _KIND_PATTERN.fullmatch(kind):
        raise TypeError(f"kind name {kind!r} must match [a-z][a-z0-9_]*")

    def register(cls: _C) -> _C:
        if not (isinstance(cls, type) and issubclass(cls, Card) and cls is not Card):
            raise TypeError(f"@register_kind({kind!r}) needs a subclass of Card")
        if "__dataclass_fields__" not in cls.__dict__ or not cls.__dataclass_params__.frozen:  # type: ignore[attr-defined]
            raise TypeError(f"{cls.__name__}: decorate it with @dataclass(frozen=True, kw_only=True) "
                            "below @register_kind")
        previous = _REGISTRY.get(kind)
        if previous is not None and previous.__qualname__ != cls.__qualname__:
            raise TypeError(f"kind {kind!r} is already registered by {previous.__qualname__}")
        cls.PARAMS = _param_specs(cls)
        cls.KIND = kind
        _REGISTRY[kind] = cls
        return cls

    return register


def _param_specs(cls: type[Card]) -> tuple[ParamSpec, ...]:
    hints = typing.get_type_hints(cls)
    base = {f.name for f in dataclasses.fields(Card)}
    specs = []
    for f in dataclasses.fields(cls):
        if f.name in base:
            continue
        where = f"{cls.__name__}.{f.name}"
        annotation = hints[f.name]
        optional = False
        if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1 or len(typing.get_args(annotation)) != 2:
                raise TypeError(f"{where}: only 'T | None' unions are supported")
            annotation, optional = args[0], True
        if annotation not in _TYPES:
            raise TypeError(f"{where}: type must be float, int, str or bool (optionally | None)")
        meta: Mapping[str, Any] = f.metadata
        unknown = set(meta) - {"unit", "min", "max", "min_inclusive", "max_inclusive", "choices", "doc"}
        if unknown:
            raise TypeError(f"{where}: unknown metadata keys {sorted(unknown)}")
        unit = meta.get("unit")
        if unit is not None and (unit not in DIMENSIONS or annotation is not float):
            raise TypeError(f"{where}: unit {unit!r} needs type float and one of {', '.join(DIMENSIONS)}")
        default = f.default
        if f.default_factory is not MISSING:
            raise TypeError(f"{where}: default_factory is not supported")
        if optional and default is MISSING:
            raise TypeError(f"{where}: an optional field needs default=None")
        if unit is not None and default not in (MISSING, None):
            raise TypeError(f"{where}: a quantity may only default to None; physical numbers belong in cards")
        choices = meta.get("choices")
        if choices is not None and annotation is not str:
            raise TypeError(f"{where}: choices need type str")
        specs.append(ParamSpec(
            name=f.name, type=annotation, optional=optional, unit=unit,
            min=meta.get("min"), max=meta.get("max"),
            min_inclusive=meta.get("min_inclusive", True), max_inclusive=meta.get("max_inclusive", True),
            choices=tuple(choices) if choices is not None else None, default=default, doc=meta.get("doc", ""),
        ))
    return tuple(specs)


def kinds() -> dict[str, type[Card]]:
    """Every registered kind, by name (a copy)."""
    return dict(sorted(_REGISTRY.items()))


def get_kind(kind: str) -> type[Card]:
    """The class registered as ``kind``; ``CardError`` listing the known kinds otherwise."""
    try:
        return _REGISTRY[kind]
    except KeyError:
        raise CardError(f"unknown kind {kind!r}; known kinds: {', '.join(sorted(_REGISTRY))}") from None


def param_specs(kind_or_card: str | type[Card] | Card) -> tuple[ParamSpec, ...]:
    """The param schema of a kind (by name, class or instance), in declaration order."""
    cls = get_kind(kind_or_card) if isinstance(kind_or_card, str) else kind_or_card
    return cls.PARAMS


def derived_specs(kind_or_card: str | type[Card] | Card) -> list[tuple[str, Derived]]:
    """``(name, Derived)`` for every derived quantity of a kind, base classes first, in definition order."""
    cls = get_kind(kind_or_card) if isinstance(kind_or_card, str) else kind_or_card
    if not isinstance(cls, type):
        cls = type(cls)
    found: dict[str, Derived] = {}
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            if isinstance(value, Derived):
                found[name] = value
    return list(found.items())
