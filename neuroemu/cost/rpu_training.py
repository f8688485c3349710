"""Prices of the in-memory training events of :mod:`neuroemu.rpu` (reads ledgers and cards only).

``rpu_coincidence``: a device sees the full update voltage only when a row pulse and a column pulse
coincide (the half-selected devices of the stochastic scheme stay below threshold, Gokmen & Vlasov 2016),
so one coincidence costs the card's ``pulse_energy`` (V²·G·t). Reads and their conversions
(``rpu_forward_read`` / ``rpu_backward_read``) and the pulse drivers (``rpu_pulse``) are counted but left
unpriced: no circuit card of the project describes the training tile's periphery.
"""

from __future__ import annotations

from typing import Any

from neuroemu.cards.rpu_devices import RpuDevice
from neuroemu.ledger import Ledger

__all__ = ["UNPRICED", "price_rpu_training"]

UNPRICED = {
    "rpu_forward_read": "no circuit card for the training tile's DAC/ADC periphery",
    "rpu_backward_read": "no circuit card for the training tile's DAC/ADC periphery",
    "rpu_pulse": "no circuit card for the stochastic pulse generators and drivers",
}


def price_rpu_training(ledger: Ledger, card: RpuDevice, samples: int) -> dict[str, Any]:
    """``{"energy_j", "energy_per_sample_j", "priced", "unpriced"}`` of a training ledger."""
    coincidences = ledger.count("rpu_coincidence")
    unpriced = {event: reason for event, reason in UNPRICED.items() if ledger.count(event)}
    if card.pulse_energy is None:
        unpriced["rpu_coincidence"] = f"card {card.name} gives no update pulse (write_voltage, ...)"
        energy = None
    else:
        energy = coincidences * card.pulse_energy
    return {"energy_j": energy,
            "energy_per_sample_j": None if energy is None or samples == 0 else energy / samples,
            "priced": {} if energy is None else {"rpu_coincidence": energy},
            "unpriced": unpriced}
