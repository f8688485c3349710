"""What a floorplan says: latency per inference and area, with the per-layer numbers behind them.

A substrate's floorplan (the crossbar's :func:`neuroemu.crossbar.hardware.crossbar_floorplan`, the
stochastic substrate's :func:`~neuroemu.cost.stochastic.stochastic_floorplan`) returns a :class:`Floorplan`;
:func:`adc_conversion_time` is the conversion time of an ADC card, for those that convert columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from neuroemu.cards import Card
from neuroemu.cost.column_adc import COLUMN_ADC_KIND, conversion_time

__all__ = ["Floorplan", "adc_conversion_time"]


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


def adc_conversion_time(adc: Card, bits: int) -> float:
    """Seconds of one ADC conversion: 1 / sample_rate (taken as independent of bits) for an ``adc`` card,
    (bits + 1) SAR cycles for a ``column_sar_adc`` card."""
    if adc.kind == COLUMN_ADC_KIND:
        return conversion_time(adc, bits)
    return 1.0 / adc.sample_rate  # type: ignore[attr-defined]
