"""Circuit kinds (cards in ``circuits/``): converters, sense amplifiers, digital arithmetic, ...

A new kind is one more registered dataclass here (see :mod:`neuroemu.cards.schema`), documented in
``circuits/README.md``; a test keeps that README in step with the classes.
"""

from __future__ import annotations

from dataclasses import dataclass

from neuroemu.cards.schema import Card, derived, param, register_kind

__all__ = ["Adc", "ColumnSarAdc", "Dac", "DigitalOp", "Memory", "Periphery", "ScBlock", "SpikingCore", "Wire"]


@register_kind("adc")
@dataclass(frozen=True, kw_only=True)
class Adc(Card):
    """An analog-to-digital converter, e.g. one per crossbar column group."""

    bits: int = param(ge=1, le=16, doc="nominal resolution in bits")
    architecture: str = param(choices=("sar", "flash", "pipeline", "sigma-delta", "single-slope"),
                              doc="converter architecture")
    sample_rate: float = param("Hz", gt=0, doc="conversions per second")
    power: float = param("W", gt=0, doc="average power while converting at sample_rate")
    area: float = param("m^2", gt=0, doc="silicon area of one converter")
    node: float | None = param("m", gt=0, default=None, doc="CMOS technology node (optional)")

    @derived("J", doc="power / sample_rate: energy of one conversion")
    def energy_per_conversion(self) -> float:
        return self.power / self.sample_rate

    @derived("J", doc="energy_per_conversion / 2^bits: Walden figure of merit with the nominal resolution "
                      "(an ENOB below bits would give a larger value)")
    def walden_fom(self) -> float:
        return self.energy_per_conversion / 2**self.bits


@register_kind("column_sar_adc")
@dataclass(frozen=True, kw_only=True)
class ColumnSarAdc(Card):
    """A SAR ADC priced by NeuroSim's fitted power model, whose power depends on the column it converts.

    Power while converting (NeuroSim's ``SarADC::GetColumnPower``, fitted to Cadence simulations):
    P = power_per_bit·b + power_offset + column_power·exp(−column_power_decay·log10(R_eff / 1 Ω)), with
    R_eff = R_column·reference_read_voltage / V_read the column's resistance rescaled to the read voltage
    of the simulation. A b-bit conversion takes b + 1 cycles of cycle_time. The last term is the column read
    current the converter must sink; at small nodes it dominates (see :mod:`neuroemu.cost.column_adc`).
    """

    power_per_bit: float = param("W", ge=0, doc="power growth per output bit (the fit's slope in bits)")
    power_offset: float = param("W", ge=0, doc="power of the converter at zero bits (the fit's intercept)")
    column_power: float = param("W", ge=0, doc="column-read power at an effective column resistance of 1 Ohm")
    column_power_decay: float = param(gt=0, doc="d in exp(−d·log10(R_eff / 1 Ohm)); ln 10 ≈ 2.303 makes "
                                               "the column term proportional to the column conductance")
    reference_read_voltage: float = param("V", gt=0, doc="read voltage of the simulations the fit came from")
    cycle_time: float = param("s", gt=0, doc="one SAR cycle; a b-bit conversion takes b + 1 cycles")
    node: float | None = param("m", gt=0, default=None, doc="CMOS technology node (optional)")
    area: float | None = param("m^2", gt=0, default=None, doc="silicon area of one converter (optional)")


@register_kind("digital_op")
@dataclass(frozen=True, kw_only=True)
class DigitalOp(Card):
    """One digital arithmetic operation (adder, multiplier) with its energy per operation."""

    operation: str = param(choices=("add", "mult"), doc="what the circuit computes")
    number_format: str = param(choices=("int", "fp"), doc="integer or floating point operands")
    bits: int = param(ge=1, le=128, doc="operand width in bits")
    energy: float = param("J", gt=0, doc="energy of one operation")
    supply_voltage: float | None = param("V", gt=0, default=None, doc="supply voltage (optional)")
    node: float | None = param("m", gt=0, default=None, doc="CMOS technology node (optional)")
    area: float | None = param("m^2", gt=0, default=None, doc="silicon area of one unit (optional)")


@register_kind("dac")
@dataclass(frozen=True, kw_only=True)
class Dac(Card):
    """A digital-to-analog converter (wordline / row driver) that applies one input to a crossbar row."""

    bits: int = param(ge=1, le=16, doc="resolution in bits (1: a row driver applying one input bit)")
    sample_rate: float = param("Hz", gt=0, doc="conversions per second of one DAC")
    power: float = param("W", gt=0, doc="average power of one DAC while converting at sample_rate")
    area: float | None = param("m^2", gt=0, default=None, doc="silicon area of one DAC (optional)")
    node: float | None = param("m", gt=0, default=None, doc="CMOS technology node (optional)")

    @derived("J", doc="power / sample_rate: energy of one conversion")
    def energy_per_conversion(self) -> float:
        return self.power / self.sample_rate


