"""Price rules of a crossbar run from its ledger alone: cell reads and, with a column ADC card, conversions.

Everything these rules need travels in the events a crossbar layer records (:mod:`neuroemu.crossbar`), so a
saved ledger prices again without the model:

=====================  ====================================  ===============================================
event                  attributes read                       energy per event
=====================  ====================================  ===============================================
``cell_read``          ``device``, ``conductance_s``         V_read²·Ḡ·t_read: the device card's read voltage
                                                             and pulse, Ḡ the layer's mean programmed
                                                             conductance at its read time (no read noise)
``adc_conversion``     ``bits``, ``device``,                 a ``column_sar_adc`` card only:
                       ``column_conductance_s``              :func:`~.column_adc.column_adc_terms`
                                                             at the conductance one conversion reads and the
                                                             device card's read voltage, + one sample-and-hold
=====================  ====================================  ===============================================

``device`` is a device card's name, looked up in the card search path plus ``paths`` (so an edited device
card changes the price of a saved run), or among ``devices`` (cards the caller holds, e.g. built in code).
count × V²·Ḡ·t is the read energy with every row driven at the card's full read voltage: an upper bound for
inputs below full scale. One rule per layer; each prices an entry at the conductance that entry carries.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from neuroemu.cards import Card, load_card
from neuroemu.cost.column_adc import COLUMN_ADC_KIND, column_adc_terms
from neuroemu.cost.pricing import PricingError, Rule, Term, sample_hold_term
from neuroemu.cost.rules import CircuitCards
from neuroemu.ledger import AttrValue, Ledger

__all__ = ["crossbar_rules"]


def crossbar_rules(ledger: Ledger, cards: CircuitCards, paths: Sequence[Path | str] = (), *,
                   devices: Iterable[Card] = ()) -> list[Rule]:
    """``cell_read`` rules for every layer of ``ledger`` that reads cells, and ``adc_conversion`` rules when
    ``cards.adc`` is a ``column_sar_adc`` card (see the module). Reads only ``ledger`` and cards."""
    known = {card.name: card for card in devices}
    rules = [_cell_read_rule(layer, _device_cards(ledger, "cell_read", layer, known, paths))
             for layer in _layers(ledger, "cell_read", ("device", "conductance_s"))]
    if cards.adc.kind == COLUMN_ADC_KIND:
        sample_hold = () if cards.sample_hold is None else (sample_hold_term(cards.sample_hold),)
        for layer in _layers(ledger, "adc_conversion", ("device", "column_conductance_s")):
            found = _device_cards(ledger, "adc_conversion", layer, known, paths)
            rules.append(_column_adc_rule(layer, found, cards.adc, sample_hold))
    return rules


def _layers(ledger: Ledger, event: str, needed: tuple[str, ...]) -> list[str]:
    """Layers with ``event`` entries, in ledger order; every entry must carry ``needed`` attributes."""
    layers: list[str] = []
    for entry in ledger.entries():
        if entry.event != event:
            continue
        missing = [name for name in needed if name not in entry.attrs]
        if missing or entry.layer is None:
            what = ", ".join(missing) or "layer"
            raise PricingError(f"{event} events of layer {entry.layer!r} carry no {what} (a ledger recorded "
                               "before crossbar events carried it): record the run again")
        if entry.layer not in layers:
            layers.append(entry.layer)
    return layers


def _device_cards(ledger: Ledger, event: str, layer: str, known: dict[str, Card],
                  paths: Sequence[Path | str]) -> dict[str, Card]:
    """The device cards the ``event`` entries of ``layer`` name (loaded once, by name)."""
    found = {}
    for entry in ledger.entries():
        if entry.event == event and entry.layer == layer:
            name = entry.attrs["device"]
            if not isinstance(name, str):
                raise PricingError(f"{event} events of layer {layer!r}: device must be a card name, "
                                   f"got {name!r}")
            if name not in known:
                known[name] = load_card(name, paths)
            found[name] = known[name]
    return found


def _conductance(attrs: Mapping[str, AttrValue], name: str, event: str) -> float:
    value = attrs.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PricingError(f"event {event!r} needs a number attribute {name!r}, got {value!r}")
    return float(value)


def _cell_read_rule(layer: str, devices: Mapping[str, Card]) -> Rule:
    def terms(attrs: Mapping[str, AttrValue]) -> tuple[Term, ...]:
        card = devices[attrs["device"]]  # type: ignore[index]
        g = _conductance(attrs, "conductance_s", "cell_read")
        v, t = card.read_voltage, card.read_pulse_width  # type: ignore[attr-defined]
        return (Term("cell_read", v * v * g * t, (card.name,),
                     f"V^2*G*t with V = {v:g} V, t = {t:g} s from {card.name}, mean programmed "
                     f"G = {g:.4g} S"),)

    return Rule("cell_read", terms, layer=layer)


def _column_adc_rule(layer: str, devices: Mapping[str, Card], adc: Card,
                     sample_hold: tuple[Term, ...]) -> Rule:
    def terms(attrs: Mapping[str, AttrValue]) -> tuple[Term, ...]:
        v_read = devices[attrs["device"]].read_voltage  # type: ignore[index, attr-defined]
        g_col = _conductance(attrs, "column_conductance_s", "adc_conversion")
        return (*column_adc_terms(adc, attrs.get("bits"), g_col, v_read), *sample_hold)  # type: ignore[arg-type]

    return Rule("adc_conversion", terms, layer=layer)
