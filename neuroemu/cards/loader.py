"""Finding, reading and validating card files; display helpers.

Search path, in order: the built-in folders (``neuroemu/_cards/{devices,circuits}`` inside an installed
wheel, else ``<repo>/devices`` and ``<repo>/circuits`` in a source checkout), then the folders listed in the
environment variable ``NEUROEMU_CARDS`` (separated by ``os.pathsep``), then the ``paths`` argument. Only
``*.toml`` files directly inside a folder are cards (no recursion; files starting with ``.`` are skipped).
A card's name is its file name without ``.toml``, and must be unique across the whole search path: a user
card with the same name as a built-in (or another user card) is an error naming both files, never a silent
override.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tomllib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from neuroemu.cards.schema import (
    NAME_PATTERN,
    Card,
    CardError,
    ParamSpec,
    Source,
    UnknownCardError,
    derived_specs,
    display_path,
    get_kind,
    kinds,
)
from neuroemu.cards.units import DIMENSIONS, UnitError, format_quantity, parse_quantity

__all__ = [
    "ENV_VAR",
    "builtin_card_dirs",
    "card_rows",
    "card_sha256",
    "card_to_dict",
    "list_cards",
    "load_card",
    "read_card",
    "search_path",
]

#: environment variable holding extra card folders, separated by ``os.pathsep``.
ENV_VAR = "NEUROEMU_CARDS"

_TOP_LEVEL = ("name", "kind", "description", "source", "params")
_SOURCE_FIELDS = ("citation", "location", "url", "notes", "verified")
_SOURCE_REQUIRED = ("citation", "location")


def builtin_card_dirs() -> list[Path]:
    """The built-in card folders: ``neuroemu/_cards/*`` in a wheel, else the repository's folders."""
    package = Path(__file__).parent.parent
    bundled = package / "_cards"
    root = bundled if bundled.is_dir() else package.parent
    return [root / sub for sub in ("devices", "circuits") if (root / sub).is_dir()]


def search_path(paths: Iterable[Path | str] = ()) -> list[Path]:
    """Every folder searched for cards, in order: built-ins, ``$NEUROEMU_CARDS``, ``paths``.

    A user folder that does not exist is a :class:`CardError` (a typo should not silently hide cards).
    """
    env = [(Path(p), ENV_VAR) for p in os.environ.get(ENV_VAR, "").split(os.pathsep) if p]
    user = env + [(Path(p), "paths") for p in paths]
    folders = list(builtin_card_dirs())
    for folder, origin in user:
        if not folder.is_dir():
            raise CardError(f"{folder}: card folder (from {origin}) does not exist or is not a folder")
        folders.append(folder)
    unique: dict[Path, Path] = {}
    for folder in folders:
        unique.setdefault(folder.resolve(), folder)
    return list(unique.values())


def _index(folders: Sequence[Path]) -> dict[str, list[Path]]:
    found: dict[str, list[Path]] = {}
    for folder in folders:
        for path in sorted(folder.glob("*.toml")):
            if path.name.startswith(".") or not path.is_file():
                continue
            found.setdefault(path.stem, []).append(path)
    return found


def _unique(name: str, files: list[Path]) -> Path:
    if len(files) > 1:
        listed = " and ".join(display_path(f) for f in files)
        raise CardError(f"card name {name!r} is defined more than once: {listed}; names must be unique "
                        f"across the search path (built-in folders, ${ENV_VAR}, paths): rename one of them")
    return files[0]


def _looks_like_path(text: str) -> bool:
    seps = {"/", os.sep, os.altsep} - {None}
    return text.endswith(".toml") or any(sep in text for sep in seps) or Path(text).is_file()


def load_card(name_or_path: str | Path, paths: Sequence[Path | str] = (), kind: str | None = None) -> Card:
    """Load one card by name (looked up in :func:`search_path`) or by file path.

    A :class:`~pathlib.Path`, an existing file or a string ending in ``.toml`` (or containing a path
    separator) is read directly. With ``kind``, a card of another kind is a :class:`CardError`. An unknown
    name raises :class:`UnknownCardError` listing every known card name.
    """
    if kind is not None:
        get_kind(kind)
    if isinstance(name_or_path, Path) or _looks_like_path(name_or_path):
        path = Path(name_or_path)
        if not path.is_file():
            raise UnknownCardError(f"{display_path(path)}: no such card file")
    else:
        index = _index(search_path(paths))
        if name_or_path not in index:
            known = ", ".join(sorted(index)) or "(none)"
            folders = ", ".join(display_path(f) for f in search_path(paths)) or "(none)"
            raise UnknownCardError(f"unknown card {name_or_path!r}; known cards: {known} "
                                   f"(searched {folders})")
        path = _unique(name_or_path, index[name_or_path])
    card = read_card(path)
    if kind is not None and card.kind != kind:
        raise CardError(f"{display_path(path)}: card {card.name!r} is of kind {card.kind!r}, "
                        f"but a card of kind {kind!r} is needed here")
    return card


def list_cards(paths: Sequence[Path | str] = ()) -> list[Card]:
    """Every card in the search path, sorted by kind then name; any broken card raises, naming its file."""
    index = _index(search_path(paths))
    cards = [read_card(_unique(name, files)) for name, files in index.items()]
    return sorted(cards, key=lambda c: (c.kind, c.name))


def read_card(path: Path | str) -> Card:
    """Read and validate one card file (no search path involved)."""
    path = Path(path)
    where = display_path(path)
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise CardError(f"{where}: invalid TOML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise CardError(f"{where}: invalid TOML: not UTF-8 ({exc})") from exc
    except RecursionError:  # arrays or tables nested thousands deep
        raise CardError(f"{where}: invalid TOML: nested too deeply") from None
    except OSError as exc:
        raise CardError(f"{where}: cannot read card: {exc.strerror or exc}") from exc
    return _build(data, path, where)


def _fail(where: str, message: str) -> CardError:
    return CardError(f"{where}: {message}")


def _build(data: dict[str, Any], path: Path, where: str) -> Card:
    unknown = sorted(set(data) - set(_TOP_LEVEL))
    if unknown:
        raise _fail(where, f"unknown top-level field(s) {', '.join(unknown)}: allowed are "
                           "name, kind, description, [source], [params]")
    for key in ("name", "kind", "description", "source"):
        if key not in data:
            what = "table [source] (citation, location, url, notes)" if key == "source" else "string"
            raise _fail(where, f"missing required field {key!r} (a {what})")
    for key in ("name", "kind", "description"):
        if not isinstance(data[key], str):
            raise _fail(where, f"{key} = {_show(data[key])} has the wrong type: expected a string")
    name, kind = data["name"], data["kind"]
    if not NAME_PATTERN.fullmatch(name):
        raise _fail(where, f"name = {name!r} is not a valid card name: use lowercase letters, digits and '-' "
                           "(pattern [a-z0-9][a-z0-9-]*)")
    if name != path.stem:
        raise _fail(where, f"name = {name!r} does not match the file name {path.name!r}: a card's name is "
                           "its file name without .toml")
    if not data["description"].strip():
        raise _fail(where, "description must not be empty")
    try:
        cls = get_kind(kind)
    except CardError as exc:
        raise _fail(where, f"kind = {kind!r} is not a known kind; known kinds: {', '.join(kinds())}") from exc
    source = _source(data["source"], where)
    params = data.get("params", {})
    if not isinstance(params, dict):
        raise _fail(where, f"params = {_show(params)} has the wrong type: expected a table [params]")
    values = _params(params, cls, where)
    return cls(name=name, kind=kind, description=data["description"], source=source, path=path, **values)


def _source(table: Any, where: str) -> Source:
    if not isinstance(table, dict):
        raise _fail(where, f"source = {_show(table)} has the wrong type: expected a table [source]")
    unknown = sorted(set(table) - set(_SOURCE_FIELDS))
    if unknown:
        raise _fail(where, f"unknown field(s) source.{', source.'.join(unknown)}: allowed are "
                           f"{', '.join(_SOURCE_FIELDS)}")
    for key in _SOURCE_REQUIRED:
        if key not in table:
            raise _fail(where, f"missing required field source.{key} (a non-empty string)")
    for key, value in table.items():
        if key == "verified":
            if not isinstance(value, bool):
                raise _fail(where, f"source.verified = {_show(value)} has the wrong type: expected true or "
                                   "false")
            continue
        if not isinstance(value, str):
            raise _fail(where, f"source.{key} = {_show(value)} has the wrong type: expected a string")
        if not value.strip():
            raise _fail(where, f"source.{key} must not be empty")
    return Source(**table)


def _params(table: dict[str, Any], cls: type[Card], where: str) -> dict[str, Any]:
    specs = {spec.name: spec for spec in cls.PARAMS}
    unknown = sorted(set(table) - set(specs))
    if unknown:
        raise _fail(where, f"unknown parameter(s) params.{', params.'.join(unknown)} for kind {cls.KIND!r}; "
                           f"allowed: {', '.join(specs) or '(none)'}")
    values = {}
    for name, spec in specs.items():
        if name not in table:
            if spec.required:
                raise _fail(where, f"missing required parameter params.{name}: expected {spec.expected()}")
            continue
        values[name] = _value(table[name], spec, where)
    return values


def _value(raw: Any, spec: ParamSpec, where: str) -> Any:
    label = f"params.{spec.name}"
    if isinstance(raw, float) and not math.isfinite(raw):
        raise _fail(where, f"{label} = {_show(raw)} is not finite: expected {spec.expected()}")
    if spec.unit is not None:
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            raise _fail(where, f"{label} = {_show(raw)} has no unit: write it as a string '<number> <unit>', "
                               f"expected {spec.expected()}")
        if not isinstance(raw, str):
            raise _fail(where, f"{label} = {_show(raw)} has the wrong type: expected {spec.expected()}")
        try:
            value, unit = parse_quantity(raw)
        except UnitError as exc:
            raise _fail(where, f"{label} = {raw} {exc}: expected {spec.expected()}") from exc
        if unit != spec.unit:
            raise _fail(where, f"{label} = {raw} has the wrong unit: {unit} measures {DIMENSIONS[unit]}, "
                               f"expected {spec.expected()}")
        shown = raw.strip()
    else:
        ok = isinstance(raw, spec.type) and not (spec.type in (int, float) and isinstance(raw, bool))
        if spec.type is float and isinstance(raw, int) and not isinstance(raw, bool):
            raw, ok = float(raw), True
        if not ok:
            raise _fail(where, f"{label} = {_show(raw)} has the wrong type: expected {spec.expected()}")
        value, shown = raw, _show(raw)
    if isinstance(value, float) and not math.isfinite(value):
        raise _fail(where, f"{label} = {shown} is not finite: expected {spec.expected()}")
    if (problem := spec.problem(value)) is not None:
        raise _fail(where, f"{label} = {shown} {problem}")
    return value


def _show(value: Any) -> str:
    """A TOML-ish rendering of a raw value for messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, dict):
        return "{table}"
    if isinstance(value, list):
        return "[array]"
    return str(value)


def card_rows(card: Card) -> list[tuple[str, str]]:
    """``(field, value)`` rows for display: every param with its unit (``("g_max", "25 µS")``), then every
    derived quantity as ``("<name> (derived)", "1.5625 pJ")``. Identity and source are not repeated here:
    they are attributes of the card (``card.name``, ``card.source.citation``, ...)."""
    rows = []
    for spec in card.PARAMS:
        rows.append((spec.name, spec.format(getattr(card, spec.name))))
    for name, prop in derived_specs(card):
        value = getattr(card, name)
        if value is None:
            shown = "none"
        elif prop.unit is not None:
            shown = format_quantity(value, prop.unit)
        else:
            shown = f"{value:.6g}" if isinstance(value, float) else str(value)
        rows.append((f"{name} (derived)", shown))
    return rows


def card_to_dict(card: Card) -> dict[str, Any]:
    """A JSON-serialisable dict: identity, source, path, params and derived quantities in SI, and units.

    A derived quantity that is infinite (``on_off_ratio`` when g_min = 0) is ``None`` (JSON ``null``): JSON
    has no infinity."""
    params = {spec.name: getattr(card, spec.name) for spec in card.PARAMS}
    derived = {name: _json_number(getattr(card, name)) for name, _ in derived_specs(card)}
    units = {spec.name: spec.unit for spec in card.PARAMS}
    units.update({name: prop.unit for name, prop in derived_specs(card)})
    return {
        "name": card.name,
        "kind": card.kind,
        "description": card.description,
        "source": {key: getattr(card.source, key) for key in _SOURCE_FIELDS},
        "path": str(card.path) if card.path is not None else None,
        "params": params,
        "derived": derived,
        "units": units,
    }


def _json_number(value: Any) -> Any:
    """``value``, or ``None`` when it is a float that is not finite."""
    return None if isinstance(value, float) and not math.isfinite(value) else value


def card_sha256(card: Card) -> str:
    """The sha256 of what a card says (identity, source, params; not where its file lies), so that two runs
    priced or emulated with different numbers under one card name are told apart."""
    content = card_to_dict(card)
    del content["path"]
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