@register_kind("periphery")
@dataclass(frozen=True, kw_only=True)
class Periphery(Card):
    """A small peripheral circuit of an analog array (sample-and-hold, shift-and-add), per operation."""

    function: str = param(choices=("sample_and_hold", "shift_and_add"), doc="what the circuit does")
    operation_rate: float = param("Hz", gt=0, doc="operations per second of one unit")
    power: float = param("W", gt=0, doc="average power of one unit while operating at operation_rate")
    area: float | None = param("m^2", gt=0, default=None, doc="silicon area of one unit (optional)")
    node: float | None = param("m", gt=0, default=None, doc="CMOS technology node (optional)")

    @derived("J", doc="power / operation_rate: energy of one operation")
    def energy_per_operation(self) -> float:
        return self.power / self.operation_rate


@register_kind("sc_block")
@dataclass(frozen=True, kw_only=True)
class ScBlock(Card):
    """A synthesised stochastic-computing block (gate, adder, counter, random source), priced per clock cycle.

    Synthesis tools report average power at a clock frequency; one cycle costs (dynamic + leakage power)
    / clock_frequency.
    """

    function: str = param(choices=("and", "mux", "or", "parallel_counter", "approximate_parallel_counter",
                                   "sobol_rng"), doc="what the block computes")
    width: int = param(ge=1, le=4096, doc="fan-in (gates, MUX, adders, counters) or output bits (RNG)")
    clock_frequency: float = param("Hz", gt=0, doc="clock at which the power was reported")
    dynamic_power: float = param("W", gt=0, doc="dynamic power at clock_frequency")
    leakage_power: float = param("W", ge=0, doc="leakage power")
    area: float = param("m^2", gt=0, doc="cell area of one block")
    supply_voltage: float | None = param("V", gt=0, default=None, doc="supply voltage (optional)")
    node: float | None = param("m", gt=0, default=None, doc="CMOS technology node (optional)")

    @derived("J", doc="(dynamic_power + leakage_power) / clock_frequency: energy of one clock cycle")
    def energy_per_cycle(self) -> float:
        return (self.dynamic_power + self.leakage_power) / self.clock_frequency


@register_kind("memory")
@dataclass(frozen=True, kw_only=True)
class Memory(Card):
    """An on-chip SRAM or off-chip DRAM, priced per access of one word."""

    technology: str = param(choices=("sram", "dram"), doc="memory technology")
    capacity_bytes: int | None = param(ge=1, default=None,
                                       doc="capacity in bytes (optional; DRAM: not stated)")
    word_bits: int = param(ge=1, le=4096, doc="bits delivered by one access")
    energy_per_access: float = param("J", gt=0, doc="energy of one word access (read)")
    supply_voltage: float | None = param("V", gt=0, default=None, doc="supply voltage (optional)")
    node: float | None = param("m", gt=0, default=None, doc="CMOS technology node (optional)")


@register_kind("spiking_core")
@dataclass(frozen=True, kw_only=True)
class SpikingCore(Card):
    """A neuromorphic core's energy per event: synaptic operations, neuron updates, spike routing."""

    energy_per_synaptic_op: float = param("J", gt=0, doc="one spike delivered across one synapse")
    energy_per_neuron_update: float | None = param("J", gt=0, default=None,
                                                   doc="one update of a neuron that received input "
                                                       "(optional)")
    energy_per_idle_neuron_update: float | None = param("J", gt=0, default=None,
                                                        doc="one update of a neuron that received nothing "
                                                            "(optional)")
    energy_per_spike: float | None = param("J", gt=0, default=None,
                                           doc="emitting one spike within a core or tile (optional)")
    energy_per_hop: float | None = param("J", gt=0, default=None,
                                         doc="one hop of a spike through the routing mesh (optional)")
    supply_voltage: float | None = param("V", gt=0, default=None, doc="supply voltage (optional)")
    node: float | None = param("m", gt=0, default=None, doc="CMOS technology node (optional)")


@register_kind("wire")
@dataclass(frozen=True, kw_only=True)
class Wire(Card):
    """The word and bit lines of a crossbar array: the resistance of one line segment per cell (IR drop)."""

    row_segment_resistance: float = param("Ohm", gt=0, doc="word line (row, driven by the DAC) resistance "
                                                          "between adjacent cells and from the driver to the "
                                                          "first cell")
    column_segment_resistance: float = param("Ohm", gt=0, doc="bit line (column, read by the ADC) "
                                                             "resistance between adjacent cells and from the "
                                                             "last cell to the sense amplifier")
    node: float | None = param("m", gt=0, default=None, doc="CMOS technology node (optional)")
