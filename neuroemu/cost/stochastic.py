"""Price rules for the stochastic-computing events (``sc_*``) of :mod:`neuroemu.stochastic` networks.

Every SC block is charged per clock cycle from an ``sc_block`` card (synthesis reports: UnarySim, TSMC
40 nm LP at 400 MHz) and every binary counter or comparator from the digital adder cards (Horowitz 45 nm),
through the same :class:`~neuroemu.cost.pricing.DigitalOps` as the other substrates. Everything a price
needs is an attribute of the event (so a saved ledger prices again on its own):

- ``sc_gate_cycle`` gate=and / xnor → one cycle of the AND2 card (``sc_multiply``; there is no XNOR
  report and an XNOR2 cell is larger than an AND2; the card explains why its own value is more likely high);
- ``sc_gate_cycle`` gate=mux / or, inputs=n → the MUX / OR card × (n − 1) / (w − 1) (``sc_add``): an n-input
  MUX or OR is a tree of n − 1 two-input cells, the card's w-input block has w − 1;
- ``sc_counter_op`` counter=exact / apc, inputs=n → the parallel-counter / approximate-counter card × n / w
  (``sc_add``): a counter of n inputs has about n full adders;
- ``sc_fsm_update`` states=r → one add of ⌈log2 r⌉ bits, the state register's update (``sc_activation``);
- ``sc_counter_update``, ``sc_compare`` bits=b → one add (or subtract) of b bits (``sc_counter``; the SC
  networks record b = ⌈log2 (L + 1)⌉, a counter of up to L ones); ``sc_binary_add`` → one add of
  ``accumulator_bits`` (``sc_counter``);
- ``sc_sng_draw`` sng=sobol, bits=b → a comparator of b bits, priced as one b-bit subtract (``sng``), and
  with ``sharing="private"`` also one step of a b-bit RNG (``rng``);
- ``sc_rng_step`` sng=sobol, bits=b → with ``sharing="shared"`` one step of a b-bit RNG (``rng``); with
  ``"private"`` free (each draw already paid for its step).

**Shared or private number generators** (the ``sharing`` attribute of the generator events, from
``Stochastic(sharing=...)``) is the visible design choice that decides whether SC beats binary arithmetic:
the network draws every weight stream from one generator row per weight index, shared by all output neurons
(``sc_rng_step`` counts those rows' steps); ``"private"`` charges one RNG step per stream bit instead, as if
every comparator had its own generator.

A b-bit RNG step is priced from the ``sobol_rng`` card of that width, or interpolated linearly in width
between the two nearest cards (extrapolated beyond them; the UnarySim Sobol generators of 3..10 bits grow
close to linearly in width). Only Sobol generators have a card: draws from other sources (LFSR, Halton,
pseudo-random) stay unpriced, never silently zero. An event that lacks an attribute its price needs raises
:class:`~neuroemu.cost.pricing.PricingError` naming the event and the attribute.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from neuroemu.cards import Card, load_card
from neuroemu.cost.floorplan import Floorplan
from neuroemu.cost.pricing import DigitalOps, PricingError, Rule, Term, TermsFn, nearest_widths
from neuroemu.ledger import AttrValue, Ledger

__all__ = ["DEFAULT_SC_CARDS", "SHARING", "ScCards", "layer_lengths", "rng_value", "sc_block",
           "stochastic_floorplan", "stochastic_rules", "stream_length"]

SHARING = ("shared", "private")

#: role → card name(s) the SC rules use unless told otherwise
DEFAULT_SC_CARDS: dict[str, object] = {
    "sc_gate": "sc-and2-unarysim-40nm",
    "sc_mux": "sc-mux8-unarysim-40nm",
    "sc_or": "sc-or8-unarysim-40nm",
    "sc_counter": "sc-pc16-unarysim-40nm",
    "sc_apc": "sc-apc8-unarysim-40nm",
    "sc_rng": ("sc-sobol4-unarysim-40nm", "sc-sobol6-unarysim-40nm", "sc-sobol8-unarysim-40nm",
               "sc-sobol10-unarysim-40nm"),
}
_FUNCTIONS = {"sc_gate": "and", "sc_mux": "mux", "sc_or": "or", "sc_counter": "parallel_counter",
              "sc_apc": "approximate_parallel_counter", "sc_rng": "sobol_rng"}


@dataclass(frozen=True)
class ScCards:
    """The ``sc_block`` cards behind the SC rules (built from names with :meth:`load`)."""

    gate: Card
    mux: Card
    or_adder: Card
    counter: Card
    apc: Card
    rng: tuple[Card, ...]

    @classmethod
    def load(cls, paths: Sequence[Path | str] = (), **names: object) -> ScCards:
        """The default cards, with any role of :data:`DEFAULT_SC_CARDS` replaced (``sc_rng``: names)."""
        unknown = set(names) - set(DEFAULT_SC_CARDS)
        if unknown:
            raise TypeError(f"unknown SC card roles {sorted(unknown)}; roles: {sorted(DEFAULT_SC_CARDS)}")
        chosen = {**DEFAULT_SC_CARDS, **names}

        def one(role: str, name: object) -> Card:
            card = load_card(str(name), paths, kind="sc_block")
            if card.function != _FUNCTIONS[role]:  # type: ignore[attr-defined]
                raise PricingError(f"card {card.name!r} ({card.function}) cannot be the {role} card: "  # type: ignore[attr-defined]
                                   f"it must have function {_FUNCTIONS[role]!r}")
            return card

        rng_names = chosen["sc_rng"]
        rng_names = (rng_names,) if isinstance(rng_names, str) else tuple(rng_names)  # type: ignore[arg-type]
        rng = tuple(sorted((one("sc_rng", n) for n in rng_names), key=lambda c: c.width))  # type: ignore[attr-defined]
        if len({c.width for c in rng}) != len(rng):  # type: ignore[attr-defined]
            raise PricingError(f"two sc_rng cards of the same width: {[c.name for c in rng]}")
        return cls(gate=one("sc_gate", chosen["sc_gate"]), mux=one("sc_mux", chosen["sc_mux"]),
                   or_adder=one("sc_or", chosen["sc_or"]), counter=one("sc_counter", chosen["sc_counter"]),
                   apc=one("sc_apc", chosen["sc_apc"]), rng=rng)

    def names(self) -> list[str]:
        return sorted(c.name for c in (self.gate, self.mux, self.or_adder, self.counter, self.apc, *self.rng))


def _int_attr(attrs: Mapping[str, AttrValue], event: str, name: str, minimum: int = 1) -> int:
    """The integer attribute ``name`` (>= ``minimum``) of an ``event``; PricingError naming both if not."""
    value = attrs.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise PricingError(f"event {event!r} needs an integer attribute {name!r} >= {minimum}, got {value!r}")
    return value


def _sharing(attrs: Mapping[str, AttrValue], event: str) -> str:
    """The ``sharing`` attribute of a number-generator ``event``: one of :data:`SHARING`."""
    value = attrs.get("sharing")
    if value not in SHARING:
        raise PricingError(f"event {event!r} needs an attribute 'sharing' in {list(SHARING)}, got {value!r}")
    return value  # type: ignore[return-value]


def sc_block(cards: ScCards, event: str,
             attrs: Mapping[str, AttrValue]) -> tuple[str, Card, float, str] | None:
    """The component, the card, the multiple of it, and how, that one per-cycle SC ``event`` uses
    (``None``: no card).

    Shared by the energy rules and the area estimate, so both scale a card to a fan-in the same way.
    """
    if event == "sc_gate_cycle":
        gate = attrs.get("gate")
        if gate in ("and", "xnor"):
            return "sc_multiply", cards.gate, 1.0, "1 (one 2-input gate)"
        if gate in ("mux", "or"):
            card = cards.mux if gate == "mux" else cards.or_adder
            n, width = _int_attr(attrs, event, "inputs"), card.width  # type: ignore[attr-defined]
            return "sc_add", card, (n - 1) / (width - 1), f"({n} - 1) / ({width} - 1) two-input cells"
    if event == "sc_counter_op" and attrs.get("counter") in ("exact", "apc"):
        card = cards.counter if attrs["counter"] == "exact" else cards.apc
        n, width = _int_attr(attrs, event, "inputs"), card.width  # type: ignore[attr-defined]
        return "sc_add", card, n / width, f"{n} / {width} inputs"
    return None


def rng_value(cards: Sequence[Card], bits: int, field: str) -> tuple[float, tuple[str, ...], str]:
    """``field`` (``energy_per_cycle`` or ``area``) of a ``bits``-wide Sobol RNG, with its cards and basis:
    the card of that width, or linear in width between the two nearest (extrapolated beyond them)."""
    by_width = {c.width: c for c in cards}  # type: ignore[attr-defined]
    if bits in by_width:
        card = by_width[bits]
        return getattr(card, field), (card.name,), f"{card.name} {field}"
    w1, w2, how = nearest_widths(sorted(by_width), bits, f"a {bits}-bit RNG")
    c1, c2 = by_width[w1], by_width[w2]
    v1, v2 = getattr(c1, field), getattr(c2, field)
    return (v1 + (v2 - v1) * (bits - w1) / (w2 - w1), (c1.name, c2.name),
            f"{bits}-bit RNG {field} {how} linearly in width between {c1.name} and {c2.name}")


_PRIVATE = "private generators: each sc_sng_draw pays its own RNG step"


def stochastic_rules(cards: ScCards, ops: DigitalOps, *, accumulator_bits: int = 16) -> list[Rule]:
    """Rules for the ``sc_*`` events (see the module table); widths and sharing come from the events."""

    def rng_step(bits: int) -> Term:
        return Term("rng", *rng_value(cards.rng, bits, "energy_per_cycle"))

    def block(event: str) -> TermsFn:
        def terms(attrs: Mapping[str, AttrValue]) -> tuple[Term, ...]:
            found = sc_block(cards, event, attrs)
            if found is None:
                raise PricingError(f"no SC card prices {event!r} with {dict(attrs)}")
            component, card, factor, how = found
            return (Term(component, card.energy_per_cycle * factor, (card.name,),  # type: ignore[attr-defined]
                         f"{card.name} energy per cycle x {how}"),)
        return terms

    def fsm(attrs: Mapping[str, AttrValue]) -> tuple[Term, ...]:
        states = _int_attr(attrs, "sc_fsm_update", "states", 2)
        return (ops.energy("add", max(1, math.ceil(math.log2(states))), component="sc_activation"),)

    def counter(event: str) -> TermsFn:
        def terms(attrs: Mapping[str, AttrValue]) -> tuple[Term, ...]:
            return (ops.energy("add", _int_attr(attrs, event, "bits"), component="sc_counter"),)
        return terms

    def draw(attrs: Mapping[str, AttrValue]) -> tuple[Term, ...]:
        bits = _int_attr(attrs, "sc_sng_draw", "bits")
        comparator = ops.energy("add", bits, component="sng")
        return (comparator,) if _sharing(attrs, "sc_sng_draw") == "shared" else (comparator, rng_step(bits))

    def shared_step(attrs: Mapping[str, AttrValue]) -> tuple[Term, ...]:
        _sharing(attrs, "sc_rng_step")  # "private" is matched by the more specific free rule
        return (rng_step(_int_attr(attrs, "sc_rng_step", "bits")),)

    wide_add = ops.energy("add", accumulator_bits, component="sc_counter")
    gate_cycle = block("sc_gate_cycle")
    return [
        *(Rule("sc_gate_cycle", gate_cycle, match={"gate": g}) for g in ("and", "xnor", "mux", "or")),
        *(Rule("sc_counter_op", block("sc_counter_op"), match={"counter": c})
          for c in ("exact", "apc")),
        Rule("sc_fsm_update", fsm),
        Rule("sc_counter_update", counter("sc_counter_update")),
        Rule("sc_compare", counter("sc_compare")),
        Rule("sc_binary_add", lambda _a: (wide_add,)),
        Rule("sc_sng_draw", draw, match={"sng": "sobol"}),
        # a Sobol row's step: priced when shared (or an error naming the missing sharing / bits); a private
        # generator's step, of any source, is free: its draw pays for it (a source without a card leaves
        # the draw unpriced, and with it the step)
        Rule("sc_rng_step", shared_step, match={"sng": "sobol"}),
        Rule("sc_rng_step", lambda _a: (), match={"sng": "sobol", "sharing": "private"}, basis=_PRIVATE),
        Rule("sc_rng_step", lambda _a: (), match={"sharing": "private"}, basis=_PRIVATE),
    ]


def stream_length(ledger: Ledger) -> int:
    """The stream length ``L`` (cycles per inference) of the SC circuit whose events ``ledger`` holds.

    Read from the ``length`` attribute of its number-generator events (``sc_sng_draw`` / ``sc_rng_step``),
    which must all agree (a per-layer design: :func:`layer_lengths`).
    """
    lengths = set(layer_lengths(ledger).values())
    if len(lengths) > 1:
        raise PricingError(f"the ledger's SC events come from streams of several lengths {sorted(lengths)}: "
                           "floorplan one circuit at a time")
    return lengths.pop()


def layer_lengths(ledger: Ledger) -> dict[str, int]:
    """Each layer's stream length, in the order the layers first record: the ``length`` attribute of its
    number-generator events (``sc_sng_draw`` / ``sc_rng_step``), which must agree within a layer. A
    per-layer design (``Stochastic.blocks``) may give layers different lengths."""
    found: dict[str, set[int]] = {}
    for entry in ledger.entries():
        if entry.event in ("sc_sng_draw", "sc_rng_step"):
            layer = entry.layer if entry.layer is not None else "-"
            found.setdefault(layer, set()).add(_int_attr(entry.attrs, entry.event, "length"))
    if not found:
        raise PricingError("the ledger has no 'sc_sng_draw' or 'sc_rng_step' event, so nothing gives the "
                           "stream length of its SC circuit")
    for layer, lengths in found.items():
        if len(lengths) > 1:
            raise PricingError(f"the ledger's SC events of layer {layer!r} come from streams of several "
                               f"lengths {sorted(lengths)}: floorplan one circuit at a time")
    return {layer: lengths.pop() for layer, lengths in found.items()}


def stochastic_floorplan(ledger: Ledger, inferences: int, cards: ScCards) -> Floorplan:
    """Latency per inference and SC block area of a fully parallel, bit-pipelined SC network.

    SC-DCNN's model: every neuron (and every output position of a convolution) has its own circuit and a
    layer's output stream feeds the next layer bit by bit, so an inference takes ``L`` clock cycles of the
    gate card's clock (``L`` from :func:`layer_lengths`; a per-layer design whose length changes adds the
    lengths of its segments, which meet at binary boundaries). Area: each per-cycle block event
    (``sc_gate_cycle``, ``sc_counter_op``, and the Sobol RNG steps — ``sc_rng_step`` of shared generator
    rows, or ``sc_sng_draw`` of private per-stream generators, by each event's ``sharing``) is one block
    instance per cycle, so instances = count / (inferences × L) with ``L`` the layer's length, times the
    card's area scaled to the fan-in as its energy is (:func:`sc_block`; an RNG by its event's ``bits``).
    Binary counters, FSM registers and comparators (priced from the Horowitz cards, which give no area) are
    not included.
    """
    if inferences < 1:
        raise PricingError(f"inferences must be >= 1, got {inferences!r}")
    lengths = layer_lengths(ledger)
    distinct = set(lengths.values())
    area: dict[str, float] = {}
    per_layer: dict[str, float] = {}
    for entry in ledger.entries():
        layer = entry.layer if entry.layer is not None else "-"
        length = lengths.get(layer) or (next(iter(distinct)) if len(distinct) == 1 else None)
        if length is None:
            raise PricingError(f"layer {layer!r} has no number-generator event, so nothing gives its stream "
                               "length (the ledger's layers have several)")
        instances = entry.count / (inferences * length)
        if entry.event in ("sc_sng_draw", "sc_rng_step") and entry.attrs.get("sng") == "sobol":
            own_rng = "sc_rng_step" if _sharing(entry.attrs, entry.event) == "shared" else "sc_sng_draw"
            if entry.event != own_rng:
                continue
            bits = _int_attr(entry.attrs, entry.event, "bits")
            component, block_area = "rng", instances * rng_value(cards.rng, bits, "area")[0]
        else:
            found = sc_block(cards, entry.event, entry.attrs)
            if found is None:
                continue
            component, card, factor, _ = found
            block_area = instances * card.area * factor  # type: ignore[attr-defined]
        area[component] = area.get(component, 0.0) + block_area
        per_layer[layer] = per_layer.get(layer, 0.0) + block_area
    # layers of one length are bit-pipelined; where the length changes the streams are counted to binary
    # and generated again, so the next segment starts after the previous one's last cycle
    ordered = list(lengths.values())
    runs = [length for i, length in enumerate(ordered) if i == 0 or length != ordered[i - 1]]
    clock = cards.gate.clock_frequency  # type: ignore[attr-defined]
    layers = tuple({"layer": name, "area_m2": value} for name, value in per_layer.items())
    return Floorplan(latency_s=sum(runs) / clock, area_m2=sum(area.values()), area_breakdown_m2=area,
                     layers=layers, basis="every neuron its own circuit, layers bit-pipelined (SC-DCNN); "
                                          "area: SC gates, adders, counters and RNGs (binary counters, FSM "
                                          "registers and comparators not included)")
