"""Price rules for spiking execution from a ``spiking_core`` card (Loihi, TrueNorth, ...).

A spiking substrate records, per layer:

- ``synaptic_op``: one spike delivered across one synapse → the card's energy per synaptic operation
  (component ``synapse``);
- ``neuron_update`` (``active`` True / False): one membrane update of a neuron that did / did not receive
  input → the card's active / idle neuron-update energy (``neuron``);
- ``spike_route`` (``hops`` = n): one emitted spike that travels n mesh hops → energy per spike + n × energy
  per hop (``routing``).

A card that does not give an energy (TrueNorth's all-in figure gives only the synaptic event) leaves that
event without a rule, so it is listed as unpriced rather than counted as zero.
"""

from __future__ import annotations

from collections.abc import Mapping

from neuroemu.cards import Card
from neuroemu.cost.pricing import PricingError, Rule, Term
from neuroemu.ledger import AttrValue

__all__ = ["DEFAULT_SPIKING_CARD", "spiking_rules"]

#: the neuromorphic core that prices spiking runs unless told otherwise (``--card spiking=NAME``)
DEFAULT_SPIKING_CARD = "loihi-davies2018"


def spiking_rules(card: Card) -> list[Rule]:
    """Rules for the spiking events that ``card`` (kind ``spiking_core``) gives an energy for."""
    if card.kind != "spiking_core":
        raise PricingError(f"card {card.name!r} has kind {card.kind!r}, not 'spiking_core'")

    def fixed(event: str, component: str, field: str, **match: AttrValue) -> Rule:
        term = Term(component, getattr(card, field), (card.name,), f"{card.name} {field}")
        return Rule(event, lambda _a: (term,), match=match)

    rules = [fixed("synaptic_op", "synapse", "energy_per_synaptic_op")]
    for active, field in ((True, "energy_per_neuron_update"), (False, "energy_per_idle_neuron_update")):
        if getattr(card, field) is not None:
            rules.append(fixed("neuron_update", "neuron", field, active=active))
    spike, hop = card.energy_per_spike, card.energy_per_hop  # type: ignore[attr-defined]
    if spike is not None and hop is not None:

        def route(attrs: Mapping[str, AttrValue]) -> tuple[Term, ...]:
            hops = attrs.get("hops")
            if isinstance(hops, bool) or not isinstance(hops, int) or hops < 0:
                raise PricingError(f"event 'spike_route' needs an integer attribute 'hops' >= 0, "
                                   f"got {hops!r}")
            return (Term("routing", spike + hops * hop, (card.name,),
                         f"{card.name} energy_per_spike + {hops} x energy_per_hop"),)

        rules.append(Rule("spike_route", route))
    return rules
