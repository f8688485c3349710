"""The crossbar substrate as it registers itself (:class:`~neuroemu.registration.Registration`).

Everything the command line, the energy runner and the demo need, without a switch on the substrate's name:
the spec (:class:`~neuroemu.crossbar.spec.Crossbar`), converter calibration, chips per forward (trials),
the default slicing of float layers on a two-level device, the price rules of its events
(:func:`~neuroemu.cost.crossbar.crossbar_rules`, from the ledger and cards alone), its floorplan and
programming energy (:mod:`~neuroemu.crossbar.hardware`), and its part of the demo.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from neuroemu.cost.crossbar import crossbar_rules
from neuroemu.cost.floorplan import Floorplan
from neuroemu.cost.pricing import Rule
from neuroemu.crossbar.hardware import crossbar_floorplan, programming_energy
from neuroemu.crossbar.model import calibrate, crossbar_layers
from neuroemu.crossbar.spec import Crossbar, default_slicing
from neuroemu.registration import DemoBlock, PriceContext, Registration

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
    demo=(
        # device-variation Monte Carlo of the float LeNet-5 on every technology, over a year
        DemoBlock({"model": "lenet5-mnist", "device": ["rram-wan2022", "pcm-joshi2020", "sttram-pmtj"],
                   "time": ["1s", "1d", "1y"], "drift_compensation": [False, True], "trials": 10,
                   "limit": 2000},
                  quick={"trials": 3, "limit": 500},
                  headline={"time": 86400.0, "drift_compensation": True}),
        # binary and ternary weights in two-state cells
        DemoBlock({"zip": {"model": ["lenet5-mnist-ternary", "lenet5-mnist-bnn"]}, "device": "sttram-pmtj",
                   "time": "1d", "trials": 10, "limit": 2000},
                  quick={"trials": 3, "limit": 500}),
    ),
)
