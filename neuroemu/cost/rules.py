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
``output_scale``             mult(multiplier_bits)                                        mult
``shift_add``                shift-and-add card's energy per operation                    shift_add
``adc_conversion`` (bits)    Walden FoM·2^bits (reference ADC card) + one sample-and-hold adc, sample_hold
                             (a ``column_sar_adc`` card: NeuroSim's SAR model with the     (adc_column_read)
                             layer's column conductance, :mod:`~.column_adc`)
``dac_conversion`` (bits)    the DAC card's conversion at its width; with a 1-bit DAC      dac
                             card a b-bit input costs b one-bit conversions: exact for
                             bit-serial inputs (ISAAC), an assumption (energy linear in
                             bits) for a multi-level DAC
``memory_read`` (``memory``)  the named memory card's energy per word access              memory
``crossbar_mvm``             free: bookkeeping; its energy is in cell_read / dac / adc    –
``cell_read`` (per layer)    V_read²·Ḡ·t_read, Ḡ = mean conductance actually programmed   cell_read
                             in that layer (:func:`crossbar_read_rules`)
===========================  ===========================================================  ===================

``accumulator_bits`` and ``multiplier_bits`` are datapath design choices of the substrate being priced,
not physical constants; the defaults (16 and 8) follow ISAAC's 16-bit fixed-point outputs and 8-bit ADC
codes. The stochastic-computing events (``sc_*``) are priced by :mod:`neuroemu.cost.stochastic`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from torch import nn

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
    "ProgrammedLayer",
    "cell_read_rules",
    "converter_rules",
    "crossbar_read_rules",
    "device_cards",
    "digital_rules",
    "memory_rule",
    "programmed_conductances",
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
    ]


def converter_rules(adc: Card, dac: Card, shift_add: Card, sample_hold: Card | None = None) -> list[Rule]:
    """Rules for ADC / DAC conversions and shift-and-add (see the module table).

    A ``column_sar_adc`` card gives no layer-free ADC rule: its price depends on each layer's programmed
    conductances (:func:`~neuroemu.cost.column_adc.column_adc_rules`)."""
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


@dataclass(frozen=True)
class ProgrammedLayer:
    """Mean programmed conductance of one crossbar layer and what it was averaged over (JSON-ready)."""

    layer: str
    device: str  #: device card name
    mean_conductance_s: float
    devices: int  #: devices read per MVM (= the layer's cell_read events per MVM)
    trials: int
    #: ADC conversions per MVM (per input bit plane): outputs × row tiles × slices; ``None`` in runs saved
    #: before column ADC pricing (:mod:`~neuroemu.cost.column_adc`) needed it
    column_reads: int | None = None

    def to_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


def programmed_conductances(model: nn.Module) -> list[ProgrammedLayer]:
    """Ḡ per crossbar layer of ``model``: the mean conductance of its devices as programmed.

    Averaged over every trial, both cells of a pair, every slice and the reference-column devices (once per
    column tile), as the layer's ``cell_read`` events count them; read without read noise at the model's
    read time (drift included).
    """
    from neuroemu.crossbar import crossbar_layers, state_of

    state = state_of(model)
    found = []
    for layer in crossbar_layers(model):
        if layer.cells.states is None:
            raise PricingError(f"{layer.name}: not programmed, no conductances to price")
        plus, minus = (layer.device.read(p, state.time, None) for p in layer.cells.states)
        trials = plus.shape[0]
        minus_repeat = len(layer.tiling.col_tiles) if layer.mapping == "reference" else 1
        g_sum = float(plus.double().sum()) + minus_repeat * float(minus.double().sum())
        n_devices = plus[0].numel() + minus_repeat * minus[0].numel()
        if n_devices != layer.devices:
            raise PricingError(f"{layer.name}: counted {n_devices} devices but the layer records "
                               f"{layer.devices} cell reads per MVM")
        found.append(ProgrammedLayer(layer=layer.name, device=layer.device.card.name,
                                     mean_conductance_s=g_sum / (trials * n_devices), devices=n_devices,
                                     trials=trials,
                                     column_reads=layer.out_features * layer.tiling.partial_sums))
    return found


def cell_read_rules(layers: Iterable[ProgrammedLayer], devices: Mapping[str, Card]) -> list[Rule]:
    """One ``cell_read`` rule per layer: E = V_read²·Ḡ·t_read per device read, V and t from the device card.

    ``devices`` maps a device card name to the card (so a saved ledger can be repriced with a changed card).
    count × energy = Σ over the devices actually read of V²·G·t: the read energy with every row driven at
    the full read voltage of the card (an upper bound for inputs below full scale).
    """
    rules = []
    for item in layers:
        card = devices[item.device]
        v, t = card.read_voltage, card.read_pulse_width  # type: ignore[attr-defined]
        g = item.mean_conductance_s
        term = Term("cell_read", v * v * g * t, (card.name,),
                    f"V^2*G*t with V = {v:g} V, t = {t:g} s from {card.name}, mean programmed "
                    f"G = {g:.4g} S over {item.devices} devices x {item.trials} trials")
        rules.append(Rule("cell_read", lambda _a, term=term: (term,), layer=item.layer))
    return rules


def device_cards(model: nn.Module) -> dict[str, Card]:
    """Device card name → card, for the crossbar layers of ``model``."""
    from neuroemu.crossbar import crossbar_layers

    return {layer.device.card.name: layer.device.card for layer in crossbar_layers(model)}


def crossbar_read_rules(model: nn.Module) -> list[Rule]:
    """``cell_read`` rules for the crossbar layers of ``model`` (see :func:`cell_read_rules`)."""
    return cell_read_rules(programmed_conductances(model), device_cards(model))
