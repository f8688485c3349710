"""Run a network on any registered substrate while its ledger records, then price the ledger.

:func:`measure` maps the model with the substrate's spec, calibrates it when the substrate needs it, runs the
images inside :func:`neuroemu.ledger.recording` and prices the ledger with the standard rules
(:func:`neuroemu.cost.rules.standard_book`) plus the rules the substrate registers. Nothing here knows a
substrate by name: everything comes from its :class:`~neuroemu.registration.Registration`.

A measurement saves as its ledger, the inferences it covers and the spec's fields (:meth:`Measurement.saved`);
:func:`reprice` prices such a file again with other cards from the ledger alone, since every quantity a price
needs (conductances read, converter bits, generator widths, memory cards) travels in the ledger's events.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

import neuroemu
from neuroemu.cards import Card, card_sha256, load_card
from neuroemu.cards.schema import display_path
from neuroemu.cost.floorplan import Floorplan
from neuroemu.cost.pricing import EnergyReport, PricingError, price
from neuroemu.cost.programming import ProgrammingEnergy
from neuroemu.cost.rules import DEFAULT_CARDS, CircuitCards, standard_book
from neuroemu.ledger import Ledger, recording
from neuroemu.registration import PriceContext, Registration
from neuroemu.specs import build_spec, options
from neuroemu.substrates import get

__all__ = [
    "SAVED_FORMAT",
    "STANDARD_ROLES",
    "Measurement",
    "Recorded",
    "card_roles",
    "check_saved",
    "load_role_cards",
    "measure",
    "per_image_energy",
    "price_run",
    "record",
    "reprice",
    "resolve_cards",
    "spec_card_hashes",
    "spec_options",
]

#: format tag of a saved run (Measurement.saved / reprice): /3 holds the sha256 of the cards it was emulated
#: with; /2 lacked them, /1 also lacked what pricing reads from the ledger (both refused)
SAVED_FORMAT = "neuroemu-energy-run/3"
_OLDER_FORMATS = {
    "neuroemu-energy-run/1": "whose ledger lacks what its pricing needs, such as the conductances its reads "
                             "drew",
    "neuroemu-energy-run/2": "which does not record the cards it was emulated with, so a card of the same "
                             "name could silently price it",
}


@dataclass(frozen=True)
class Recorded:
    """A substrate run: the emulated model, its ledger and the inferences it covers (images × chips)."""

    emulated: nn.Module
    ledger: Ledger
    inferences: int


@dataclass(frozen=True)
class Measurement:
    """A priced run: what was run (substrate, spec), its ledger, the energy report, the floorplan and the
    one-time programming energy where the substrate gives them."""

    substrate: str
    spec: Any
    ledger: Ledger
    report: EnergyReport
    options: dict[str, Any] = field(default_factory=dict)  #: the spec's fields and the datapath widths
    floorplan: Floorplan | None = None
    programming: ProgrammingEnergy | None = None
    #: energy of each inference, where the ledger splits its events by image (:func:`per_image_energy`)
    per_image_j: tuple[float, ...] | None = None
    #: circuits the run's ledger leaves out, with why (the emulated model's ``not_counted``)
    not_counted: tuple[Mapping[str, Any], ...] = ()

    def saved(self) -> dict[str, Any]:
        """What :func:`reprice` needs to price this run again with other cards, without emulating it."""
        return {"format": SAVED_FORMAT, "substrate": self.substrate, "inferences": self.report.images,
                "ledger": self.ledger.to_list(), "options": dict(self.options),
                "card_sha256": spec_card_hashes(self.spec)}


def spec_options(spec: Any) -> dict[str, Any]:
    """The fields of ``spec`` as JSON-ready values (cards by name, tuples as lists)."""
    values: dict[str, Any] = {}
    for declared in options(spec):
        value = getattr(spec, declared.name)
        if isinstance(value, Card):
            value = value.name
        elif isinstance(value, tuple):
            value = list(value)
        values[declared.name] = value
    return values


def spec_card_hashes(spec: Any) -> dict[str, str]:
    """Card name → :func:`~neuroemu.cards.card_sha256` of the cards ``spec`` holds (loaded cards only)."""
    return {value.name: card_sha256(value) for declared in options(spec)
            if isinstance(value := getattr(spec, declared.name), Card)}


def _check_recorded_cards(recorded: Any, paths: Sequence[Path | str]) -> None:
    """The cards a saved run was emulated with (its device, its memory) are the cards found now under
    their names: the ledger's events were drawn from them, so another card of the same name would price
    events it did not cause."""
    if not isinstance(recorded, dict):
        raise PricingError("saved run is damaged: card_sha256 must map card names to sha256 strings")
    for name, sha in recorded.items():
        card = load_card(str(name), paths)
        if card_sha256(card) != sha:
            raise PricingError(
                f"the run was recorded with a card {name!r} that differs from the one found now "
                f"({display_path(card.path) if card.path else name}): re-pricing it would price the ledger "
                "with numbers it was not emulated with; give the recorded card a name of its own and its "
                "folder with --path, or run again")


def _registration(substrate: str | Registration) -> Registration:
    return substrate if isinstance(substrate, Registration) else get(substrate)


def record(substrate: str | Registration, model: nn.Module, images: torch.Tensor, spec: Any = None, *,
           calibration: torch.Tensor | None = None, **fields: Any) -> Recorded:
    """Run ``images`` through ``model`` mapped onto ``substrate`` while a ledger records.

    ``spec``: the substrate's spec; without it one is built from ``fields`` on top of the spec's
    command-line defaults and completed by the substrate (:func:`neuroemu.specs.build_spec`). Substrates
    that calibrate do so on ``calibration`` (default: ``images``)."""
    registration = _registration(substrate)
    if len(images) == 0:
        raise ValueError("need at least one image")
    spec = resolve_cards(_resolve(registration, spec, fields))
    emulated = neuroemu.map(model.eval(), spec)
    if registration.calibrate is not None:
        registration.calibrate(emulated, calibration if calibration is not None else images)
    ledger = Ledger()
    with torch.inference_mode(), recording(emulated, ledger):
        emulated(images)
    return Recorded(emulated, ledger, len(images) * registration.chips(spec))


def measure(substrate: str | Registration, model: nn.Module, images: torch.Tensor, spec: Any = None, *,
            cards: CircuitCards | None = None, own_cards: Any = None, calibration: torch.Tensor | None = None,
            accumulator_bits: int = 16, multiplier_bits: int = 8, paths: Sequence[Path | str] = (),
            **fields: Any) -> Measurement:
    """Run and price: the energy of ``model`` on ``substrate`` for ``images`` (see :func:`record`).

    ``cards``: the standard cards (default :data:`~neuroemu.cost.rules.DEFAULT_CARDS`); ``own_cards``: the
    substrate's own cards (default: its ``load_cards`` with no replacement); ``paths``: extra card folders.
    The floorplan and the programming energy are computed where the substrate registers them."""
    registration = _registration(substrate)
    spec = resolve_cards(_resolve(registration, spec, fields), paths)
    run = record(registration, model, images, spec, calibration=calibration)
    return price_run(registration, spec, run, cards=cards, own_cards=own_cards,
                     accumulator_bits=accumulator_bits, multiplier_bits=multiplier_bits, paths=paths)


def price_run(registration: Registration, spec: Any, run: Recorded, *, cards: CircuitCards | None = None,
              own_cards: Any = None, accumulator_bits: int = 16, multiplier_bits: int = 8,
              paths: Sequence[Path | str] = ()) -> Measurement:
    """Price a recorded run of ``spec`` on ``registration`` (see :func:`measure`): its energy report, and its
    floorplan and programming energy where the substrate registers them."""
    held = tuple(getattr(spec, o.name) for o in options(spec) if isinstance(getattr(spec, o.name), Card))
    context = _context(registration, run.ledger, run.inferences, cards, own_cards, accumulator_bits,
                       multiplier_bits, paths, held)
    report = _price(registration, context)
    per_image = per_image_energy(registration, context)
    floorplan = registration.floorplan(spec, run.emulated, context) if registration.floorplan else None
    programming = registration.programming(run.emulated) if registration.programming else None
    used = {**spec_options(spec), "accumulator_bits": accumulator_bits, "multiplier_bits": multiplier_bits}
    return Measurement(substrate=registration.name, spec=spec, ledger=run.ledger, report=report, options=used,
                       floorplan=floorplan, programming=programming, per_image_j=per_image,
                       not_counted=tuple(getattr(run.emulated, "not_counted", ())))


def per_image_energy(registration: Registration, context: PriceContext) -> tuple[float, ...] | None:
    """The energy of each inference of a ledger that splits its events by image (one ledger per
    inference in :attr:`~neuroemu.ledger.Ledger.images`, adding up to the whole), priced by the same rules
    as the whole; ``None`` when it does not (the split is missing, partial or covers other inferences)."""
    ledger = context.ledger
    if len(ledger.images) != context.inferences:
        return None
    whole = Ledger()
    for image in ledger.images:
        whole.merge(image)
    if whole != ledger:
        return None
    book = standard_book(context.cards, accumulator_bits=context.accumulator_bits,
                         multiplier_bits=context.multiplier_bits, extra=registration.price_rules(context))
    unit: dict[tuple[Any, ...], float] = {}  # energy of one event of each entry's identity
    energies = []
    for image in ledger.images:
        total = 0.0
        for entry in image.entries():
            key = (entry.event, entry.layer, tuple(sorted(entry.attrs.items())))
            if key not in unit:
                rule = book.rule_for(entry)
                unit[key] = 0.0 if rule is None else sum(t.energy_j for t in rule.terms(entry.attrs))
            total += entry.count * unit[key]
        energies.append(total)
    return tuple(energies)


#: ``--card`` roles of the standard cards (the digital adder / multiplier cards are not replaced by role)
STANDARD_ROLES = tuple(role for role in DEFAULT_CARDS if role != "digital")


def card_roles(registration: Registration) -> tuple[str, ...]:
    """The card roles a run on ``registration`` takes: the standard ones and the substrate's own."""
    return (*STANDARD_ROLES, *registration.card_roles)


