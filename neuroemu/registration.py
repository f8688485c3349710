"""What a substrate package registers: one :class:`Registration` object, in its own ``substrate.py``.

The object says everything the rest of neuroemu needs to run a model on the substrate and to price it, so
that the command line, the energy command, the demo and the sweeps loop over the registry
(:mod:`neuroemu.substrates`) and never switch on a substrate's name:

- ``spec``: the spec class (a frozen dataclass whose fields are declared with :func:`neuroemu.specs.option`;
  its ``apply(model)`` replaces the layers the hardware changes). Command-line flags, validation and
  defaults derive from its fields.
- ``calibrate(emulated, images)``: what must see training images after mapping and before running
  (converter ranges, neuron scales); it may return a JSON-ready summary of what it set (kept with the
  results); ``None`` when nothing needs calibrating.
- ``random(spec)``: whether the spec's ``seed`` changes the results (so repeated runs with other seeds give
  a spread); default: the spec has a ``seed`` field.
- ``chips(spec)``: independent chip instances one forward runs per image (crossbar trials), so that
  energy per inference divides by images × chips; ``chip_trials(fields)``: whether an experiment file's
  ``trials`` are such chips for those spec fields (spiking: only on crossbar synapses) or seeded runs.
- ``complete(spec)``: fills defaults that depend on other fields, as the commands want them (a crossbar
  on a two-level device stores float weights over 8 one-bit cells).
- ``check_model(spec, model)``: refuses (``ValueError`` naming the field) a spec that does not fit the
  model (a shipped name or a checkpoint path), cheaply and before any point runs (an SC design naming a
  layer the model lacks); ``None``: the mapping itself is the check.
- ``card_roles`` / ``load_cards(paths, names)``: the substrate's own circuit cards beyond the standard ones
  (``--card ROLE=NAME``), loaded into one object handed to the rules and the floorplan.
- ``price_rules(context)``: price rules for its events beyond :func:`neuroemu.cost.rules.standard_book`,
  built from the ledger and the cards alone (so a saved ledger prices again without the model).
- ``floorplan(spec, emulated, context)`` / ``programming(emulated)``: latency and area, and the one-time
  energy to program the chip, where the cards give a basis (``None`` otherwise).
- ``demo``: its part of ``neuroemu demo``, as substrate blocks of an experiment file
  (:mod:`neuroemu.experiments.experiment`) with the ``--quick`` changes and the points its row of the demo's
  final table shows.

Adding a substrate: write its package (spec, layers, this object) and add the object to
:data:`neuroemu.substrates.BUILT_IN` (or call :func:`neuroemu.substrates.register`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
from torch import nn

from neuroemu.cards import Card
from neuroemu.cost.floorplan import Floorplan
from neuroemu.cost.pricing import Rule
from neuroemu.cost.programming import ProgrammingEnergy
from neuroemu.cost.rules import CircuitCards
from neuroemu.ledger import Ledger

__all__ = ["DemoBlock", "PriceContext", "Registration"]


@dataclass(frozen=True)
class PriceContext:
    """What price rules and floorplans may read: the ledger of a run and the cards, never the model."""

    ledger: Ledger
    inferences: int  #: images × chips the ledger covers
    cards: CircuitCards  #: the standard cards (digital arithmetic, converters, shift-and-add)
    own_cards: Any = None  #: what the substrate's ``load_cards`` returned (``None`` when it has none)
    accumulator_bits: int = 16
    multiplier_bits: int = 8
    paths: tuple[Path | str, ...] = ()  #: extra card folders (device cards named by events)
    #: cards the caller holds (a spec's card objects, e.g. built in code or read from a file path), found
    #: by name before the search path
    held_cards: tuple[Card, ...] = ()


@dataclass(frozen=True)
class DemoBlock:
    """A substrate's part of ``neuroemu demo``: one ``[[substrate]]`` block of an experiment file (its keys
    and values as TOML gives them, without ``name``), what ``--quick`` changes in it, and which of its points
    stand in the demo's final table (``headline``: axis values; empty: every point)."""

    block: Mapping[str, Any]
    quick: Mapping[str, Any] = field(default_factory=dict)
    headline: Mapping[str, Any] = field(default_factory=dict)


def _no_rules(_context: PriceContext) -> list[Rule]:
    return []


def _has_seed(spec: Any) -> bool:
    return any(f.name == "seed" for f in fields(spec))


def _one_chip(_spec: Any) -> int:
    return 1


def _unchanged(spec: Any) -> Any:
    return spec


@dataclass(frozen=True)
class Registration:
    """One substrate, as its package registers it (see the module)."""

    name: str
    spec: type
    summary: str
    calibrate: Callable[[nn.Module, torch.Tensor], Any] | None = None
    random: Callable[[Any], bool] = _has_seed
    chips: Callable[[Any], int] = _one_chip
    complete: Callable[[Any], Any] = _unchanged
    check_model: Callable[[Any, str], None] | None = None
    card_roles: Mapping[str, str] = field(default_factory=dict)  #: role → help
    load_cards: Callable[[Sequence[Path | str], Mapping[str, str]], Any] | None = None
    price_rules: Callable[[PriceContext], list[Rule]] = _no_rules
    floorplan: Callable[[Any, nn.Module, PriceContext], Floorplan | None] | None = None
    programming: Callable[[nn.Module], ProgrammingEnergy] | None = None
    demo: tuple[DemoBlock, ...] = ()
    #: training images that calibrate it when a command is not told (``energy --calibration-images``)
    calibration_images: int = 64
    #: whether an experiment file's ``trials`` are chip instances (the spec's ``trials`` field) for these
    #: spec fields, or runs with seeds seed, seed + 1, ...; ``None``: chips whenever the spec has the field
    chip_trials: Callable[[Mapping[str, Any]], bool] | None = None

    def __post_init__(self) -> None:
        if not self.name or not self.name.replace("-", "").isalnum() or self.name != self.name.lower():
            raise ValueError(f"a substrate name is lowercase letters, digits and '-', got {self.name!r}")
        if not (isinstance(self.spec, type) and hasattr(self.spec, "apply")):
            raise TypeError(f"substrate {self.name!r}: spec must be a spec class with apply(model)")
        if bool(self.card_roles) != (self.load_cards is not None):
            raise TypeError(f"substrate {self.name!r}: card_roles and load_cards go together")
