"""Hardware event counting (the ledger) and, later, pricing with circuit cards."""

from neuroemu.cost.ledger import Ledger, LedgerEntry
from neuroemu.cost.macs import count_macs

__all__ = ["Ledger", "LedgerEntry", "count_macs"]
