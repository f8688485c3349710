"""Pricing a ledger with circuit cards: energy per inference, its breakdown, latency and area.

This floor reads ledgers (:mod:`neuroemu.ledger`) and cards, never a substrate's layers: everything it needs
travels in the ledger's events. ``Ledger`` and ``recording`` are re-exported here for convenience.
"""

from neuroemu.cost.pricing import EnergyReport, PriceBook, PricingError, Rule, Term, price
from neuroemu.cost.rules import CircuitCards, standard_book
from neuroemu.ledger import Ledger, LedgerEntry, RecordsEvents, recording

__all__ = [
    "CircuitCards",
    "EnergyReport",
    "Ledger",
    "LedgerEntry",
    "PriceBook",
    "PricingError",
    "RecordsEvents",
    "Rule",
    "Term",
    "price",
    "recording",
    "standard_book",
]
