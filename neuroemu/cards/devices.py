"""Device kinds (cards in ``devices/``): memory devices that store weights as conductances.

A new kind is one more registered dataclass here (see :mod:`neuroemu.cards.schema`), documented in
``devices/README.md``; a test keeps that README in step with the classes.
"""

from __future__ import annotations

from dataclasses import dataclass

from neuroemu.cards.schema import Card, derived, param, register_kind

__all__ = ["IdealDevice"]


@register_kind("ideal_device")
@dataclass(frozen=True, kw_only=True)
class IdealDevice(Card):
    """A noise-free memory device with a continuum of conductance levels (for validation)."""

    g_min: float = param("S", ge=0, doc="lowest programmable conductance")
    g_max: float = param("S", gt=0, doc="highest programmable conductance; must exceed g_min")
    read_voltage: float = param("V", gt=0, doc="voltage applied across the device when reading")
    read_pulse_width: float = param("s", gt=0, doc="duration of one read pulse")

    def check(self) -> None:
        if not self.g_min < self.g_max:
            raise ValueError(f"{self.fmt('g_min')} must be < {self.fmt('g_max')}")

    @derived("A", doc="read_voltage * g_max: current through a device at g_max during a read")
    def max_read_current(self) -> float:
        return self.read_voltage * self.g_max

    @derived("J", doc="read_voltage^2 * g_max * read_pulse_width: energy of one read at g_max")
    def max_read_energy(self) -> float:
        return self.read_voltage**2 * self.g_max * self.read_pulse_width
