"""One-time programming energy of a crossbar-mapped network: write pulses × the card's energy per pulse.

Programming a chip is paid once, not per inference, so it is reported beside the energy per inference,
never inside it. Model: every physical device of a layer (both cells of each pair, every slice, the
reference columns) receives one write pulse of the card's ``write_energy_per_pulse`` — an upper bound for
binary cells that are already in their target state and a lower bound when failed writes are retried
(the expected number of pulses is 1 / (1 − write error rate), which the card's ``write_error_rate`` keeps
close to 1). Device cards without a write energy (the analog PCM / RRAM cards give no write pulse energy
or write-verify pulse count from their sources) leave their layers unpriced, with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import nn

__all__ = ["ProgrammingEnergy", "programming_energy"]


@dataclass(frozen=True)
class ProgrammingEnergy:
    """Energy to program one chip: per layer (J), and the layers whose device card gives no write energy."""

    per_layer_j: dict[str, float] = field(default_factory=dict)
    unpriced: dict[str, str] = field(default_factory=dict)  #: layer → why

    @property
    def total_j(self) -> float | None:
        """Total over the layers, or ``None`` when some layer could not be priced."""
        return None if self.unpriced else sum(self.per_layer_j.values())

    def to_dict(self) -> dict[str, object]:
        return {"programming_j": self.total_j, "per_layer_j": dict(self.per_layer_j),
                "unpriced": dict(self.unpriced)}


def programming_energy(model: nn.Module) -> ProgrammingEnergy:
    """One write pulse per physical device of every crossbar layer of ``model`` (see the module)."""
    from neuroemu.crossbar import crossbar_layers

    per_layer: dict[str, float] = {}
    unpriced: dict[str, str] = {}
    for layer in crossbar_layers(model):
        card = layer.device.card
        energy = getattr(card, "write_energy_per_pulse", None)
        if energy is None:
            unpriced[layer.name] = f"device card {card.name!r} gives no write energy per pulse"
        else:
            per_layer[layer.name] = layer.devices * energy
    return ProgrammingEnergy(per_layer, unpriced)
