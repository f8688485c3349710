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
from typing import Any

from neuroemu.cards.schema import Card, derived, param, register_kind

__all__ = ["PcmPairDevice", "RpuDevice", "RramUpdateDevice"]


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


def _pulses_param(direction: str) -> Any:
    return param(ge=1, le=2**20, doc="pulses that take the conductance from one end of the window to the "
                                     f"other ({direction}; the number of levels P_max)")


def _shape_param(direction: str) -> Any:
    return param(ge=0.01, le=1e3, doc=f"A/P_max of G(P) = G_min + B(1 − exp(−P/A)), {direction} "
                                   "(normalised nonlinearity; small: saturating, large: near linear)")


@register_kind("rpu_rram_device")
@dataclass(frozen=True, kw_only=True)
class RramUpdateDevice(Card):
    """An RRAM cell trained by identical pulses with nonlinear, asymmetric potentiation / depression
    (NeuroSim's model: Chen, Peng & Yu, IEEE TCAD 37:3067, 2018); the behaviour is
    :class:`neuroemu.devices.nonlinear_updates.RramUpdateModel`."""

    g_min: float = param("S", ge=0, doc="lowest conductance of the update window")
    g_max: float = param("S", gt=0, doc="highest conductance of the update window")
    pulses_ltp: int = _pulses_param("potentiation, LTP")
    pulses_ltd: int = _pulses_param("depression, LTD")
    a_ltp: float = _shape_param("potentiation")
    a_ltd: float = _shape_param("depression (mirrored: measured from G_max downwards)")
    c2c_sigma: float = param(ge=0, le=1, doc="cycle-to-cycle σ of a write, relative to g_max − g_min, "
                                              "times sqrt(pulses)")
    w_max: float = param(gt=0, le=1e3, doc="weight of G_max (G_min is −w_max; a reference device at the "
                                           "middle conductance subtracts the offset): a mapping choice")
    write_voltage_ltp: float | None = param("V", gt=0, default=None, doc="amplitude of a potentiation pulse")
    write_voltage_ltd: float | None = param("V", gt=0, default=None, doc="amplitude of a depression pulse")
    write_pulse_width: float | None = param("s", gt=0, default=None, doc="duration of an update pulse")

    def check(self) -> None:
        if not self.g_min < self.g_max:
            raise ValueError(f"{self.fmt('g_min')} must be < {self.fmt('g_max')}")
        given = [self.write_voltage_ltp is not None, self.write_voltage_ltd is not None,
                 self.write_pulse_width is not None]
        if any(given) and not all(given):
            raise ValueError(f"{self.fmt('write_voltage_ltp')}, {self.fmt('write_voltage_ltd')} and "
                             f"{self.fmt('write_pulse_width')} must be given together or not at all")

    @derived(doc="w_max · (1/pulses_ltp + 1/pulses_ltd): mean weight step of a pulse over the window")
    def dw_min(self) -> float:
        return self.w_max * (1.0 / self.pulses_ltp + 1.0 / self.pulses_ltd)

    @derived("J", doc="write_voltage_ltp² · (g_min + g_max)/2 · write_pulse_width: one potentiation pulse "
                      "at the mean conductance of the window")
    def pulse_energy_up(self) -> float | None:
        if self.write_voltage_ltp is None or self.write_pulse_width is None:
            return None
        return self.write_voltage_ltp**2 * (self.g_min + self.g_max) / 2 * self.write_pulse_width

    @derived("J", doc="write_voltage_ltd² · (g_min + g_max)/2 · write_pulse_width: one depression pulse "
                      "at the mean conductance of the window")
    def pulse_energy_down(self) -> float | None:
        if self.write_voltage_ltd is None or self.write_pulse_width is None:
            return None
        return self.write_voltage_ltd**2 * (self.g_min + self.g_max) / 2 * self.write_pulse_width


@register_kind("rpu_pcm_pair")
@dataclass(frozen=True, kw_only=True)
class PcmPairDevice(Card):
    """A differential pair of PCM cells trained by SET pulses only, with refresh (Nandakumar et al.,
    Front. Neurosci. 14:406, 2020; Boybat et al., Nat. Commun. 9:2514, 2018); the behaviour is
    :class:`neuroemu.devices.pcm_pair.PcmPairModel`."""

    g_min: float = param("S", ge=0, doc="conductance after a RESET")
    g_max: float = param("S", gt=0, doc="highest conductance reached by SET pulses (the window's top)")
    set_pulses: int = _pulses_param("SET pulses from g_min to g_max")
    a_set: float = _shape_param("the SET pulse train (conductance-dependent step, saturating)")
    c2c_sigma: float = param(ge=0, le=1, doc="cycle-to-cycle σ of a SET train, relative to g_max − g_min, "
                                              "times sqrt(pulses)")
    refresh_threshold: float = param(gt=0, le=1, doc="refresh a pair when one side exceeds "
                                                     "g_min + refresh_threshold·(g_max − g_min)")
    w_max: float = param(gt=0, le=1e3, doc="weight of G⁺ − G⁻ = g_max − g_min: a mapping choice")
    set_energy: float | None = param("J", gt=0, default=None, doc="energy of one SET pulse (optional)")
    reset_energy: float | None = param("J", gt=0, default=None, doc="energy of one RESET pulse (optional)")

    def check(self) -> None:
        if not self.g_min < self.g_max:
            raise ValueError(f"{self.fmt('g_min')} must be < {self.fmt('g_max')}")

    @derived(doc="w_max / set_pulses: mean weight step of a SET pulse over the window")
    def dw_min(self) -> float:
        return self.w_max / self.set_pulses
