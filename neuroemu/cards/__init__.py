"""Device and circuit cards: the only home of physical constants in neuroemu.

A card is a small TOML file in ``devices/`` (memory devices) or ``circuits/`` (peripheral and digital
circuits) at the top of the repository; a wheel ships them as ``neuroemu/_cards/``. Every card cites the
paper, and the table or figure, its numbers come from. Code converts to SI at the card boundary and holds SI
floats (siemens, volts, amperes, seconds, joules, watts, hertz, ohms, farads, metres, square metres) inside.

Card format (full reference: ``devices/README.md``)::

    name = "adc-sar-isaac-8b"          # unique, = file name without .toml, pattern [a-z0-9][a-z0-9-]*
    kind = "adc"                       # selects the schema of [params]
    description = "8-bit SAR ADC used per crossbar in ISAAC"

    [source]                           # citation and location required; url and notes optional
    citation = "A. Shafiee et al., ISAAC: ..., ISCA 2016"
    location = "Table 6"
    url = "https://doi.org/10.1109/ISCA.2016.12"
    notes = "..."

    [params]                           # exactly the fields of the kind; optional ones may be left out
    bits = 8                           # dimensionless: plain TOML numbers (or strings for choices)
    sample_rate = "1.28 GHz"           # quantities: "<number> <unit>" strings, prefix + base unit
    power = "2 mW"
    area = "0.0012 mm^2"

Anything else (unknown field, missing field, wrong type or unit, missing unit, NaN/inf, value out of range,
failed cross-field check, bad name, unknown kind, invalid TOML) raises :class:`CardError` whose message
starts with the file and names the field and what it accepts.

Public API::

    load_card(name_or_path, paths=(), kind=None) -> Card
    list_cards(paths=()) -> list[Card]
    read_card(path) -> Card
    search_path(paths=()) -> list[Path]
    card_rows(card) -> list[tuple[str, str]]
    card_to_dict(card) -> dict, card_sha256(card) -> str (of what the card says, not where it lies)
    register_kind(kind), param(unit, gt=, ge=, lt=, le=, choices=, default=, doc=), derived(unit, doc)
    kinds(), get_kind(kind), param_specs(kind), derived_specs(kind)
    parse_quantity(text) -> (float, unit), format_quantity(value, unit) -> str
"""

from neuroemu.cards.circuits import Adc, DigitalOp  # importing a kind module registers its kinds
from neuroemu.cards.devices import IdealDevice
from neuroemu.cards.loader import (
    ENV_VAR,
    builtin_card_dirs,
    card_rows,
    card_sha256,
    card_to_dict,
    list_cards,
    load_card,
    read_card,
    search_path,
)
from neuroemu.cards.rpu_devices import RpuDevice  # noqa: F401  (registers the rpu_* training kinds)
from neuroemu.cards.schema import (
    Card,
    CardError,
    Derived,
    ParamSpec,
    Source,
    UnknownCardError,
    derived,
    derived_specs,
    get_kind,
    kinds,
    param,
    param_specs,
    register_kind,
)
from neuroemu.cards.units import DIMENSIONS, PREFIXES, UnitError, format_quantity, parse_quantity

__all__ = [
    "DIMENSIONS",
    "ENV_VAR",
    "PREFIXES",
    "Adc",
    "Card",
    "CardError",
    "Derived",
    "DigitalOp",
    "IdealDevice",
    "ParamSpec",
    "Source",
    "UnitError",
    "UnknownCardError",
    "builtin_card_dirs",
    "card_rows",
    "card_sha256",
    "card_to_dict",
    "derived",
    "derived_specs",
    "format_quantity",
    "get_kind",
    "kinds",
    "list_cards",
    "load_card",
    "param",
    "param_specs",
    "parse_quantity",
    "read_card",
    "register_kind",
    "search_path",
]
