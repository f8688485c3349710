"""Pricing a ledger: a table of rules turns event counts into joules, by component and by layer.

A :class:`PriceBook` is a table of :class:`Rule` objects keyed by event name. A rule may also require
attribute values (``match={"bits": 8}``) or one layer (``layer="fc1"``); for each ledger entry the most
specific matching rule wins (a layer rule beats a layer-free one, then more matched attributes beat fewer;
two equally specific matches are an error). A rule's ``terms`` function receives the entry's attributes and
returns one or more :class:`Term` — an energy per event assigned to a *component* (``"adc"``, ``"mult"``,
``"cell_read"``...), the cards it came from and a one-line basis saying how it was computed. A new substrate
adds rules; the pricer does not change.

An event with no rule is **never** priced at zero silently: :func:`price` lists it in
:attr:`EnergyReport.unpriced` (and the ``energy`` command warns). A rule may deliberately return no terms
(:func:`free_rule`, e.g. a bookkeeping event whose energy is counted by other events); its basis then says
why, and the event appears in :attr:`EnergyReport.lines` with zero joules.

The energy models used by the standard rules (:mod:`neuroemu.cost.rules`) are here:

- :func:`walden_energy`: ADC energy per conversion E(b) = FoM·2^b with the Walden figure of merit of a
  reference ADC card (Walden, IEEE JSAC 1999; FoM = E_ref / 2^b_ref): a b-bit conversion costs
  2^(b − b_ref) times the reference card's conversion. This assumes the FoM stays constant across
  resolutions, the usual first-order assumption for low-resolution converters; at high resolution thermal
  noise makes the energy grow faster (about 4× per bit), so extrapolating far above the reference
  resolution underestimates.
- :class:`DigitalOps`: adder / multiplier energy by operand width from ``digital_op`` cards. A width with a
  card is priced exactly; another width is interpolated as a power law E(b) = E₁·(b/b₁)^k through the two
  nearest published widths (k = ln(E₂/E₁)/ln(b₂/b₁); from Horowitz's 45 nm numbers k ≈ 0.87 for adders,
  close to linear, and k ≈ 1.98 for multipliers, close to quadratic, as array circuits scale). Outside the
  published range the same law extrapolates from the two nearest widths, and the basis says so.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from neuroemu.cards import Card
from neuroemu.ledger import AttrValue, Ledger, LedgerEntry

__all__ = [
    "DigitalOps",
    "EnergyReport",
    "PriceBook",
    "PricingError",
    "Rule",
    "Term",
    "free_rule",
    "nearest_widths",
    "price",
    "sample_hold_term",
    "walden_energy",
]


class PricingError(ValueError):
    """A price book or pricing input that cannot be used (ambiguous rules, a missing card width...)."""


@dataclass(frozen=True)
class Term:
    """Energy ``energy_j`` per event, booked to ``component``; ``cards`` and ``basis`` give its origin."""

    component: str
    energy_j: float
    cards: tuple[str, ...]
    basis: str

    def __post_init__(self) -> None:
        if not (math.isfinite(self.energy_j) and self.energy_j >= 0):
            raise PricingError(f"term {self.component!r}: energy must be finite and >= 0 J, "
                               f"got {self.energy_j!r}")


TermsFn = Callable[[Mapping[str, AttrValue]], Sequence[Term]]


@dataclass(frozen=True)
class Rule:
    """Price of ``event`` (optionally only with attributes ``match`` and in ``layer``): ``terms(attrs)``."""

    event: str
    terms: TermsFn
    match: Mapping[str, AttrValue] = field(default_factory=dict)
    layer: str | None = None
    basis: str = ""  #: why a rule with no terms is free (see free_rule)

    def matches(self, entry: LedgerEntry) -> bool:
        if entry.event != self.event or (self.layer is not None and entry.layer != self.layer):
            return False
        return all(k in entry.attrs and entry.attrs[k] == v for k, v in self.match.items())

    @property
    def specificity(self) -> tuple[int, int]:
        return int(self.layer is not None), len(self.match)


def free_rule(event: str, reason: str) -> Rule:
    """A rule that prices ``event`` at zero on purpose; ``reason`` is reported as its basis."""
    return Rule(event, lambda _attrs: (), basis=reason)


class PriceBook:
    """An ordered table of rules (see the module docstring); immutable: :meth:`with_rules` makes a new one."""

    def __init__(self, rules: Iterable[Rule] = ()) -> None:
        self._rules: tuple[Rule, ...] = tuple(rules)
        for rule in self._rules:
            if not isinstance(rule, Rule):
                raise TypeError(f"a PriceBook holds Rule objects, got {type(rule).__name__}")

    @property
    def rules(self) -> tuple[Rule, ...]:
        return self._rules

    def with_rules(self, rules: Iterable[Rule]) -> PriceBook:
        """A new book with ``rules`` added (more specific rules override by specificity, not by order)."""
        return PriceBook((*self._rules, *rules))

    def events(self) -> list[str]:
        return sorted({rule.event for rule in self._rules})

    def rule_for(self, entry: LedgerEntry) -> Rule | None:
        """The most specific rule matching ``entry``; ``None`` when none does."""
        found = [rule for rule in self._rules if rule.matches(entry)]
        if not found:
            return None
        best = max(rule.specificity for rule in found)
        top = [rule for rule in found if rule.specificity == best]
        if len(top) > 1:
            raise PricingError(f"{len(top)} equally specific rules price event {entry.event!r} "
                               f"(layer {entry.layer!r}, attrs {dict(entry.attrs)}): make one more specific")
        return top[0]

    def __len__(self) -> int:
        return len(self._rules)

    def __repr__(self) -> str:
        return f"PriceBook({len(self)} rules for {self.events()})"


@dataclass(frozen=True)
class EnergyReport:
    """The price of a ledger. Energies in joules for the whole ledger; ``per_inference_j`` divides by images.

    - ``breakdown_j``: component → J; ``per_layer_j``: layer (``"-"`` for events without a layer) → J;
    - ``unpriced``: ledger entries no rule prices (``{"event", "layer", "attrs", "count"}``);
    - ``lines``: one per priced entry, with its count, energy, components and basis;
    - ``cards``: names of every card a price came from.
    """

    total_j: float
    images: int
    breakdown_j: Mapping[str, float]
    per_layer_j: Mapping[str, float]
    unpriced: tuple[Mapping[str, Any], ...]
    lines: tuple[Mapping[str, Any], ...]
    cards: tuple[str, ...]

    @property
    def per_inference_j(self) -> float:
        return self.total_j / self.images

    def breakdown_per_inference_j(self) -> dict[str, float]:
        return {k: v / self.images for k, v in self.breakdown_j.items()}

    def per_layer_per_inference_j(self) -> dict[str, float]:
        return {k: v / self.images for k, v in self.per_layer_j.items()}

    def share(self, *components: str) -> float:
        """Fraction of the total energy in ``components`` (0 when the total is 0)."""
        part = sum(self.breakdown_j.get(c, 0.0) for c in components)
        return part / self.total_j if self.total_j > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of every field plus ``energy_per_inference_j``."""
        return {
            "total_j": self.total_j,
            "images": self.images,
            "energy_per_inference_j": self.per_inference_j,
            "breakdown_j": dict(self.breakdown_j),
            "per_layer_j": dict(self.per_layer_j),
            "unpriced": [dict(u) for u in self.unpriced],
            "lines": [dict(line) for line in self.lines],
            "cards": list(self.cards),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EnergyReport:
        """The report :meth:`to_dict` wrote (a stored result read back; the same numbers)."""
        try:
            return cls(total_j=data["total_j"], images=data["images"], breakdown_j=dict(data["breakdown_j"]),
                       per_layer_j=dict(data["per_layer_j"]), unpriced=tuple(data["unpriced"]),
                       lines=tuple(data["lines"]), cards=tuple(data["cards"]))
        except (KeyError, TypeError) as exc:
            raise PricingError(f"not an energy report: {exc}") from exc


def price(ledger: Ledger, book: PriceBook, *, images: int = 1) -> EnergyReport:
    """Price every entry of ``ledger`` with ``book``; ``images``: how many inferences the ledger covers.

    Energy of an entry = count × Σ terms' energy per event. Entries without a rule are listed as unpriced
    and contribute nothing to the totals (never a silent zero: check ``report.unpriced``).
    """
    if isinstance(images, bool) or not isinstance(images, int) or images < 1:
        raise PricingError(f"images must be an integer >= 1, got {images!r}")
    breakdown: dict[str, float] = {}
    per_layer: dict[str, float] = {}
    unpriced: list[dict[str, Any]] = []
    lines: list[dict[str, Any]] = []
    cards: set[str] = set()
    total = 0.0
    for entry in ledger.entries():
        rule = book.rule_for(entry)
        if rule is None:
            unpriced.append(entry.to_dict())
            continue
        terms = tuple(rule.terms(entry.attrs))
        components: dict[str, float] = {}
        for term in terms:
            joules = entry.count * term.energy_j
            components[term.component] = components.get(term.component, 0.0) + joules
            breakdown[term.component] = breakdown.get(term.component, 0.0) + joules
            cards.update(term.cards)
        energy = sum(components.values())
        layer = entry.layer if entry.layer is not None else "-"
        per_layer[layer] = per_layer.get(layer, 0.0) + energy
        total += energy
        basis = "; ".join(f"{t.component}: {t.basis}" for t in terms) if terms else rule.basis
        lines.append({**entry.to_dict(), "energy_j": energy, "components_j": components, "basis": basis})
    return EnergyReport(total_j=total, images=images, breakdown_j=breakdown, per_layer_j=per_layer,
                        unpriced=tuple(unpriced), lines=tuple(lines), cards=tuple(sorted(cards)))


# ---------------------------------------------------------------------------------------- energy models


def walden_energy(reference: Card, bits: int) -> Term:
    """ADC energy per ``bits``-bit conversion, E = FoM·2^bits with the Walden FoM of ``reference``.

    ``reference`` is an ``adc`` card (its ``walden_fom`` = energy_per_conversion / 2^bits). At the card's
    own resolution this returns exactly its energy per conversion.
    """
    if reference.kind != "adc":
        raise PricingError(f"walden_energy needs an 'adc' card, got {reference.name!r} "
                           f"of kind {reference.kind!r}")
    if isinstance(bits, bool) or not isinstance(bits, int) or not 1 <= bits <= 24:
        raise PricingError(f"ADC bits must be an integer in 1..24, got {bits!r}")
    ref_bits = reference.bits  # type: ignore[attr-defined]
    # at the card's own width its conversion energy exactly; else FoM * 2^bits
    energy = (reference.energy_per_conversion if bits == ref_bits  # type: ignore[attr-defined]
              else reference.walden_fom * 2.0**bits)  # type: ignore[attr-defined]
    return Term("adc", energy, (reference.name,),
                f"Walden E = FoM*2^{bits}, FoM = {reference.walden_fom:.4g} J/step from {reference.name} "
                f"({ref_bits}-bit)")


def sample_hold_term(card: Card) -> Term:
    """One operation of a sample-and-hold ``periphery`` card, booked to ``sample_hold``."""
    if card.kind != "periphery" or card.function != "sample_and_hold":  # type: ignore[attr-defined]
        raise PricingError(f"card {card.name!r} is not a sample_and_hold periphery card")
    return Term("sample_hold", card.energy_per_operation, (card.name,),  # type: ignore[attr-defined]
                f"{card.name} energy per sample")


class DigitalOps:
    """Energy of integer (or float) adds and multiplies by width, from ``digital_op`` cards.

    ``energy(operation, bits)`` → :class:`Term` booked to ``component`` (default: the operation name).
    See the module docstring for the interpolation rule between published widths.
    """

    def __init__(self, cards: Iterable[Card], number_format: str = "int") -> None:
        self.number_format = number_format
        self._by_op: dict[str, dict[int, Card]] = {}
        for card in cards:
            if card.kind != "digital_op":
                raise PricingError(f"DigitalOps needs 'digital_op' cards, got {card.name!r} ({card.kind})")
            if card.number_format != number_format:  # type: ignore[attr-defined]
                continue
            widths = self._by_op.setdefault(card.operation, {})  # type: ignore[attr-defined]
            if card.bits in widths:  # type: ignore[attr-defined]
                raise PricingError(f"two {number_format} {card.operation} cards for {card.bits} bits: "  # type: ignore[attr-defined]
                                   f"{widths[card.bits].name} and {card.name}")  # type: ignore[attr-defined]
            widths[card.bits] = card  # type: ignore[attr-defined]

    def operations(self) -> list[str]:
        return sorted(self._by_op)

    def widths(self, operation: str) -> list[int]:
        """Published operand widths of ``operation`` (those with a card)."""
        return sorted(self._by_op.get(operation, {}))

    def energy(self, operation: str, bits: int, component: str | None = None) -> Term:
        """Energy of one ``bits``-wide ``operation`` (``"add"`` / ``"mult"``)."""
        widths = self._by_op.get(operation)
        if not widths:
            raise PricingError(f"no {self.number_format} {operation!r} card; "
                               f"have operations {self.operations()}")
        if isinstance(bits, bool) or not isinstance(bits, int) or bits < 1:
            raise PricingError(f"{operation} width must be an integer >= 1, got {bits!r}")
        component = component or operation
        if bits in widths:
            card = widths[bits]
            return Term(component, card.energy, (card.name,), f"{card.name}")  # type: ignore[attr-defined]
        b1, b2, how = nearest_widths(sorted(widths), bits, f"{self.number_format} {operation} at {bits} bits")
        c1, c2 = widths[b1], widths[b2]
        e1, e2 = c1.energy, c2.energy  # type: ignore[attr-defined]
        k = math.log(e2 / e1) / math.log(b2 / b1)
        energy = e1 * (bits / b1) ** k
        return Term(component, energy, (c1.name, c2.name),
                    f"{bits}-bit {operation} {how} as a power law (k = {k:.3f}) between {c1.name} "
                    f"and {c2.name}")


def nearest_widths(known: Sequence[int], bits: int, what: str) -> tuple[int, int, str]:
    """The two published widths to interpolate ``bits`` between (``"interpolated"``), or, outside the
    published range, the two nearest to extrapolate from (``"extrapolated"``). ``known`` is sorted."""
    if len(known) < 2:
        raise PricingError(f"{what}: only {list(known)} bits published, need two widths to interpolate")
    lower = [b for b in known if b < bits]
    upper = [b for b in known if b > bits]
    if lower and upper:
        return lower[-1], upper[0], "interpolated"
    if upper:
        return upper[0], upper[1], "extrapolated"
    return lower[-2], lower[-1], "extrapolated"
