"""Device kind ``rpu_device``: a resistive processing unit (RPU) cell trained in place by pulses.

The parameters are those of the pulsed-update device of Gokmen & Vlasov, "Acceleration of deep neural network
training with resistive cross-point devices: design considerations", Front. Neurosci. 10:333 (2016): a
weight in abstract units (the paper's w, not a conductance) moved by one step Δw_min per coincidence of an
up or a down pulse, with up/down asymmetry, device-to-device spread of the step and of the bounds and
cycle-to-cycle noise per step. ``soft_bounds`` selects the step that shrinks linearly towards the bound.
The behaviour is :class:`neuroemu.devices.updates.PulsedUpdateModel`.
"""

from __future__ import annotations

from dataclasses import dataclass

from neuroemu.cards.schema import Card, derived, param, register_kind

__all__ = ["RpuDevice"]


@register_kind("rpu_device")
@dataclass(frozen=True, kw_only=True)
class RpuDevice(Card):
    """A pulse-updated RPU cell (Gokmen & Vlasov 2016); weights in the paper's abstract units."""

    dw_min: float = param(gt=0, doc="mean weight step of one coincidence (Δw_min)")
    dw_min_dtod: float = param(ge=0, doc="relative device-to-device σ of Δw_min")
    dw_min_std: float = param(ge=0, doc="relative cycle-to-cycle σ of one step (c2c noise)")
    up_down: float = param(gt=-1, lt=1,
                           doc="asymmetry: Δw_up = Δw_min(1 + up_down), Δw_down = Δw_min(1 - up_down)")
    up_down_dtod: float = param(ge=0, doc="device-to-device σ of up_down (absolute)")
    w_max: float = param(gt=0, doc="mean upper weight bound")
    w_min: float = param(lt=0, doc="mean lower weight bound")
    w_bound_dtod: float = param(ge=0, doc="relative device-to-device σ of each bound")
    soft_bounds: bool = param(default=False,
                              doc="step shrinks linearly to 0 at the bound (else constant step)")
    write_voltage: float | None = param("V", gt=0, default=None,
                                        doc="amplitude of an update pulse (optional)")
    write_pulse_width: float | None = param("s", gt=0, default=None,
                                            doc="duration of an update pulse (optional)")
    g_mean: float | None = param("S", gt=0, default=None,
                                 doc="mean conductance during an update pulse (optional; prices pulses)")

    def check(self) -> None:
        given = [self.write_voltage is not None, self.write_pulse_width is not None, self.g_mean is not None]
        if any(given) and not all(given):
            raise ValueError(f"{self.fmt('write_voltage')}, {self.fmt('write_pulse_width')} and "
                             f"{self.fmt('g_mean')} must be given together or not at all")

    @derived(doc="(w_max - w_min) / dw_min: number of steps between the bounds")
    def n_states(self) -> float:
        return (self.w_max - self.w_min) / self.dw_min

    @derived("J", doc="write_voltage^2 * g_mean * write_pulse_width: energy of one update pulse")
    def pulse_energy(self) -> float | None:
        if self.write_voltage is None or self.write_pulse_width is None or self.g_mean is None:
            return None
        return self.write_voltage**2 * self.g_mean * self.write_pulse_width
