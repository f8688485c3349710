"""Latency and area of a crossbar-mapped network from component counts and circuit-card rates and areas.

The model (stated, simple, ISAAC-like; every number comes from a card or from the mapped model):

- **Arrays**: a layer occupies row tiles × column tiles × weight slices arrays of ``array = (R, C)`` cells,
  all working in parallel; the positions of a convolution run one after another on the same arrays (no
  weight replication), and layers run one after another (no inter-layer pipelining).
- **Cycle**: one read cycle applies one input (or one input bit) to the rows and converts the column
  outputs. Its time is the largest of the DAC conversion time 1 / dac.sample_rate, the ADC time
  k / adc.sample_rate where each ADC converts k = min(columns_per_adc, columns used) columns one after
  another, and the device read pulse width. An ``adc`` card's sample rate is taken as independent of its
  bits; a ``column_sar_adc`` conversion takes bits + 1 SAR cycles.
- **Cycles per MVM**: ``dac_bits`` when inputs are applied bit-serially (``input_mode="bit_serial"``, or a
  1-bit DAC card pricing a b-bit input as b pulses), else 1.
- **Area**: per array, one DAC per row, one sample-and-hold per column and ⌈C / columns_per_adc⌉ ADCs, from
  the cards' areas (none at all when a card used gives no area). Cell area is not included (device cards
  give none), nor digital logic (the Horowitz cards give energies only): ``area_m2`` is the converter and
  sample-and-hold area.

``columns_per_adc`` is a design choice (ISAAC, Table 6: 8 ADCs for 8 arrays of 128 columns, i.e. 128).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from torch import nn

from neuroemu.cards import Card
from neuroemu.cost.column_adc import COLUMN_ADC_KIND, conversion_time
from neuroemu.cost.pricing import PricingError
from neuroemu.cost.rules import CircuitCards
from neuroemu.ledger import Ledger

__all__ = ["Floorplan", "crossbar_floorplan"]


@dataclass(frozen=True)
class Floorplan:
    """Latency per inference (s), converter area (m²), and the per-layer numbers behind them."""

    latency_s: float
    area_m2: float | None  #: None when a card used gives no area
    area_breakdown_m2: dict[str, float]
    layers: tuple[dict[str, Any], ...]
    columns_per_adc: int | None = None  #: crossbar only
    basis: str = ""  #: what the latency and area cover, in one sentence

    def to_dict(self) -> dict[str, Any]:
        return {"latency_s": self.latency_s, "area_m2": self.area_m2,
                "area_breakdown_m2": dict(self.area_breakdown_m2), "layers": [dict(x) for x in self.layers],
                "columns_per_adc": self.columns_per_adc, "basis": self.basis}


def crossbar_floorplan(model: nn.Module, ledger: Ledger, inferences: int, cards: CircuitCards, *,
                       columns_per_adc: int = 128) -> Floorplan:
    """Latency per inference and converter area of ``model`` (a crossbar-mapped network) — see the module.

    ``ledger`` is the one its forward recorded for ``inferences`` images × trials; it gives the number of
    MVM positions per image of each layer (``output_scale`` events: one per output, row tile and slice).
    """
    from neuroemu.crossbar import crossbar_layers

    if isinstance(columns_per_adc, bool) or not isinstance(columns_per_adc, int) or columns_per_adc < 1:
        raise PricingError(f"columns_per_adc must be an integer >= 1, got {columns_per_adc!r}")
    if inferences < 1:
        raise PricingError(f"inferences must be >= 1, got {inferences!r}")
    dac, adc, sh = cards.dac, cards.adc, cards.sample_hold
    rows_out: list[dict[str, Any]] = []
    area = {"dac": 0.0, "adc": 0.0, "sample_hold": 0.0}
    latency = 0.0
    unknown_area: set[str] = set()
    for layer in crossbar_layers(model):
        tiling = layer.tiling
        n_rt, n_ct, slices = len(tiling.row_tiles), len(tiling.col_tiles), tiling.slices
        rows, cols = tiling.array
        cols_used = min(cols, layer.out_features)
        scales = ledger.count("output_scale", layer=layer.name)
        per_position = layer.out_features * n_rt * slices
        if scales == 0 or scales % (per_position * inferences):
            raise PricingError(f"{layer.name}: {scales} output_scale events do not cover {inferences} "
                               "inferences: was the ledger recorded from this model?")
        positions = scales // (per_position * inferences)
        serial = layer.dac.bit_serial
        dac_bits, adc_bits = layer.dac.bits, layer.adc.bits
        bit_pulses = dac_bits is not None and dac.bits == 1  # type: ignore[attr-defined]
        cycles = dac_bits if dac_bits is not None and (serial or bit_pulses) else 1
        times = {"read": layer.device.card.read_pulse_width}  # type: ignore[attr-defined]
        if dac_bits is not None:
            times["dac"] = 1.0 / dac.sample_rate  # type: ignore[attr-defined]
        if adc_bits is not None:
            times["adc"] = min(columns_per_adc, cols_used) * _conversion_time(adc, adc_bits)
        cycle = max(times.values())
        layer_latency = positions * cycles * cycle
        latency += layer_latency
        arrays = n_rt * n_ct * slices
        adcs = arrays * math.ceil(cols / columns_per_adc) if adc_bits is not None else 0
        dacs = arrays * rows if dac_bits is not None else 0
        shs = arrays * cols if (adc_bits is not None and sh is not None) else 0
        if adcs and adc.area is None:  # type: ignore[attr-defined]
            unknown_area.add(adc.name)
        elif adcs:
            area["adc"] += adcs * adc.area  # type: ignore[attr-defined]
        if dacs:
            if dac.area is None:  # type: ignore[attr-defined]
                raise PricingError(f"DAC card {dac.name!r} gives no area")
            area["dac"] += dacs * dac.area  # type: ignore[attr-defined]
        if shs:
            if sh.area is None:  # type: ignore[union-attr]
                raise PricingError(f"sample-and-hold card {sh.name!r} gives no area")  # type: ignore[union-attr]
            area["sample_hold"] += shs * sh.area  # type: ignore[union-attr]
        rows_out.append({"layer": layer.name, "arrays": arrays, "positions": positions,
                         "cycles_per_mvm": cycles, "cycle_s": cycle,
                         "cycle_limited_by": max(times, key=lambda k: times[k]),
                         "latency_s": layer_latency, "adcs": adcs, "dacs": dacs, "sample_holds": shs})
    area = {k: v for k, v in area.items() if v > 0}
    basis = ("layers in sequence, arrays of a layer in parallel; area: converters and sample-and-holds "
             "(cells and digital logic not included)")
    if unknown_area:
        basis += f"; no area: card(s) {', '.join(sorted(unknown_area))} give none"
    return Floorplan(latency_s=latency, area_m2=None if unknown_area else sum(area.values()),
                     area_breakdown_m2=area, layers=tuple(rows_out), columns_per_adc=columns_per_adc,
                     basis=basis)


def _conversion_time(adc: Card, bits: int) -> float:
    """Seconds of one ADC conversion: 1 / sample_rate (taken as independent of bits) for an ``adc`` card,
    (bits + 1) SAR cycles for a ``column_sar_adc`` card."""
    if adc.kind == COLUMN_ADC_KIND:
        return conversion_time(adc, bits)
    return 1.0 / adc.sample_rate  # type: ignore[attr-defined]
