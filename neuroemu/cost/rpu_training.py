"""Prices of the in-memory training events of :mod:`neuroemu.rpu` (reads ledgers and cards only).

==========================  =========================================================  =================
event (attributes)          energy per event                                           component(s)
==========================  =========================================================  =================
``rpu_coincidence``         one update pulse of the device card: ``pulse_energy``       update_pulse
(``polarity``)              (V²·G·t) of an ``rpu_device``, ``pulse_energy_up`` /
                            ``pulse_energy_down`` of an ``rpu_rram_device``,
                            ``set_energy`` of an ``rpu_pcm_pair`` (every update is a
                            SET of one cell)
``rpu_refresh_pulse``       ``set_energy`` / ``reset_energy`` of an ``rpu_pcm_pair``    refresh_pulse
(``kind``)
``rpu_forward_read``,       a read of a rows × cols array: rows DAC conversions at      dac, adc,
``rpu_transfer_read``       ``dac_bits`` + cols ADC conversions at ``adc_bits``         sample_hold
(``rows``, ``cols``,        (the standard converter rules of :mod:`~.rules`: the DAC
``dac_bits``, ``adc_bits``)  card, bit-serial for a 1-bit card; Walden FoM·2^bits of
                            the ADC card + one sample-and-hold)
``rpu_backward_read``       the same with the sides swapped: cols DAC + rows ADC        dac, adc,
                            conversions (δ enters on the columns)                       sample_hold
``rpu_pulse``               unpriced: no circuit card of the project describes the      –
                            stochastic pulse generators and drivers
``rpu_refresh``             free: bookkeeping, a refresh's energy is its pulses         –
==========================  =========================================================  =================

A coincidence costs one update pulse because a device sees the full update voltage only when a row pulse
and a column pulse coincide (the half-selected devices of the stochastic scheme stay below threshold,
Gokmen & Vlasov 2016); with several devices per weight (``devices_per_weight``) the ledger counts every
device's coincidences. Replicated columns are summed before their one ADC, so a read of such a tile costs
the conversions of one column per output. A read whose converter width is not in the ledger
(``rpu-train`` without ``--dac-bits`` / ``--adc-bits``: inputs applied and outputs taken exactly) keeps
that side unpriced with the reason; so does an ADC card whose price needs a column conductance
(``column_sar_adc``), which training reads do not record. Bound management's repeated reads are not in the
ledger, so read energies are lower bounds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from neuroemu.cards.rpu_devices import PcmPairDevice, RpuDevice, RramUpdateDevice
from neuroemu.cost.pricing import PriceBook, PricingError, Term
from neuroemu.cost.rules import CircuitCards, converter_rules
from neuroemu.ledger import Ledger, LedgerEntry

__all__ = ["FREE", "READ_SIDES", "UNPRICED", "by_component", "price_rpu_training"]

UNPRICED = {"rpu_pulse": "no circuit card for the stochastic pulse generators and drivers"}
#: events that cost nothing themselves (their energy is in other events)
FREE = {"rpu_refresh": "bookkeeping: a refresh's energy is its SET / RESET pulses (rpu_refresh_pulse)"}
#: read event → (attribute counting its DAC conversions, attribute counting its ADC conversions)
READ_SIDES = {"rpu_forward_read": ("rows", "cols"), "rpu_transfer_read": ("rows", "cols"),
              "rpu_backward_read": ("cols", "rows")}
_NO_WIDTH = {"dac_bits": "inputs applied exactly (no --dac-bits): no DAC width to price",
             "adc_bits": "outputs taken exactly (no --adc-bits): no ADC width to price"}

TrainingCard = RpuDevice | RramUpdateDevice | PcmPairDevice


def _pulse_price(card: TrainingCard, entry: LedgerEntry) -> tuple[str, float | None] | None:
    """(component, energy of one such pulse or ``None``: the card gives none); ``None``: not a pulse."""
    which = entry.attrs.get("polarity" if entry.event == "rpu_coincidence" else "kind")
    if entry.event == "rpu_coincidence":
        if isinstance(card, RramUpdateDevice):
            return "update_pulse", card.pulse_energy_up if which == "up" else card.pulse_energy_down
        if isinstance(card, PcmPairDevice):
            return "update_pulse", card.set_energy
        return "update_pulse", card.pulse_energy
    if entry.event == "rpu_refresh_pulse":
        if not isinstance(card, PcmPairDevice):
            raise PricingError(f"rpu_refresh_pulse events need an rpu_pcm_pair card, not {card.kind}")
        return "refresh_pulse", card.set_energy if which == "set" else card.reset_energy
    return None


class _Converters:
    """The terms of one DAC / ADC conversion at a width, from the standard converter rules."""

    def __init__(self, cards: CircuitCards) -> None:
        self.cards = cards
        self.book = PriceBook(converter_rules(cards.adc, cards.dac, cards.shift_add, cards.sample_hold))

    def terms(self, event: str, bits: int) -> tuple[Term, ...] | str:
        rule = self.book.rule_for(LedgerEntry(event, None, {"bits": bits}, 1))
        if rule is None:
            return (f"ADC card {self.cards.adc.name} ({self.cards.adc.kind}) is priced by the column "
                    "conductance a read draws, which training reads do not record")
        return tuple(rule.terms({"bits": bits}))


def _read_line(entry: LedgerEntry, converters: _Converters | None) -> tuple[dict[str, float], list[str],
                                                                          set[str]]:
    """Energy by component of a read entry, the reasons of what stays unpriced, the cards used."""
    dac_side, adc_side = READ_SIDES[entry.event]
    components: dict[str, float] = {}
    missing: list[str] = []
    used: set[str] = set()
    for event, width, side in (("dac_conversion", "dac_bits", dac_side),
                               ("adc_conversion", "adc_bits", adc_side)):
        bits, lines = entry.attrs.get(width), entry.attrs.get(side)
        if isinstance(lines, bool) or not isinstance(lines, int) or lines < 1:
            raise PricingError(f"{entry.event} of layer {entry.layer!r} needs an integer attribute {side!r} "
                               f">= 1, got {lines!r}")
        if bits is None:
            missing.append(_NO_WIDTH[width])
            continue
        if isinstance(bits, bool) or not isinstance(bits, int) or bits < 1:
            raise PricingError(f"{entry.event} of layer {entry.layer!r}: {width} must be an integer >= 1, "
                               f"got {bits!r}")
        terms = converters.terms(event, bits) if converters is not None else "no converter cards given"
        if isinstance(terms, str):
            missing.append(terms)
            continue
        for term in terms:
            components[term.component] = components.get(term.component, 0.0) + \
                entry.count * lines * term.energy_j
            used.update(term.cards)
    return components, missing, used


def price_rpu_training(ledger: Ledger, card: TrainingCard, samples: int,
                       cards: CircuitCards | None = None) -> dict[str, Any]:
    """The energy of a training ledger of ``samples`` training samples on device ``card`` (reads priced
    with the converter ``cards``, default :data:`~neuroemu.cost.rules.DEFAULT_CARDS`):

    ``energy_j`` (the update and refresh pulses, ``None`` when the card prices none or misses one),
    ``energy_per_sample_j``, ``priced_j`` (everything priced, reads included: a lower bound where something
    is unpriced), ``priced_per_sample_j``, ``priced`` (event → J), ``unpriced`` (event → reason),
    ``lines`` (one per ledger entry: ``event``, ``layer``, ``attrs``, ``count``, ``components`` (J),
    ``energy_j``, ``energy_per_sample_j``, ``unpriced``: reason or ``None``) and ``cards``."""
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 0:
        raise PricingError(f"samples must be an integer >= 0, got {samples!r}")
    reads = any(e.event in READ_SIDES and ("dac_bits" in e.attrs or "adc_bits" in e.attrs)
                for e in ledger.entries())
    converters = _Converters(cards if cards is not None else CircuitCards.load()) if reads else None
    priced: dict[str, float] = {}
    unpriced: dict[str, str] = {}
    lines: list[dict[str, Any]] = []
    used: set[str] = set()
    pulses_j, pulses_missing = 0.0, False
    for entry in ledger.entries():
        if entry.count == 0:
            continue
        components: dict[str, float] = {}
        reasons: list[str] = []
        pulse = _pulse_price(card, entry)
        if pulse is not None:
            component, energy = pulse
            if energy is None:
                pulses_missing = True
                reasons.append(f"card {card.name} gives no energy for this pulse")
            else:
                components[component] = entry.count * energy
                pulses_j += components[component]
                used.add(card.name)
        elif entry.event in READ_SIDES:
            components, reasons, cards_used = _read_line(entry, converters)
            used |= cards_used
        elif entry.event in FREE:
            lines.append({"event": entry.event, "layer": entry.layer, "attrs": dict(entry.attrs),
                          "count": entry.count, "components": {}, "energy_j": 0.0, "energy_per_sample_j": 0.0,
                          "unpriced": None})
            continue
        else:
            reasons.append(UNPRICED.get(entry.event, "no price rule for this event"))
        energy_j = sum(components.values())
        if components:
            priced[entry.event] = priced.get(entry.event, 0.0) + energy_j
        if reasons:
            unpriced.setdefault(entry.event, "; ".join(dict.fromkeys(reasons)))
        lines.append({"event": entry.event, "layer": entry.layer, "attrs": dict(entry.attrs),
                      "count": entry.count, "components": components,
                      "energy_j": energy_j if components else None,
                      "energy_per_sample_j": _per(energy_j, samples) if components else None,
                      "unpriced": "; ".join(dict.fromkeys(reasons)) or None})
    energy_j = None if pulses_missing or not pulses_j else pulses_j
    priced_j = sum(priced.values())
    per_sample = None if energy_j is None else _per(energy_j, samples)
    return {"energy_j": energy_j, "energy_per_sample_j": per_sample,
            "priced": priced, "unpriced": unpriced, "priced_j": priced_j,
            "priced_per_sample_j": _per(priced_j, samples), "lines": lines, "cards": sorted(used)}


def _per(energy_j: float, samples: int) -> float | None:
    return None if samples == 0 else energy_j / samples


def by_component(result: Mapping[str, Any]) -> dict[str, float]:
    """Total joules per component of a :func:`price_rpu_training` result."""
    out: dict[str, float] = {}
    for line in result["lines"]:
        for component, joules in line["components"].items():
            out[component] = out.get(component, 0.0) + joules
    return out
