"""Device kinds (cards in ``devices/``): memory devices that store weights as conductances.

A new kind is one more registered dataclass here (see :mod:`neuroemu.cards.schema`), documented in
``devices/README.md``; a test keeps that README in step with the classes.

Every device kind may give stuck-at fault rates (``stuck_on_rate``, ``stuck_off_rate``, default 0): a cell
stuck at g_max or at g_min whatever it was programmed to. They are applied by one device-independent part,
:class:`neuroemu.devices.faults.StuckAtFaults`, for any device model.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from typing import Any

from neuroemu.cards.schema import Card, derived, param, register_kind

__all__ = ["IdealDevice", "PcmDevice", "RramDevice", "SttramDevice"]


#: the narrowest conductance window (g_max − g_min) / g_max a device may have: float32 resolves 2^-24 of
#: g_max, so a window of 2^-16 · g_max still holds 2^8 distinguishable conductances (a numerical guard)
MIN_WINDOW = 2.0**-16


#: the largest spread a σ(ĝ) polynomial may reach on 0 <= ĝ <= 1, in units of g_max: ten conductance windows
#: is no device, and beyond it the emulated currents leave float32 (a numerical guard)
MAX_SPREAD = 10.0


def _check_spread(card: Card, fields: tuple[str, ...]) -> None:
    """|σ(ĝ)| <= Σ|c_i| on 0 <= ĝ <= 1 stays within :data:`MAX_SPREAD`·g_max."""
    bound = sum(abs(getattr(card, f)) for f in fields)
    if bound > MAX_SPREAD * card.g_max:  # type: ignore[attr-defined]
        raise ValueError(f"the σ(ĝ) coefficients {', '.join(f'params.{f}' for f in fields)} reach "
                         f"{bound:.3g} S in absolute sum, more than {MAX_SPREAD:g}·{card.fmt('g_max')}: "
                         "no device spreads over that many conductance windows")


def _stuck_rate(state: str, level: str) -> Any:
    """The declaration of a stuck-at fault rate (``state`` ON or OFF, stuck at ``level``)."""
    return param(ge=0, le=1, default=0.0,
                 doc=f"fraction of cells stuck at {level} (stuck-at-{state}; optional, default 0)")


def _check_stuck_rates(card: Card) -> None:
    """The two fault rates of ``card`` together cover at most every cell."""
    if card.stuck_on_rate + card.stuck_off_rate > 1:  # type: ignore[attr-defined]
        raise ValueError(f"{card.fmt('stuck_on_rate')} + {card.fmt('stuck_off_rate')} must be <= 1")


@dataclass(frozen=True, kw_only=True)
class ConductanceDevice(Card):
    """Fields and checks shared by devices programmed to a conductance between g_min and g_max."""

    g_min: float = param("S", ge=0, doc="lowest programmable conductance")
    g_max: float = param("S", gt=0, doc="highest programmable conductance; ĝ = G / g_max")
    read_voltage: float = param("V", gt=0, doc="voltage applied across the device when reading")
    read_pulse_width: float = param("s", gt=0, doc="duration of one read pulse")
    write_voltage: float | None = param("V", gt=0, default=None,
                                        doc="amplitude of a programming pulse (optional; with "
                                            "write_pulse_width and write_pulses it prices programming)")
    write_pulse_width: float | None = param("s", gt=0, default=None,
                                            doc="duration of one programming pulse (optional)")
    write_pulses: float | None = param(ge=1, default=None,
                                       doc="mean programming (write-verify) pulses per device (optional)")
    stuck_on_rate: float = _stuck_rate("ON", "g_max")
    stuck_off_rate: float = _stuck_rate("OFF", "g_min")

    def check(self) -> None:
        if not self.g_min < self.g_max:
            raise ValueError(f"{self.fmt('g_min')} must be < {self.fmt('g_max')}")
        if self.g_max - self.g_min < MIN_WINDOW * self.g_max:
            raise ValueError(f"{self.fmt('g_min')} is too close to {self.fmt('g_max')}: g_max − g_min must "
                             f"be >= {MIN_WINDOW:g}·g_max, or float32 cannot tell 256 conductances in the "
                             "window apart")
        _check_stuck_rates(self)
        given = [self.write_voltage is not None, self.write_pulse_width is not None,
                 self.write_pulses is not None]
        if any(given) and not all(given):
            raise ValueError(f"{self.fmt('write_voltage')}, {self.fmt('write_pulse_width')} and "
                             f"{self.fmt('write_pulses')} must be given together or not at all")

    def programming_energy(self, target_conductance: float) -> float | None:
        """Energy (J) to program one device from g_min to ``target_conductance`` (S): write_pulses pulses of
        write_voltage² · (g_min + G_target)/2 · write_pulse_width (NeuroSim's write energy, V_w²·Ḡ·t_w per
        pulse with Ḡ the mean of the conductance before and after it, for a conductance rising evenly from
        g_min to the target); ``None`` when the card gives no write pulse."""
        if self.write_voltage is None or self.write_pulse_width is None or self.write_pulses is None:
            return None
        mean_g = (self.g_min + target_conductance) / 2
        return self.write_pulses * self.write_voltage**2 * mean_g * self.write_pulse_width

    @derived("A", doc="read_voltage * g_max: current through a device at g_max during a read")
    def max_read_current(self) -> float:
        return self.read_voltage * self.g_max

    @derived("J", doc="read_voltage^2 * g_max * read_pulse_width: energy of one read at g_max")
    def max_read_energy(self) -> float:
        return self.read_voltage**2 * self.g_max * self.read_pulse_width


@register_kind("ideal_device")
@dataclass(frozen=True, kw_only=True)
class IdealDevice(ConductanceDevice):
    """A noise-free memory device with a continuum of conductance levels (for validation)."""


@register_kind("pcm_device")
@dataclass(frozen=True, kw_only=True)
class PcmDevice(ConductanceDevice):
    """A phase-change memory device with the statistical model of Nandakumar et al. (ICECS 2019).

    With ĝ = G_target / g_max (programming) or G_prog / g_max (read noise):

    - programming noise: G_prog = G_target + σ_prog(ĝ)·z, σ_prog = prog_c0 + prog_c1·ĝ + prog_c2·ĝ²;
    - drift: G(t) = G_prog·((t + t0)/t0)^(−ν), ν = |μ_ν(ĝ) + σ_ν(ĝ)·z| drawn once per device, with
      μ_ν = clip(nu_mu_slope·ln ĝ + nu_mu_offset, nu_mu_min, nu_mu_max) and
      σ_ν = clip(nu_sigma_slope·ln ĝ + nu_sigma_offset, nu_sigma_min, nu_sigma_max);
    - read (1/f) noise: σ_read(t) = G(t)·Q_s·sqrt(ln((t + t0 + t_read)/(2·t_read))), with
      Q_s = min(read_q_coeff / max(ĝ^read_q_exponent, read_q_floor), read_q_max) and t_read the read pulse.
    """

    t0: float = param("s", gt=0, doc="time after programming of the first read; drift reference time")
    prog_c0: float = param("S", doc="programming-noise σ polynomial: constant term")
    prog_c1: float = param("S", doc="programming-noise σ polynomial: coefficient of ĝ")
    prog_c2: float = param("S", doc="programming-noise σ polynomial: coefficient of ĝ²")
    nu_mu_slope: float = param(doc="mean drift exponent μ_ν: coefficient of ln ĝ")
    nu_mu_offset: float = param(doc="mean drift exponent μ_ν: constant term")
    nu_mu_min: float = param(ge=0, doc="lower clip of μ_ν")
    nu_mu_max: float = param(ge=0, le=1, doc="upper clip of μ_ν")
    nu_sigma_slope: float = param(doc="drift-exponent spread σ_ν: coefficient of ln ĝ")
    nu_sigma_offset: float = param(doc="drift-exponent spread σ_ν: constant term")
    nu_sigma_min: float = param(ge=0, doc="lower clip of σ_ν")
    nu_sigma_max: float = param(ge=0, le=1, doc="upper clip of σ_ν")
    nu_ghat_floor: float = param(gt=0, le=1, doc="smallest ĝ used in ln ĝ of the drift fits (guards ln 0)")
    read_q_coeff: float = param(ge=0, doc="1/f read-noise amplitude Q_s: numerator")
    read_q_exponent: float = param(ge=0, doc="1/f read-noise amplitude Q_s: exponent of ĝ")
    read_q_floor: float = param(gt=0, le=1, doc="smallest ĝ^read_q_exponent used in Q_s (guards 1/0)")
    read_q_max: float = param(ge=0, le=1, doc="upper clip of Q_s (relative σ of the read noise)")

    def check(self) -> None:
        super().check()
        if not self.nu_mu_min <= self.nu_mu_max:
            raise ValueError(f"{self.fmt('nu_mu_min')} must be <= {self.fmt('nu_mu_max')}")
        if not self.nu_sigma_min <= self.nu_sigma_max:
            raise ValueError(f"{self.fmt('nu_sigma_min')} must be <= {self.fmt('nu_sigma_max')}")
        _check_spread(self, ("prog_c0", "prog_c1", "prog_c2"))
        if not self.read_pulse_width <= self.t0:  # else ln((t + t0 + t_read)/(2 t_read)) < 0 at t = 0
            raise ValueError(f"{self.fmt('read_pulse_width')} must be <= {self.fmt('t0')} (the 1/f "
                             "read-noise model reads after t0)")


@register_kind("rram_device")
@dataclass(frozen=True, kw_only=True)
class RramDevice(ConductanceDevice):
    """A resistive RAM (1T1R) cell programmed by iterative write-verify, with time-dependent spread.

    The deviation of a programmed conductance from its target G_T at a time t after programming is Gaussian
    with σ_t(ĝ) = Σ_i c_i ĝ^i (ĝ = G_T / g_max), fitted at three times (fit_time_1 < fit_time_2 < fit_time_3);
    between fit times σ_t² is interpolated linearly in ln t. A device-to-device gain (1 + d2d_sigma·z), a
    short-term read noise (relative σ read_noise) complete the model (stuck-at faults, as for every device:
    ``stuck_on_rate`` / ``stuck_off_rate``).
    """

    levels: int | None = param(ge=2, le=2**24, default=None,
                               doc="programmable levels between g_min and g_max (omit: a continuum)")
    fit_time_1: float = param("s", gt=0, doc="time after programming of the first σ(ĝ) fit")
    fit_time_2: float = param("s", gt=0, doc="time after programming of the second σ(ĝ) fit")
    fit_time_3: float = param("s", gt=0, doc="time after programming of the third σ(ĝ) fit")
    sigma1_c0: float = param("S", doc="σ(ĝ) polynomial at the first fit time: coefficient of ĝ^0")
    sigma1_c1: float = param("S", doc="σ(ĝ) polynomial at the first fit time: coefficient of ĝ^1")
    sigma1_c2: float = param("S", doc="σ(ĝ) polynomial at the first fit time: coefficient of ĝ^2")
    sigma1_c3: float = param("S", doc="σ(ĝ) polynomial at the first fit time: coefficient of ĝ^3")
    sigma1_c4: float = param("S", doc="σ(ĝ) polynomial at the first fit time: coefficient of ĝ^4")
    sigma2_c0: float = param("S", doc="σ(ĝ) polynomial at the second fit time: coefficient of ĝ^0")
    sigma2_c1: float = param("S", doc="σ(ĝ) polynomial at the second fit time: coefficient of ĝ^1")
    sigma2_c2: float = param("S", doc="σ(ĝ) polynomial at the second fit time: coefficient of ĝ^2")
    sigma2_c3: float = param("S", doc="σ(ĝ) polynomial at the second fit time: coefficient of ĝ^3")
    sigma2_c4: float = param("S", doc="σ(ĝ) polynomial at the second fit time: coefficient of ĝ^4")
    sigma3_c0: float = param("S", doc="σ(ĝ) polynomial at the third fit time: coefficient of ĝ^0")
    sigma3_c1: float = param("S", doc="σ(ĝ) polynomial at the third fit time: coefficient of ĝ^1")
    sigma3_c2: float = param("S", doc="σ(ĝ) polynomial at the third fit time: coefficient of ĝ^2")
    sigma3_c3: float = param("S", doc="σ(ĝ) polynomial at the third fit time: coefficient of ĝ^3")
    sigma3_c4: float = param("S", doc="σ(ĝ) polynomial at the third fit time: coefficient of ĝ^4")
    read_noise: float = param(ge=0, doc="relative σ of the read-to-read fluctuation of a conductance")
    d2d_sigma: float = param(ge=0, doc="relative σ of a per-device gain on the programmed conductance")

    def check(self) -> None:
        super().check()
        for fit in (1, 2, 3):
            _check_spread(self, tuple(f"sigma{fit}_c{i}" for i in range(5)))
        if not self.fit_time_1 < self.fit_time_2 < self.fit_time_3:
            raise ValueError(f"{self.fmt('fit_time_1')}, {self.fmt('fit_time_2')} and "
                             f"{self.fmt('fit_time_3')} must increase")

    @derived(doc="g_max / g_min (infinite when g_min = 0)")
    def on_off_ratio(self) -> float:
        return self.g_max / self.g_min if self.g_min > 0 else float("inf")


@register_kind("sttram_device")
@dataclass(frozen=True, kw_only=True)
class SttramDevice(Card):
    """A binary spin-transfer-torque magnetic tunnel junction (MTJ) in the thermal-activation regime.

    Parallel (P, R_P, the ON state g_max = 1/r_p) and antiparallel (AP, R_AP = R_P·(1 + tmr), g_min)
    states. A current pulse I of width t_p switches a cell with probability P_sw = 1 − exp(−t_p/τ),
    τ = tau0·exp(Δ·(1 − I/I_c0)) (Néel–Brown thermal activation with spin-torque-lowered barrier); Δ and
    I_c0 vary from device to device (relative σ), as do R_P and R_AP. At zero current a cell flips
    spontaneously with time constant tau0·exp(Δ) (retention).
    """

    r_p: float = param("Ohm", gt=0, doc="resistance in the parallel (low-resistance, ON) state")
    tmr: float = param(gt=0, le=100,
                       doc="tunnel magnetoresistance ratio (R_AP − R_P)/R_P, e.g. 1.5 for 150 %")
    r_p_sigma: float = param(ge=0, doc="relative device-to-device σ of R_P")
    r_ap_sigma: float = param(ge=0, doc="relative device-to-device σ of R_AP")
    delta: float = param(gt=0, le=200, doc="thermal stability factor Δ = E_b / k_B T (products: 40–80)")
    delta_sigma: float = param(ge=0, doc="relative device-to-device σ of Δ")
    i_c0: float = param("A", gt=0, doc="critical switching current at zero temperature")
    i_c0_sigma: float = param(ge=0, doc="relative device-to-device σ of I_c0")
    tau0: float = param("s", gt=0, doc="attempt time of thermally activated switching")
    write_current: float = param("A", gt=0, doc="current of the write pulse")
    write_pulse_width: float = param("s", gt=0, doc="duration of the write pulse")
    read_voltage: float = param("V", gt=0, doc="voltage applied across the MTJ when reading")
    read_pulse_width: float = param("s", gt=0, doc="duration of one read pulse")
    stuck_on_rate: float = _stuck_rate("ON", "g_max = 1/r_p")
    stuck_off_rate: float = _stuck_rate("OFF", "g_min = 1/(r_p (1 + tmr))")

    def check(self) -> None:
        _check_stuck_rates(self)
        if self.tmr / (1 + self.tmr) < MIN_WINDOW:
            raise ValueError(f"{self.fmt('tmr')} is too small: the two states' conductances differ by less "
                             f"than {MIN_WINDOW:g}·g_max, which float32 cannot tell apart")

    @derived("S", doc="1 / (r_p (1 + tmr)): conductance of the antiparallel (OFF) state")
    def g_min(self) -> float:
        return 1.0 / (self.r_p * (1.0 + self.tmr))

    @derived("S", doc="1 / r_p: conductance of the parallel (ON) state")
    def g_max(self) -> float:
        return 1.0 / self.r_p

    @derived(doc="exp(−t_p/τ(I_write)) for nominal Δ and I_c0: probability that a write pulse fails")
    def write_error_rate(self) -> float:
        return math.exp(-self._pulses_per_tau(self.write_pulse_width, self.write_current))

    @derived(doc="1 − exp(−t_read/τ(V_read/R_P)): probability that one read flips a nominal ON cell")
    def read_disturb_rate(self) -> float:
        return -math.expm1(-self._pulses_per_tau(self.read_pulse_width, self.read_voltage / self.r_p))

    def _pulses_per_tau(self, pulse: float, current: float) -> float:
        """t_p / τ(I) for nominal Δ and I_c0, in the log domain (τ may under- or overflow a float)."""
        log_ratio = math.log(pulse / self.tau0) - self.delta * (1.0 - current / self.i_c0)
        return math.exp(min(log_ratio, math.log(sys.float_info.max)))

    @derived("J", doc="write_current² · (R_P + R_AP)/2 · write_pulse_width: energy of one write pulse (the "
                      "MTJ spends part of the pulse in each state: the mean of the two resistances)")
    def write_energy_per_pulse(self) -> float:
        r_ap = self.r_p * (1.0 + self.tmr)
        return self.write_current**2 * (self.r_p + r_ap) / 2 * self.write_pulse_width

    @derived("s", doc="tau0 · exp(Δ): mean time to a spontaneous flip at zero current (nominal)")
    def retention_time(self) -> float:
        return self.tau0 * math.exp(self.delta)