def load_role_cards(registration: Registration, names: Mapping[str, str],
                    paths: Sequence[Path | str] = ()) -> tuple[CircuitCards, Any]:
    """The standard cards and the substrate's own, with the cards ``names`` (role → card name; ``none``
    removes the sample-and-hold) in place of the defaults; an unknown role is a ``ValueError`` listing
    the roles, a bad card a :class:`~neuroemu.cards.CardError`."""
    roles = card_roles(registration)
    unknown = sorted(set(names) - set(roles))
    if unknown:
        raise ValueError(f"unknown card role {unknown[0]!r} for substrate {registration.name!r}; roles: "
                         f"{', '.join(roles)}")
    standard = {r: None if (r == "sample_hold" and n == "none") else n for r, n in names.items()
                if r in STANDARD_ROLES}
    own = {r: n for r, n in names.items() if r in registration.card_roles}
    cards = CircuitCards.load(paths, **standard)
    return cards, registration.load_cards(tuple(paths), own) if registration.load_cards else None


def resolve_cards(spec: Any, paths: Sequence[Path | str] = ()) -> Any:
    """``spec`` with its card fields given by name or path loaded (card search path plus ``paths``), so
    that pricing uses exactly those cards."""
    changes = {o.name: load_card(getattr(spec, o.name), paths) for o in options(spec)
               if o.kind == "card" and isinstance(getattr(spec, o.name), str)}
    return dataclasses.replace(spec, **changes) if changes else spec


