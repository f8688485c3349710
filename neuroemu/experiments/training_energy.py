"""A saved in-memory training ledger (``neuroemu rpu-train --save-ledger``) and pricing it again
(``neuroemu energy --from-ledger``) from the file alone.

The file (JSON, format :data:`TRAINING_FORMAT`) holds the training ledger, the training samples it covers,
the device card's name, the command-line overrides applied to it and the sha256 of the card as trained
(:func:`~neuroemu.cards.card_sha256`, overrides applied), the run's options, and ``ledger_sha256``: a hash
of the ledger, the samples and the card's name. Reading it back (:func:`load_training`) refuses a file of
another kind (an inference ledger, a results file), a card that is not found or differs from the one
trained with, and counts that do not match the hash or the samples (every array of every layer is read
once per sample), each with the reason.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neuroemu.cards import Card, CardError, card_sha256, load_card
from neuroemu.cost.pricing import PricingError
from neuroemu.cost.rpu_training import price_rpu_training
from neuroemu.cost.rules import CircuitCards
from neuroemu.devices.training import TRAINING_KINDS
from neuroemu.ledger import Ledger

__all__ = ["TRAINING_FORMAT", "SavedTraining", "load_training", "price_training", "training_saved"]

#: format tag of a saved training ledger
TRAINING_FORMAT = "neuroemu-rpu-training/1"


def _ledger_digest(entries: list[Any], samples: int, device: str) -> str:
    text = json.dumps({"ledger": entries, "samples": samples, "device": device}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def training_saved(ledger: Ledger, card: Card, samples: int, overrides: Mapping[str, Any],
                   options: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON object of a saved training ledger (see the module); ``card`` with ``overrides`` applied."""
    entries = ledger.to_list()
    return {"format": TRAINING_FORMAT, "device": card.name, "overrides": dict(overrides),
            "card_sha256": card_sha256(card), "samples": samples, "options": dict(options),
            "ledger": entries, "ledger_sha256": _ledger_digest(entries, samples, card.name)}


@dataclass(frozen=True)
class SavedTraining:
    """A checked saved training ledger: its ledger, the device card as trained, the samples, the options."""

    ledger: Ledger
    card: Card
    samples: int
    options: dict[str, Any]


def load_training(saved: Mapping[str, Any], paths: Sequence[Path | str] = ()) -> SavedTraining:
    """Check a saved training ledger (see the module) and return its parts; anything wrong with it is a
    :class:`~neuroemu.cost.pricing.PricingError` saying what."""
    if saved.get("format") != TRAINING_FORMAT:
        raise PricingError(f"not a saved neuroemu training ledger (format {TRAINING_FORMAT!r} expected, got "
                           f"{saved.get('format')!r})")
    for key, kind in (("device", str), ("overrides", dict), ("card_sha256", str), ("options", dict),
                      ("ledger", list), ("ledger_sha256", str)):
        if not isinstance(saved.get(key), kind):
            raise PricingError(f"saved training ledger is damaged: {key!r} must be a {kind.__name__}")
    samples = saved.get("samples")
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise PricingError(f"saved training ledger is damaged: samples must be an integer >= 1, got "
                           f"{samples!r}")
    if _ledger_digest(saved["ledger"], samples, saved["device"]) != saved["ledger_sha256"]:
        raise PricingError("saved training ledger was edited: its counts, samples or device do not match "
                           "its ledger_sha256; record the run again")
    try:
        ledger = Ledger.from_list(saved["ledger"])
    except (TypeError, ValueError) as exc:
        raise PricingError(f"saved training ledger is damaged: {exc}") from exc
    card = _card(saved, paths)
    _check_reads(ledger, samples)
    return SavedTraining(ledger, card, samples, dict(saved["options"]))


def _card(saved: Mapping[str, Any], paths: Sequence[Path | str]) -> Card:
    name = saved["device"]
    try:
        card = load_card(name, paths)
    except CardError as exc:  # unknown names included
        raise PricingError(f"the device card {name!r} the run was trained with cannot be loaded (a card "
                           f"of your own: give its folder with --path): {exc}") from exc
    if card.kind not in TRAINING_KINDS:
        raise PricingError(f"card {name!r} is a {card.kind} card, not a training device "
                           f"({', '.join(TRAINING_KINDS)})")
    fields = {f.name for f in dataclasses.fields(card)}
    unknown = sorted(set(saved["overrides"]) - fields)
    if unknown:
        raise PricingError(f"saved training ledger is damaged: override {unknown[0]!r} is not a field of "
                           f"card {name!r}")
    card = dataclasses.replace(card, **saved["overrides"])
    if card_sha256(card) != saved["card_sha256"]:
        raise PricingError(f"the run was trained with a card {name!r} that differs from the one found now: "
                           "pricing it would use numbers it was not trained with; give the trained card a "
                           "name of its own and its folder with --path, or train again")
    return card


def _check_reads(ledger: Ledger, samples: int) -> None:
    """Every array of every layer is read forward once per sample and patch position (``positions``, 1 for
    a fully connected layer): the counts fit the samples."""
    forward = [e for e in ledger.entries() if e.event == "rpu_forward_read"]
    if not forward:
        raise PricingError("saved training ledger has no rpu_forward_read events: not a training ledger")
    for entry in forward:
        positions = entry.attrs.get("positions", 1)
        if entry.count != samples * positions:
            raise PricingError(f"saved training ledger is inconsistent: layer {entry.layer!r} was read "
                               f"{entry.count} times for {samples} samples ({positions} read(s) per sample "
                               "expected)")


def price_training(saved: SavedTraining, cards: CircuitCards | None = None) -> dict[str, Any]:
    """:func:`~neuroemu.cost.rpu_training.price_rpu_training` of a loaded saved ledger."""
    return price_rpu_training(saved.ledger, saved.card, saved.samples, cards)  # type: ignore[arg-type]
