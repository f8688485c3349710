"""Hardware event counting (the ledger) and pricing it with circuit cards (energy per inference)."""

from neuroemu.cost.ledger import Ledger, LedgerEntry
from neuroemu.cost.macs import count_macs
from neuroemu.cost.pricing import EnergyReport, PriceBook, PricingError, Rule, Term, price
from neuroemu.cost.recording import RecordsEvents, recording
from neuroemu.cost.rules import CircuitCards, standard_book

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
    "count_macs",
    "price",
    "recording",
    "standard_book",
]