def _resolve(registration: Registration, spec: Any, fields: Mapping[str, Any]) -> Any:
    """``spec``, or one built from ``fields`` on the command-line defaults and completed by the substrate."""
    if spec is None:
        return registration.complete(build_spec(registration.spec, fields))
    if fields:
        raise TypeError("give either a spec or its fields, not both")
    return spec


def _context(registration: Registration, ledger: Ledger, inferences: int, cards: CircuitCards | None,
             own_cards: Any, accumulator_bits: int, multiplier_bits: int, paths: Sequence[Path | str],
             held: tuple[Card, ...] = ()) -> PriceContext:
    if own_cards is None and registration.load_cards is not None:
        own_cards = registration.load_cards(tuple(paths), {})
    cards = cards if cards is not None else CircuitCards.load(paths)
    return PriceContext(ledger=ledger, inferences=inferences, cards=cards, own_cards=own_cards,
                        accumulator_bits=accumulator_bits, multiplier_bits=multiplier_bits,
                        paths=tuple(paths), held_cards=held)


def _price(registration: Registration, context: PriceContext) -> EnergyReport:
    book = standard_book(context.cards, accumulator_bits=context.accumulator_bits,
                         multiplier_bits=context.multiplier_bits, extra=registration.price_rules(context))
    return price(context.ledger, book, images=context.inferences)


def check_saved(saved: Mapping[str, Any]) -> None:
    """Refuse what is not a run saved by :meth:`Measurement.saved` in this format, saying why."""
    if (why := _OLDER_FORMATS.get(str(saved.get("format")))) is not None:
        raise PricingError(f"the run was saved by an older neuroemu (format {saved['format']}, {why}): run "
                           "it again with --save-ledger")
    if saved.get("format") != SAVED_FORMAT:
        raise PricingError(f"not a saved neuroemu energy run (format {SAVED_FORMAT!r} expected)")
    for key, kinds in (("model", (str, type(None))), ("substrate", (str,)), ("options", (dict,))):
        if not isinstance(saved.get(key), kinds):
            raise PricingError(f"saved run is damaged: {key!r} must be "
                               f"{' or '.join('null' if k is type(None) else k.__name__ for k in kinds)}")


def reprice(saved: Mapping[str, Any], *, cards: CircuitCards | None = None, own_cards: Any = None,
            accumulator_bits: int = 16, multiplier_bits: int = 8,
            paths: Sequence[Path | str] = ()) -> EnergyReport:
    """Price a saved run (:meth:`Measurement.saved`) again, from its ledger alone, with ``cards``.

    Device and memory cards named by the ledger's events are looked up in the card search path plus
    ``paths``, so an edited card changes the price."""
    check_saved(saved)
    try:
        registration = get(saved["substrate"])
        ledger = Ledger.from_list(saved["ledger"])
        inferences = saved["inferences"]
    except (KeyError, TypeError, ValueError) as exc:
        raise PricingError(f"saved run is damaged: {exc}") from exc
    if isinstance(inferences, bool) or not isinstance(inferences, int) or inferences < 1:
        raise PricingError(f"saved run is damaged: inferences must be an integer >= 1, got {inferences!r}")
    _check_recorded_cards(saved.get("card_sha256"), paths)
    context = _context(registration, ledger, inferences, cards, own_cards, accumulator_bits, multiplier_bits,
                       paths)
    return _price(registration, context)
