"""The digital baseline's registration: MAC events priced by the standard digital rules, weight fetches by
the memory cards their events name."""

from __future__ import annotations

from neuroemu.cards import load_card
from neuroemu.cost.pricing import Rule
from neuroemu.cost.rules import memory_rule
from neuroemu.digital.spec import Digital
from neuroemu.registration import DemoBlock, PriceContext, Registration

__all__ = ["REGISTRATION"]


def _memory_rules(context: PriceContext) -> list[Rule]:
    """One ``memory_read`` rule per memory card the ledger's events name (a card the caller holds, else
    looked up in the card search path)."""
    held = {card.name: card for card in context.held_cards}
    names = sorted({str(e.attrs["memory"]) for e in context.ledger.entries()
                    if e.event == "memory_read" and "memory" in e.attrs})
    return [memory_rule(held[name] if name in held else load_card(name, context.paths, kind="memory"))
            for name in names]


REGISTRATION = Registration(
    name="digital",
    spec=Digital,
    summary="the float network on a digital MAC datapath (the common reference)",
    price_rules=_memory_rules,
    demo=(DemoBlock({"model": "lenet5-mnist", "bits": [8, 32]}),),
)
