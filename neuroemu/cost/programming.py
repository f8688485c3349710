"""One-time programming energy of a chip: per layer, with how it was priced and what could not be.

Programming a chip is paid once, not per inference, so it is reported beside the energy per inference,
never inside it. The crossbar computes it from its device cards' write pulses
(:func:`neuroemu.crossbar.hardware.programming_energy`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["ProgrammingEnergy"]


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
