"""The crossbar substrate as it registers itself (:class:`~neuroemu.registration.Registration`).

Everything the command line, the energy runner and the demo need, without a switch on the substrate's name:
the spec (:class:`~neuroemu.crossbar.spec.Crossbar`), converter calibration, chips per forward (trials),
the default slicing of float layers on a two-level device, the price rules of its events
(:func:`~neuroemu.cost.crossbar.crossbar_rules`, from the ledger and cards alone), its floorplan and
programming energy (:mod:`~neuroemu.crossbar.hardware`), and its demo section and energy rows.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from neuroemu.cost.crossbar import crossbar_rules
from neuroemu.cost.floorplan import Floorplan
from neuroemu.cost.pricing import Rule
from neuroemu.crossbar.demo import demo_table
from neuroemu.crossbar.hardware import crossbar_floorplan, programming_energy
from neuroemu.crossbar.model import calibrate, crossbar_layers
from neuroemu.crossbar.spec import Crossbar, default_slicing
from neuroemu.registration import DemoRun, PriceContext, Registration

__all__ = ["REGISTRATION", "calibrate_converters", "complete"]


def calibrate_converters(model: nn.Module, images: torch.Tensor) -> None:
    """Calibrate the converter ranges of ``model`` on ``images`` when it has a DAC or an ADC (as the
    energy command does); a model without converters needs no calibration."""
    if any(layer.dac.bits is not None or layer.adc.bits is not None for layer in crossbar_layers(model)):
        calibrate(model, images)


def complete(spec: Crossbar) -> Crossbar:
    """``spec`` with ``slicing`` filled as the commands want it: float layers on a two-level device store
    each weight over eight one-bit cells (:data:`~neuroemu.crossbar.spec.BINARY_CELL_SLICING`)."""
    if spec.slicing is not None:
        return spec
    slicing = default_slicing(spec.device)
    return spec if slicing is None else dataclasses.replace(spec, slicing=slicing)


def _price_rules(context: PriceContext) -> list[Rule]:
    return crossbar_rules(context.ledger, context.cards, context.paths, devices=context.held_cards)


def _floorplan(spec: Crossbar, model: nn.Module, context: PriceContext) -> Floorplan:
    return crossbar_floorplan(model, context.ledger, context.inferences, context.cards,
                              columns_per_adc=spec.columns_per_adc)


def _chips(spec: Crossbar) -> int:
    return spec.trials


REGISTRATION = Registration(
    name="crossbar",
    spec=Crossbar,
    summary="analog crossbar arrays of RRAM, PCM or STT-RAM cells: device variation, drift, faults, "
            "DAC/ADC converters, tiling and bit slicing",
    calibrate=calibrate_converters,
    chips=_chips,
    complete=complete,
    price_rules=_price_rules,
    floorplan=_floorplan,
    programming=programming_energy,
    demo_table=demo_table,
    demo_energy=(
        DemoRun("crossbar, rram-wan2022, 8-bit DAC/ADC", "lenet5-mnist", {"device": "rram-wan2022"}),
        DemoRun("crossbar, pcm-joshi2020, 8-bit DAC/ADC", "lenet5-mnist", {"device": "pcm-joshi2020"}),
    ),
)
