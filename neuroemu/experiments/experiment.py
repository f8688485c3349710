"""Experiment files (TOML): a model, a data set, substrates with their spec fields, and a grid of points.

```toml
name = "sweep-quick"            # default: the file's stem
model = "lenet5-mnist"          # every substrate's network unless it names its own
limit = 200                     # test images (default: all)
calibration_images = 64         # training images that calibrate converters / neuron scales
seed = 0                        # every spec with a seed field (unless it sets one)
trials = 5                      # crossbar: chips per point; seeded substrates: repeated runs

[pricing]                       # optional
accumulator_bits = 16
cards = { adc = "adc-sar-isaac-8b" }

[[substrate]]
name = "crossbar"
device = ["rram-wan2022", "pcm-joshi2020"]   # a list is a grid axis: the points are the product
time = ["1s", "1d", "1y"]
drift_compensation = [false, true]

[[substrate]]
name = "stochastic"
length = [64, 256, 1024]
[substrate.zip]                 # lists that move together (equal lengths), combined with the product
block = ["apc-max-btanh", "apc-avg-btanh"]
model = ["lenet5-mnist-tanh", "lenet5-mnist-tanh-avg"]
```

The keys of a substrate block are its spec's fields (derived from their declarations: a new spec field is a
new key) plus ``name``, ``model``, ``dataset``, ``limit``, ``calibration_images``, ``trials``, ``cards``
and ``zip``. Text values are read as the command line reads them (``"none"``, ``"256x256"``, ``"1d"``);
tuple fields take a string (``array = "128x128"``) or a list of numbers for one value. Everything is
checked before the first point runs: an unknown key lists the known ones, a bad value names the key, the
block and the allowed values, and every point's spec, model, data set and cards are built once.
"""

from __future__ import annotations

import itertools
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neuroemu.cards import CardError
from neuroemu.data import DATASETS
from neuroemu.experiments.energy import load_role_cards, resolve_cards
from neuroemu.experiments.point import Point, make_config
from neuroemu.nets import CheckpointError, UnknownModelError
from neuroemu.registration import Registration
from neuroemu.specs import Option, SpecError, build_spec, options, parse_text, presets
from neuroemu.substrates import UnknownSubstrateError, get, names

__all__ = ["Experiment", "ExperimentError", "load_experiment", "parse_experiment"]

#: keys of the file's top level
TOP_KEYS = ("name", "description", "model", "dataset", "limit", "calibration_images", "seed", "trials",
            "pricing", "substrate")
#: keys of a substrate block beside its spec's fields
POINT_KEYS = ("name", "model", "dataset", "limit", "calibration_images", "trials", "cards", "zip")
PRICING_KEYS = ("accumulator_bits", "multiplier_bits", "cards", "paths")


class ExperimentError(ValueError):
    """An experiment file that cannot run; the message names the file, the place and the allowed values."""


@dataclass(frozen=True)
class Experiment:
    """A parsed, checked experiment: its name and every point, in file order."""

    name: str
    points: tuple[Point, ...]


