"""The standard price rules: which card prices which ledger event, for every substrate that records events.

===========================  ===========================================================  ===================
event (attributes)           energy per event                                             component(s)
===========================  ===========================================================  ===================
``mac`` (``bits``)           mult(b) + add(b), b = max(bits, activation_bits)            mult, add
``bias_add``                 add(accumulator_bits)                                        add
``signed_add`` (``weights``) add(accumulator_bits): one add/subtract per non-zero weight  add
``scale_multiply``           mult(multiplier_bits)                                        mult
``xnor_popcount``            one full-adder cell per bit-product: add(b₀)/b₀ with b₀ the   xnor_popcount
                             narrowest published adder (an b₀-bit ripple adder is b₀
                             cells); the XNOR gate itself is not priced separately
``tile_partial_sum_add``     add(accumulator_bits)                                        add
``maxpool_gate`` (``window``, (window − 1) × add(bits): a spiking max-pool gate compares the  maxpool_gate
``bits``)                    window's spike counters; a b-bit magnitude comparison is a
                             b-bit subtraction, priced as one b-bit add
``maxpool_count`` (``bits``)  add(bits): one spike counter increment                       maxpool_gate
``output_scale``             mult(multiplier_bits)                                        mult
``shift_add``                shift-and-add card's energy per operation                    shift_add
``adc_conversion`` (bits)    Walden FoM·2^bits (reference ADC card) + one sample-and-hold adc, sample_hold
                             (a ``column_sar_adc`` card: NeuroSim's SAR model with the     (adc_column_read)
                             column conductance the event carries, :mod:`~.crossbar`)
``dac_conversion`` (bits)    the DAC card's conversion at its width; with a 1-bit DAC      dac
                             card a b-bit input costs b one-bit conversions: exact for
                             bit-serial inputs (ISAAC), an assumption (energy linear in
                             bits) for a multi-level DAC
``memory_read`` (``memory``)  the named memory card's energy per word access              memory
``crossbar_mvm``             free: bookkeeping; its energy is in cell_read / dac / adc    –
``cell_read`` (per layer)    V_read²·Ḡ·t_read, Ḡ = the layer's mean programmed            cell_read
                             conductance the event carries (:mod:`~.crossbar`)
===========================  ===========================================================  ===================

``accumulator_bits`` and ``multiplier_bits`` are datapath design choices of the substrate being priced,
not physical constants; the defaults (16 and 8) follow ISAAC's 16-bit fixed-point outputs and 8-bit ADC
codes. The stochastic-computing events (``sc_*``) are priced by :mod:`neuroemu.cost.stochastic`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from neuroemu.cards import Card, CardError, load_card
from neuroemu.cost.column_adc import COLUMN_ADC_KIND
from neuroemu.cost.pricing import (
    DigitalOps,
    PriceBook,
    PricingError,
    Rule,
    Term,
    free_rule,
    sample_hold_term,
    walden_energy,
)
from neuroemu.ledger import AttrValue

__all__ = [
    "ADC_KINDS",
    "DEFAULT_CARDS",
    "CircuitCards",
    "converter_rules",
    "digital_rules",
    "memory_rule",
    "standard_book",
]

#: card kinds that can price ``adc_conversion`` events
ADC_KINDS = ("adc", COLUMN_ADC_KIND)

#: card names the standard rules use unless told otherwise
DEFAULT_CARDS: dict[str, object] = {
    "digital": ("add-int8-horowitz-45nm", "add-int32-horowitz-45nm", "mult-int8-horowitz-45nm",
                "mult-int32-horowitz-45nm"),
    "adc": "adc-sar-isaac-8b",
    "dac": "dac-1b-isaac",
    "sample_hold": "sh-isaac",
    "shift_add": "sa-isaac",
}


@dataclass(frozen=True)
class CircuitCards:
    """The cards behind the standard rules (built from names with :meth:`load`)."""

    digital: tuple[Card, ...]
    adc: Card
    dac: Card
    sample_hold: Card | None
    shift_add: Card

    @classmethod
    def load(cls, paths: Sequence[Path | str] = (), **names: object) -> CircuitCards:
        """Load the default cards, with any of ``digital`` (names), ``adc``, ``dac``, ``sample_hold``
        (``None``: no sample-and-hold term), ``shift_add`` replaced by other card names."""
        unknown = set(names) - set(DEFAULT_CARDS)
        if unknown:
            raise TypeError(f"unknown card roles {sorted(unknown)}; roles: {sorted(DEFAULT_CARDS)}")
        chosen = {**DEFAULT_CARDS, **names}
        digital = tuple(load_card(n, paths, kind="digital_op") for n in chosen["digital"])  # type: ignore[attr-defined]
        sh = chosen["sample_hold"]
        adc = load_card(str(chosen["adc"]), paths)
        if adc.kind not in ADC_KINDS:
            raise CardError(f"card {adc.name!r} is of kind {adc.kind!r}, but an ADC card (kind "
                            f"{' or '.join(map(repr, ADC_KINDS))}) is needed here")
        return cls(digital=digital, adc=adc,
                   dac=load_card(str(chosen["dac"]), paths, kind="dac"),
                   sample_hold=None if sh is None else load_card(str(sh), paths, kind="periphery"),
                   shift_add=load_card(str(chosen["shift_add"]), paths, kind="periphery"))

    def names(self) -> list[str]:
        cards = [*self.digital, self.adc, self.dac, self.shift_add]
        if self.sample_hold is not None:
            cards.append(self.sample_hold)
        return sorted(c.name for c in cards)


def _int_attr(attrs: Mapping[str, AttrValue], name: str, event: str) -> int:
    value = attrs.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise PricingError(f"event {event!r} needs an integer attribute {name!r}, got {value!r}")
    return value


def digital_rules(ops: DigitalOps, *, accumulator_bits: int = 16, multiplier_bits: int = 8) -> list[Rule]:
    """Rules for the digital arithmetic events (see the module table)."""
    for name, value in (("accumulator_bits", accumulator_bits), ("multiplier_bits", multiplier_bits)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise PricingError(f"{name} must be an integer >= 1, got {value!r}")
    add_acc = ops.energy("add", accumulator_bits)
    mult_scale = ops.energy("mult", multiplier_bits)
    narrowest = min(ops.widths("add"))
    cell = ops.energy("add", narrowest)
    full_adder = Term("xnor_popcount", cell.energy_j / narrowest, cell.cards,
                      f"one full-adder cell per bit-product = ({cell.basis}) / {narrowest} cells")

    def gate(attrs: Mapping[str, AttrValue]) -> tuple[Term, ...]:
        window, bits = _int_attr(attrs, "window", "maxpool_gate"), _int_attr(attrs, "bits", "maxpool_gate")
        add = ops.energy("add", bits, "maxpool_gate")
        return (Term("maxpool_gate", (window - 1) * add.energy_j, add.cards,
                     f"{window - 1} comparisons, each one {bits}-bit subtraction ({add.basis})"),)

    def mac(attrs: Mapping[str, AttrValue]) -> tuple[Term, ...]:
        bits = _int_attr(attrs, "bits", "mac")
        if "activation_bits" in attrs:
            bits = max(bits, _int_attr(attrs, "activation_bits", "mac"))
        return ops.energy("mult", bits), ops.energy("add", bits)

    return [
        Rule("mac", mac),
        Rule("bias_add", lambda _a: (add_acc,)),
        Rule("signed_add", lambda _a: (add_acc,)),
        Rule("tile_partial_sum_add", lambda _a: (add_acc,)),
        Rule("scale_multiply", lambda _a: (mult_scale,)),
        Rule("output_scale", lambda _a: (mult_scale,)),
        Rule("xnor_popcount", lambda _a: (full_adder,)),
        Rule("maxpool_gate", gate),
        Rule("maxpool_count", lambda a: (ops.energy("add", _int_attr(a, "bits", "maxpool_count"),
                                                    "maxpool_gate"),)),
    ]


def converter_rules(adc: Card, dac: Card, shift_add: Card, sample_hold: Card | None = None) -> list[Rule]:
    """Rules for ADC / DAC conversions and shift-and-add (see the module table).

    A ``column_sar_adc`` card gives no layer-free ADC rule: its price depends on the conductance each
    conversion reads, which the crossbar's events carry (:func:`~neuroemu.cost.crossbar.crossbar_rules`)."""
    if adc.kind not in ADC_KINDS:
        raise PricingError(f"adc card {adc.name!r} has kind {adc.kind!r}, not one of {list(ADC_KINDS)}")
    if dac.kind != "dac":
        raise PricingError(f"dac card {dac.name!r} has kind {dac.kind!r}, not 'dac'")
    for card, function in ((shift_add, "shift_and_add"), (sample_hold, "sample_and_hold")):
        if card is not None and (card.kind != "periphery" or card.function != function):  # type: ignore[attr-defined]
            raise PricingError(f"card {card.name!r} is not a {function} periphery card")

    sh = () if sample_hold is None else (sample_hold_term(sample_hold),)

    def adc_terms(attrs: Mapping[str, AttrValue]) -> tuple[Term, ...]:
        return (walden_energy(adc, _int_attr(attrs, "bits", "adc_conversion")), *sh)

    def dac_terms(attrs: Mapping[str, AttrValue]) -> tuple[Term, ...]:
        bits = _int_attr(attrs, "bits", "dac_conversion")
        card_bits, energy = dac.bits, dac.energy_per_conversion  # type: ignore[attr-defined]
        if bits == card_bits:
            return (Term("dac", energy, (dac.name,), f"{dac.name} energy per conversion"),)
        if card_bits == 1:
            return (Term("dac", bits * energy, (dac.name,),
                         f"{bits} bit-serial 1-bit conversions of {dac.name}"),)
        raise PricingError(f"dac_conversion at {bits} bits: card {dac.name!r} is a {card_bits}-bit DAC "
                           "(give a card of that width or a 1-bit card for bit-serial inputs)")

    sa = Term("shift_add", shift_add.energy_per_operation, (shift_add.name,),  # type: ignore[attr-defined]
              f"{shift_add.name} energy per shift-and-add")
    rules = [] if adc.kind == COLUMN_ADC_KIND else [Rule("adc_conversion", adc_terms)]
    return [
        *rules,
        Rule("dac_conversion", dac_terms),
        Rule("shift_add", lambda _a: (sa,)),
        free_rule("crossbar_mvm", "bookkeeping event: an array activation's energy is priced by its "
                                  "cell_read, dac_conversion and adc_conversion events"),
    ]


def memory_rule(card: Card) -> Rule:
    """``memory_read`` events of memory ``card`` (their ``memory`` attribute names it): one word access
    each."""
    if card.kind != "memory":
        raise PricingError(f"card {card.name!r} has kind {card.kind!r}, not 'memory'")
    term = Term("memory", card.energy_per_access, (card.name,),  # type: ignore[attr-defined]
                f"{card.name} energy per {card.word_bits}-bit access")  # type: ignore[attr-defined]
    return Rule("memory_read", lambda _a: (term,), match={"memory": card.name})


def standard_book(cards: CircuitCards | None = None, *, accumulator_bits: int = 16,
                  multiplier_bits: int = 8, extra: Iterable[Rule] = ()) -> PriceBook:
    """Digital, converter and shift-add rules from ``cards`` (default :data:`DEFAULT_CARDS`) + ``extra``."""
    cards = cards if cards is not None else CircuitCards.load()
    ops = DigitalOps(cards.digital)
    rules = [*digital_rules(ops, accumulator_bits=accumulator_bits, multiplier_bits=multiplier_bits),
             *converter_rules(cards.adc, cards.dac, cards.shift_add, cards.sample_hold), *extra]
    return PriceBook(rules)
