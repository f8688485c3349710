"""One-time programming energy of a crossbar-mapped network, from the device card's write pulse.

Programming a chip is paid once, not per inference, so it is reported beside the energy per inference,
never inside it. Every physical device of a layer (both cells of each pair, every slice, the reference
columns) is programmed once:

- a card with a fixed ``write_energy_per_pulse`` (STT-RAM: a current pulse through the MTJ) costs one pulse
  per device — an upper bound for binary cells already in their target state and a lower bound when failed
  writes are retried (the expected number of pulses is 1 / (1 − write error rate), which the card's
  ``write_error_rate`` keeps close to 1);
- a conductance device with a write pulse (``write_voltage``, ``write_pulse_width``, ``write_pulses``)
  costs write_pulses · V_w² · (g_min + G_target)/2 · t_w per device, NeuroSim's write energy for a
  conductance rising evenly from g_min to its target (:meth:`~neuroemu.cards.devices.ConductanceDevice.
  programming_energy`), summed over the layer's target conductances (linear in G, so the layer mean is
  exact).

A layer whose device card gives neither is left unpriced, with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import nn

__all__ = ["ProgrammingEnergy", "programming_energy"]


@dataclass(frozen=True)
class ProgrammingEnergy:
    """Energy to program one chip: per layer (J) with how it was priced, and the layers left unpriced."""

    per_layer_j: dict[str, float] = field(default_factory=dict)
    unpriced: dict[str, str] = field(default_factory=dict)  #: layer → why
    basis: dict[str, str] = field(default_factory=dict)  #: layer → how it was priced

    @property
    def total_j(self) -> float | None:
        """Total over the layers, or ``None`` when some layer could not be priced."""
        return None if self.unpriced else sum(self.per_layer_j.values())

    def to_dict(self) -> dict[str, object]:
        return {"programming_j": self.total_j, "per_layer_j": dict(self.per_layer_j),
                "unpriced": dict(self.unpriced), "basis": dict(self.basis)}


def programming_energy(model: nn.Module) -> ProgrammingEnergy:
    """Energy to program every crossbar layer of ``model`` once (see the module)."""
    from neuroemu.crossbar import crossbar_layers

    per_layer: dict[str, float] = {}
    unpriced: dict[str, str] = {}
    basis: dict[str, str] = {}
    for layer in crossbar_layers(model):
        card = layer.device.card
        pulse = getattr(card, "write_energy_per_pulse", None)
        if pulse is not None:
            per_layer[layer.name] = layer.devices * pulse
            basis[layer.name] = f"{layer.devices} devices x one {pulse:.4g} J write pulse of {card.name}"
            continue
        target = _mean_target_conductance(layer)
        energy = card.programming_energy(target) if hasattr(card, "programming_energy") else None
        if energy is None:
            unpriced[layer.name] = f"device card {card.name!r} gives no write pulse"
        else:
            per_layer[layer.name] = layer.devices * energy
            basis[layer.name] = (f"{layer.devices} devices x {card.write_pulses:g} pulses of "
                                 f"{card.write_voltage:g} V, {card.write_pulse_width:g} s at the mean of "
                                 f"g_min and the mean target {target:.4g} S ({card.name})")
    return ProgrammingEnergy(per_layer, unpriced, basis)


def _mean_target_conductance(layer: nn.Module) -> float:
    """Mean target conductance over a layer's physical devices (a reference column once per column tile)."""
    g_plus, g_minus = layer.mapped.g_plus, layer.mapped.g_minus
    repeat = len(layer.tiling.col_tiles) if layer.mapping == "reference" else 1
    total = float(g_plus.double().sum()) + repeat * float(g_minus.double().sum())
    return total / layer.devices
