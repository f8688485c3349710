"""Column ADCs whose energy depends on the column they read: NeuroSim's SAR model with its column term.

A ``column_sar_adc`` card (:class:`~neuroemu.cards.circuits.ColumnSarAdc`) prices one b-bit conversion as

    E = [power_per_bit·b + power_offset + column_power·exp(−d·log10(R_eff / 1 Ω))]·(b + 1)·cycle_time,

the fit NeuroSim (Peng et al., IEDM 2019; ``SarADC::GetColumnPower`` in DNN+NeuroSim V1.4) made to circuit
simulations, with R_eff = R_col·V_ref / V_read: the column's resistance rescaled from the device card's read
voltage to the simulation's. The first two terms are booked to the ``adc`` component, the last to
``adc_column_read``: the current drawn from the column, which shrinks far less with the node than the
converter logic does and dominates at small nodes.

R_col is the parallel resistance of the cells one conversion reads. neuroemu takes, per layer, the mean
conductance per conversion G_col = Ḡ·(devices read per MVM) / (conversions per MVM) (the
``column_conductance_s`` of the crossbar's ``adc_conversion`` events, priced by
:func:`~neuroemu.cost.crossbar.crossbar_rules`): all the current one array read draws, shared equally among
its conversions (both cells of a differential pair, every slice's
and the reference columns' cells counted, as the ``cell_read`` events count them), with every row driven at
the full read voltage, the same upper-bound convention as ``cell_read``. With d = ln 10 (NeuroSim's value,
2.303, at most nodes) the column term is linear in G_col, so pricing the mean is exact for the mean; with
another d it is a first-order estimate. A column reading no conductance costs only the converter terms
(NeuroSim charges a flat 1 µW to an open column; with conductances from a programmed array the case does
not arise).
"""

from __future__ import annotations

import math

from neuroemu.cards import Card
from neuroemu.cost.pricing import PricingError, Term

__all__ = ["COLUMN_ADC_KIND", "column_adc_terms", "conversion_time"]

#: the card kind priced here (Walden-scaled ``adc`` cards are priced by :func:`~neuroemu.cost.walden_energy`)
COLUMN_ADC_KIND = "column_sar_adc"


def _check(card: Card, bits: object) -> int:
    if card.kind != COLUMN_ADC_KIND:
        raise PricingError(f"card {card.name!r} has kind {card.kind!r}, not {COLUMN_ADC_KIND!r}")
    if isinstance(bits, bool) or not isinstance(bits, int) or not 1 <= bits <= 24:
        raise PricingError(f"ADC bits must be an integer in 1..24, got {bits!r}")
    return bits


def conversion_time(card: Card, bits: int) -> float:
    """Seconds of one ``bits``-bit conversion: (bits + 1) SAR cycles."""
    bits = _check(card, bits)
    return (bits + 1) * card.cycle_time  # type: ignore[attr-defined]


def column_adc_terms(card: Card, bits: int, column_conductance_s: float, read_voltage_v: float
                     ) -> tuple[Term, Term]:
    """One conversion of a column of conductance ``column_conductance_s`` read at ``read_voltage_v``: the
    converter (``adc``) and column read (``adc_column_read``) terms (see the module)."""
    bits = _check(card, bits)
    if not (math.isfinite(column_conductance_s) and column_conductance_s >= 0):
        raise PricingError(f"column conductance must be finite and >= 0 S, got {column_conductance_s!r}")
    if not (math.isfinite(read_voltage_v) and read_voltage_v > 0):
        raise PricingError(f"read voltage must be finite and > 0 V, got {read_voltage_v!r}")
    per_bit, offset = card.power_per_bit, card.power_offset  # type: ignore[attr-defined]
    c, d, v_ref = card.column_power, card.column_power_decay, card.reference_read_voltage  # type: ignore[attr-defined]
    duration = conversion_time(card, bits)
    column = 0.0
    if column_conductance_s > 0:
        column = c * math.exp(-d * math.log10(v_ref / (column_conductance_s * read_voltage_v)))
    return (Term("adc", (per_bit * bits + offset) * duration, (card.name,),
                 f"({per_bit:.4g} W x {bits} bits + {offset:.4g} W) x {duration:g} s ({bits + 1} SAR cycles) "
                 f"from {card.name}"),
            Term("adc_column_read", column * duration, (card.name,),
                 f"{c:.4g} W x exp(-{d:g} log10 R_eff) x {duration:g} s, R_eff = 1/G_col x {v_ref:g} V / "
                 f"{read_voltage_v:g} V, G_col = {column_conductance_s:.4g} S, from {card.name}"))
