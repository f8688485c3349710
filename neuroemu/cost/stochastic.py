"""Price rules for the stochastic-computing events (``sc_*``) of :mod:`neuroemu.stochastic` networks.

Every SC block is charged per clock cycle from an ``sc_block`` card (synthesis reports: UnarySim, TSMC
40 nm LP at 400 MHz) and every binary counter or comparator from the digital adder cards (Horowitz 45 nm),
through the same :class:`~neuroemu.cost.pricing.DigitalOps` as the other substrates:

- ``sc_gate_cycle`` gate=and / xnor → one cycle of the AND2 card (``sc_multiply``; there is no XNOR
  report and an XNOR2 cell is larger than an AND2; the card explains why its own value is more likely high);
- ``sc_gate_cycle`` gate=mux / or, inputs=n → the MUX / OR card × (n − 1) / (w − 1) (``sc_add``): an n-input
  MUX or OR is a tree of n − 1 two-input cells, the card's w-input block has w − 1;
- ``sc_counter_op`` counter=exact / apc, inputs=n → the parallel-counter / approximate-counter card × n / w
  (``sc_add``): a counter of n inputs has about n full adders;
- ``sc_fsm_update`` states=r → one add of ⌈log2 r⌉ bits, the state register's update (``sc_activation``);
- ``sc_counter_update``, ``sc_compare`` → one add (or subtract) of ⌈log2 (L + 1)⌉ bits, a counter of up to
  L ones (``sc_counter``); ``sc_binary_add`` → one add of ``accumulator_bits`` (``sc_counter``);
- ``sc_sng_draw`` sng=sobol → a comparator of b = ⌈log2 L⌉ bits, priced as one b-bit subtract (``sng``),
  and with *private* generators also one step of a b-bit RNG (``rng``);
- ``sc_rng_step`` sng=sobol → with *shared* generators one step of a b-bit RNG (``rng``); with *private*
  ones free (each draw already paid for its step).

**Shared or private number generators** (``sharing``) is the visible design choice that decides whether SC
beats binary arithmetic: the network draws every weight stream from one generator row per weight index,
shared by all output neurons (``sc_rng_step`` counts those rows' steps); pricing ``"private"`` charges one
RNG step per stream bit instead, as if every comparator had its own generator.

A b-bit RNG step is priced from the ``sobol_rng`` card of that width, or interpolated linearly in width
between the two nearest cards (extrapolated beyond them; the UnarySim Sobol generators of 3..10 bits grow
close to linearly in width). Only Sobol generators have a card: draws from other sources (LFSR, Halton,
pseudo-random) stay unpriced, never silently zero.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from neuroemu.cards import Card, load_card
from neuroemu.cost.floorplan import Floorplan
from neuroemu.cost.pricing import DigitalOps, PricingError, Rule, Term, TermsFn, free_rule, nearest_widths
from neuroemu.ledger import AttrValue, Ledger

__all__ = ["DEFAULT_SC_CARDS", "SHARING", "ScCards", "rng_bits", "rng_value", "sc_block",
           "stochastic_floorplan", "stochastic_rules"]

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


def rng_bits(length: int) -> int:
    """Width of the generator (and comparator) for ``length``-bit streams: ⌈log2 length⌉, at least 1."""
    if isinstance(length, bool) or not isinstance(length, int) or length < 1:
        raise PricingError(f"length must be an integer >= 1, got {length!r}")
    return max(1, math.ceil(math.log2(length)))


def _inputs(attrs: Mapping[str, AttrValue], event: str) -> int:
    value = attrs.get("inputs")
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise PricingError(f"event {event!r} needs an integer attribute 'inputs' >= 1, got {value!r}")
    return value


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
            n, width = _inputs(attrs, event), card.width  # type: ignore[attr-defined]
            return "sc_add", card, (n - 1) / (width - 1), f"({n} - 1) / ({width} - 1) two-input cells"
    if event == "sc_counter_op" and attrs.get("counter") in ("exact", "apc"):
        card = cards.counter if attrs["counter"] == "exact" else cards.apc
        n, width = _inputs(attrs, event), card.width  # type: ignore[attr-defined]
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


def stochastic_rules(cards: ScCards, ops: DigitalOps, *, length: int, sharing: str = "shared",
                     accumulator_bits: int = 16) -> list[Rule]:
    """Rules for the ``sc_*`` events of a network run with ``length``-bit streams (see the module table)."""
    if sharing not in SHARING:
        raise PricingError(f"sharing must be one of {list(SHARING)}, got {sharing!r}")
    bits = rng_bits(length)
    counter_bits = max(1, math.ceil(math.log2(length + 1)))
    count_add = ops.energy("add", counter_bits, component="sc_counter")
    wide_add = ops.energy("add", accumulator_bits, component="sc_counter")
    comparator = ops.energy("add", bits, component="sng")
    step = Term("rng", *rng_value(cards.rng, bits, "energy_per_cycle"))

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
        states = attrs.get("states")
        if isinstance(states, bool) or not isinstance(states, int) or states < 2:
            raise PricingError(f"event 'sc_fsm_update' needs an integer attribute 'states' >= 2, "
                               f"got {states!r}")
        return (ops.energy("add", max(1, math.ceil(math.log2(states))), component="sc_activation"),)

    draw = (comparator,) if sharing == "shared" else (comparator, step)
    gate_cycle = block("sc_gate_cycle")
    rules = [
        *(Rule("sc_gate_cycle", gate_cycle, match={"gate": g}) for g in ("and", "xnor", "mux", "or")),
        *(Rule("sc_counter_op", block("sc_counter_op"), match={"counter": c})
          for c in ("exact", "apc")),
        Rule("sc_fsm_update", fsm),
        Rule("sc_counter_update", lambda _a: (count_add,)),
        Rule("sc_compare", lambda _a: (count_add,)),
        Rule("sc_binary_add", lambda _a: (wide_add,)),
        Rule("sc_sng_draw", lambda _a: draw, match={"sng": "sobol"}),
    ]
    if sharing == "shared":
        rules.append(Rule("sc_rng_step", lambda _a: (step,), match={"sng": "sobol"}))
    else:
        rules.append(free_rule("sc_rng_step", "private generators: each sc_sng_draw pays its own RNG step"))
    return rules


def stochastic_floorplan(ledger: Ledger, inferences: int, *, length: int, cards: ScCards,
                         sharing: str = "shared") -> Floorplan:
    """Latency per inference and SC block area of a fully parallel, bit-pipelined SC network.

    SC-DCNN's model: every neuron (and every output position of a convolution) has its own circuit and a
    layer's output stream feeds the next layer bit by bit, so an inference takes ``length`` clock cycles of
    the gate card's clock. Area: each per-cycle block event (``sc_gate_cycle``, ``sc_counter_op``, and the
    RNG steps — per shared generator row, or per stream with private generators) is one block instance per
    cycle, so instances = count / (inferences × length), times the card's area scaled to the fan-in as its
    energy is (:func:`sc_block`). Binary counters, FSM registers and comparators (priced from the Horowitz
    cards, which give no area) are not included.
    """
    if inferences < 1:
        raise PricingError(f"inferences must be >= 1, got {inferences!r}")
    bits = rng_bits(length)
    rng_area = rng_value(cards.rng, bits, "area")[0]
    rng_event = "sc_rng_step" if sharing == "shared" else "sc_sng_draw"
    area: dict[str, float] = {}
    per_layer: dict[str, float] = {}
    for entry in ledger.entries():
        instances = entry.count / (inferences * length)
        if entry.event == rng_event and entry.attrs.get("sng") == "sobol":
            component, block_area = "rng", instances * rng_area
        else:
            found = sc_block(cards, entry.event, entry.attrs)
            if found is None:
                continue
            component, card, factor, _ = found
            block_area = instances * card.area * factor  # type: ignore[attr-defined]
        area[component] = area.get(component, 0.0) + block_area
        layer = entry.layer if entry.layer is not None else "-"
        per_layer[layer] = per_layer.get(layer, 0.0) + block_area
    clock = cards.gate.clock_frequency  # type: ignore[attr-defined]
    layers = tuple({"layer": name, "area_m2": value} for name, value in per_layer.items())
    return Floorplan(latency_s=length / clock, area_m2=sum(area.values()), area_breakdown_m2=area,
                     layers=layers, basis="every neuron its own circuit, layers bit-pipelined (SC-DCNN); "
                                          "area: SC gates, adders, counters and RNGs (binary counters, FSM "
                                          "registers and comparators not included)")
