"""Hardware event counting (the ledger) and, later, pricing with circuit cards."""

from neuroemu.cost.ledger import Ledger, LedgerEntry
from neuroemu.cost.macs import count_macs
from neuroemu.cost.recording import RecordsEvents, recording

__all__ = ["Ledger", "LedgerEntry", "RecordsEvents", "count_macs", "recording"]
