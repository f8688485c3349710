"""Prices of the in-memory training events of :mod:`neuroemu.rpu` (reads ledgers and cards only).

``rpu_coincidence``: a device sees the full update voltage only when a row pulse and a column pulse
coincide (the half-selected devices of the stochastic scheme stay below threshold, Gokmen & Vlasov 2016),
so one coincidence costs one update pulse of the card: ``pulse_energy`` (V²·G·t) of an ``rpu_device``,
``pulse_energy_up`` / ``pulse_energy_down`` per polarity of an ``rpu_rram_device``, ``set_energy`` of an
``rpu_pcm_pair`` (every update is a SET of one cell). A PCM pair's refreshes cost their pulses
(``rpu_refresh_pulse``: ``set_energy`` / ``reset_energy``). Reads and their conversions
(``rpu_forward_read`` / ``rpu_backward_read``) and the pulse drivers (``rpu_pulse``) are counted but left
unpriced: no circuit card of the project describes the training tile's periphery.
"""

from __future__ import annotations

from typing import Any

from neuroemu.cards.rpu_devices import PcmPairDevice, RpuDevice, RramUpdateDevice
from neuroemu.ledger import Ledger

__all__ = ["UNPRICED", "price_rpu_training"]

UNPRICED = {
    "rpu_forward_read": "no circuit card for the training tile's DAC/ADC periphery",
    "rpu_backward_read": "no circuit card for the training tile's DAC/ADC periphery",
    "rpu_pulse": "no circuit card for the stochastic pulse generators and drivers",
}


def _pulse_prices(card: RpuDevice | RramUpdateDevice | PcmPairDevice) -> dict[tuple[str, str], float | None]:
    """(event, polarity / kind) → energy of one such pulse (None: the card gives none)."""
    if isinstance(card, RramUpdateDevice):
        return {("rpu_coincidence", "up"): card.pulse_energy_up,
                ("rpu_coincidence", "down"): card.pulse_energy_down}
    if isinstance(card, PcmPairDevice):
        return {("rpu_coincidence", "up"): card.set_energy, ("rpu_coincidence", "down"): card.set_energy,
                ("rpu_refresh_pulse", "set"): card.set_energy,
                ("rpu_refresh_pulse", "reset"): card.reset_energy}
    return {("rpu_coincidence", "up"): card.pulse_energy, ("rpu_coincidence", "down"): card.pulse_energy}


def price_rpu_training(ledger: Ledger, card: RpuDevice | RramUpdateDevice | PcmPairDevice,
                       samples: int) -> dict[str, Any]:
    """``{"energy_j", "energy_per_sample_j", "priced", "unpriced"}`` of a training ledger."""
    unpriced = {event: reason for event, reason in UNPRICED.items() if ledger.count(event)}
    priced: dict[str, float] = {}
    missing = False
    for (event, which), energy in _pulse_prices(card).items():
        attr = {"polarity": which} if event == "rpu_coincidence" else {"kind": which}
        count = ledger.count(event, **attr)
        if count == 0:
            continue
        if energy is None:
            missing = True
            unpriced[event] = f"card {card.name} gives no energy for this pulse"
        else:
            priced[event] = priced.get(event, 0.0) + count * energy
    energy_j = None if missing or not priced else sum(priced.values())
    return {"energy_j": energy_j,
            "energy_per_sample_j": None if energy_j is None or samples == 0 else energy_j / samples,
            "priced": priced, "unpriced": unpriced}