def load_experiment(path: Path | str) -> Experiment:
    """Read and check an experiment file (see the module)."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ExperimentError(f"{path}: cannot read the experiment file: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ExperimentError(f"{path}: not valid TOML: {exc}") from exc
    return parse_experiment(data, default_name=path.stem, where=str(path), base=path.parent)


def parse_experiment(data: Mapping[str, Any], *, default_name: str = "experiment",
                     where: str = "experiment", base: Path | None = None) -> Experiment:
    """Check an experiment's data (a parsed TOML document) and expand it into its points; relative paths of
    model and card files and card folders are read from ``base`` (the file's folder) where they exist."""
    _known(data, TOP_KEYS, where)
    name = _typed(data.get("name", default_name), str, f"{where}: name")
    blocks = data.get("substrate")
    if not isinstance(blocks, list) or not blocks or not all(isinstance(b, dict) for b in blocks):
        raise ExperimentError(f"{where}: needs at least one [[substrate]] table with a name, one of "
                              f"{', '.join(names())}")
    pricing = dict(data.get("pricing", {}))
    _known(pricing, PRICING_KEYS, f"{where}: [pricing]")
    folders = pricing.get("paths", [])
    if not isinstance(folders, list) or not all(isinstance(f, str) for f in folders):
        raise ExperimentError(f"{where}: [pricing] paths must be a list of card folders, got {folders!r}")
    pricing["paths"] = [_local(f, base) for f in folders]
    points: list[Point] = []
    for number, block in enumerate(blocks, start=1):
        points += _expand(block, data, pricing, name, f"{where}: [[substrate]] #{number}", base)
    return Experiment(name=name, points=tuple(points))


def _known(table: Mapping[str, Any], known: tuple[str, ...] | list[str], where: str) -> None:
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise ExperimentError(f"{where}: unknown key {unknown[0]!r}; known keys: {', '.join(known)}")


def _typed(value: Any, kind: type, where: str, *, minimum: int | None = None) -> Any:
    ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
    if not ok or (minimum is not None and value < minimum):
        word = {str: "a string", int: "an integer"}[kind]
        bound = f" >= {minimum}" if minimum is not None else ""
        raise ExperimentError(f"{where} must be {word}{bound}, got {value!r}")
    return value


def _local(text: str, base: Path | None) -> str:
    """A relative path read from the experiment file's folder when it names something there."""
    if base is None or Path(text).is_absolute() or not (base / text).exists():
        return text
    return str(base / text)


def _expand(block: Mapping[str, Any], top: Mapping[str, Any], pricing: Mapping[str, Any], experiment: str,
            where: str, base: Path | None = None) -> list[Point]:
    """The points of one substrate block: the product of its list-valued keys, times its zip."""
    try:
        registration = get(_typed(block.get("name"), str, f"{where}: name"))
    except UnknownSubstrateError as exc:
        raise ExperimentError(f"{where}: {exc}") from None
    declared = {o.name: o for o in options(registration.spec)}
    _known(block, [*POINT_KEYS, *declared, *(["preset"] if presets(registration.spec) else [])], where)
    zipped = block.get("zip", {})
    if not isinstance(zipped, dict):
        raise ExperimentError(f"{where}: zip must be a table of lists of one length, got {zipped!r}")
    zippable = [k for k in (*POINT_KEYS, *declared) if k not in ("name", "zip", "cards")]
    _known(zipped, zippable, f"{where}: zip")
    lengths = {len(v) if isinstance(v, list) else 0 for v in zipped.values()}
    if zipped and (len(lengths) != 1 or 0 in lengths):
        raise ExperimentError(f"{where}: zip needs non-empty lists of one and the same length, got "
                              f"{dict(zipped)}")
    fixed = {k: v for k, v in block.items() if k not in ("name", "zip")}
    axes = {k: v for k, v in fixed.items() if _is_axis(k, v, declared)}
    combos = list(itertools.product(*axes.values())) or [()]
    zip_rows = list(zip(*zipped.values(), strict=True)) if zipped else [()]
    points = []
    for combo in combos:
        for row in zip_rows:
            values = {**fixed, **dict(zip(axes, combo, strict=True)), **dict(zip(zipped, row, strict=True))}
            # what singles the point out: the grid's values and the spec fields the block sets
            varied = {**{k: v for k, v in fixed.items() if k in declared}, **{k: values[k]
                                                                              for k in (*axes, *zipped)}}
            points.append(_point(registration, values, varied, top, pricing, experiment, where, base))
    return points


def _is_axis(key: str, value: Any, declared: Mapping[str, Option]) -> bool:
    """A list is a grid axis, except a list of numbers for a tuple field (one value) and ``cards``."""
    if not isinstance(value, list) or key == "cards":
        return False
    tuple_field = key in declared and declared[key].kind in ("pair", "triple")
    return not (tuple_field and all(isinstance(v, int | float) for v in value))


def _point(registration: Registration, values: Mapping[str, Any], varied: Mapping[str, Any],
           top: Mapping[str, Any], pricing: Mapping[str, Any], experiment: str, where: str,
           base: Path | None = None) -> Point:
    here = f"{where} ({', '.join(f'{k}={v!r}' for k, v in varied.items())})" if varied else where
    declared = {o.name: o for o in options(registration.spec)}
    fields = {k: _spec_value(declared[k], _local(v, base) if declared[k].kind == "card" and isinstance(v, str)
                             else v, here) for k, v in values.items() if k in declared and k != "trials"}
    if "preset" in values:
        fields["preset"] = _typed(values["preset"], str, f"{here}: preset")
    if "seed" in declared and "seed" not in fields and "seed" in top:
        fields["seed"] = _typed(top["seed"], int, f"{where}: seed")
    trials = _typed(values.get("trials", top.get("trials", 1)), int, f"{here}: trials", minimum=1)
    repeats = 1
    chips = "trials" in declared and (registration.chip_trials is None or registration.chip_trials(fields))
    if chips:
        fields["trials"] = trials
    elif "seed" in declared:
        repeats = trials
    try:
        spec = registration.complete(build_spec(registration.spec, fields))
        resolve_cards(spec)
    except (SpecError, CardError) as exc:
        raise ExperimentError(f"{here}: {exc}") from None
    model = _local(_typed(values.get("model", top.get("model")), str, f"{here}: model"), base)
    dataset = values.get("dataset", top.get("dataset"))
    if dataset is not None and dataset not in DATASETS:
        raise ExperimentError(f"{here}: unknown dataset {dataset!r}; known: {', '.join(sorted(DATASETS))}")
    limit = values.get("limit", top.get("limit"))
    if limit is not None:
        _typed(limit, int, f"{here}: limit", minimum=1)
    calibration = _typed(values.get("calibration_images", top.get("calibration_images", 64)), int,
                         f"{here}: calibration_images", minimum=1)
    cards = {r: _local(n, base) if isinstance(n, str) else n
             for r, n in {**pricing.get("cards", {}), **values.get("cards", {})}.items()}
    _check_cards(registration, cards, here)
    point_pricing = {**{k: v for k, v in pricing.items() if k != "cards"}, "cards": cards}
    for key in ("accumulator_bits", "multiplier_bits"):
        if key in point_pricing:
            _typed(point_pricing[key], int, f"{where}: [pricing] {key}", minimum=1)
    try:
        config = make_config(registration.name, model, spec, experiment=experiment, dataset=dataset,
                             limit=limit, calibration_images=calibration, repeats=repeats,
                             pricing=point_pricing)
    except (UnknownModelError, CheckpointError) as exc:
        raise ExperimentError(f"{here}: {exc}") from None
    if registration.check_model is not None:
        try:
            registration.check_model(spec, model)
        except ValueError as exc:
            raise ExperimentError(f"{here}: {exc}") from None
    return Point(config=config, axes=dict(varied))


def _spec_value(declared: Option, value: Any, where: str) -> Any:
    """A spec field's value from TOML: text read as the command line reads it, numbers as they are."""
    try:
        if isinstance(value, str):
            return parse_text(declared, value)
        if isinstance(value, list) and declared.kind in ("pair", "triple"):
            return tuple(value)
        if declared.kind == "float" and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        return value
    except SpecError as exc:
        raise ExperimentError(f"{where}: {exc}") from None


def _check_cards(registration: Registration, cards: Mapping[str, Any], where: str) -> None:
    if not all(isinstance(v, str) and v for v in cards.values()):
        raise ExperimentError(f"{where}: cards must map roles to card names, got {dict(cards)}")
    try:
        load_role_cards(registration, cards)
    except (CardError, ValueError) as exc:
        raise ExperimentError(f"{where}: cards: {exc}") from None
