"""The hardware a crossbar-mapped network occupies: latency and converter area, and the programming energy.

Both read the emulated layers (tiles, converters, device cards), so they live with the crossbar; what they
return (:class:`~neuroemu.cost.floorplan.Floorplan`, :class:`~neuroemu.cost.programming.ProgrammingEnergy`)
is the pricing floor's.

**Latency and area** (:func:`crossbar_floorplan`) from component counts and circuit-card rates and areas.

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

**Programming energy** (:func:`programming_energy`) from the device card's write pulse.

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

import math
from typing import Any

from torch import nn

from neuroemu.cost.floorplan import Floorplan, adc_conversion_time
from neuroemu.cost.pricing import PricingError
from neuroemu.cost.programming import ProgrammingEnergy
from neuroemu.cost.rules import CircuitCards
from neuroemu.crossbar.model import crossbar_layers
from neuroemu.ledger import Ledger

__all__ = ["crossbar_floorplan", "programming_energy"]


def crossbar_floorplan(model: nn.Module, ledger: Ledger, inferences: int, cards: CircuitCards, *,
                       columns_per_adc: int = 128) -> Floorplan:
    """Latency per inference and converter area of ``model`` (a crossbar-mapped network) — see the module.

    ``ledger`` is the one its forward recorded for ``inferences`` images × trials; it gives the number of
    MVM positions per image of each layer (``output_scale`` events: one per output, row tile and slice).
    """
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
        spare = layer.spare_columns  # fault-tolerant mapping: spare columns, in unused columns if any
        cols = max(cols, min(cols, layer.out_features) + spare)
        cols_used = min(cols, layer.out_features + spare)
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
            times["adc"] = min(columns_per_adc, cols_used) * adc_conversion_time(adc, adc_bits)
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
                         "latency_s": layer_latency, "adcs": adcs, "dacs": dacs, "sample_holds": shs,
                         **({"spare_columns": spare} if spare else {})})
    area = {k: v for k, v in area.items() if v > 0}
    basis = ("layers in sequence, arrays of a layer in parallel; area: converters and sample-and-holds "
             "(cells and digital logic not included)")
    if unknown_area:
        basis += f"; no area: card(s) {', '.join(sorted(unknown_area))} give none"
    return Floorplan(latency_s=latency, area_m2=None if unknown_area else sum(area.values()),
                     area_breakdown_m2=area, layers=tuple(rows_out), columns_per_adc=columns_per_adc,
                     basis=basis)


def programming_energy(model: nn.Module) -> ProgrammingEnergy:
    """Energy to program every crossbar layer of ``model`` once (see the module)."""
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
        target = layer.cells.mean_target_conductance()
        energy = card.programming_energy(target) if hasattr(card, "programming_energy") else None
        if energy is None:
            unpriced[layer.name] = f"device card {card.name!r} gives no write pulse"
        else:
            per_layer[layer.name] = layer.devices * energy
            basis[layer.name] = (f"{layer.devices} devices x {card.write_pulses:g} pulses of "
                                 f"{card.write_voltage:g} V, {card.write_pulse_width:g} s at the mean of "
                                 f"g_min and the mean target {target:.4g} S ({card.name})")
    return ProgrammingEnergy(per_layer, unpriced, basis)
