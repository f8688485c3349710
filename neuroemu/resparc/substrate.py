"""The spiking substrate as neuroemu registers it (see :mod:`neuroemu.registration`).

A ReLU network converted to rate-coded integrate-and-fire neurons (:class:`~neuroemu.resparc.Resparc`, the
:class:`~neuroemu.spiking.Spiking` fields and those of crossbar synapses), its neuron scales calibrated on
training images (and, on crossbar synapses, its matrices programmed and its converters calibrated), its
``neuron_update`` / ``spike_route`` events and the digital synapses' ``synaptic_op`` priced by a
``spiking_core`` card (:func:`neuroemu.cost.spiking.spiking_rules`; Loihi, Davies et al. 2018, unless
``--card spiking=NAME`` names another), crossbar synapses' events by the device and circuit cards
(:func:`neuroemu.cost.crossbar.crossbar_rules` and the standard converter rules).

It lives here rather than in :mod:`neuroemu.spiking` because its spec reaches the crossbar package.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from torch import nn

from neuroemu.cards import Card, load_card
from neuroemu.cost.crossbar import crossbar_rules
from neuroemu.cost.pricing import Rule
from neuroemu.cost.programming import ProgrammingEnergy
from neuroemu.cost.spiking import DEFAULT_SPIKING_CARD, spiking_rules
from neuroemu.crossbar.hardware import programming_energy
from neuroemu.registration import DemoBlock, PriceContext, Registration
from neuroemu.resparc.network import ResparcNetwork, calibrate
from neuroemu.resparc.spec import Resparc

__all__ = ["CALIBRATION_IMAGES", "REGISTRATION"]

#: training images that set the neuron scales unless a command is told otherwise (snn-sweep, energy)
CALIBRATION_IMAGES = 256


def _calibrate(emulated: nn.Module, images: torch.Tensor) -> dict[str, list[float]]:
    """Set the neuron scales λ of the network from ``images`` (and program crossbar synapses); the scales
    are reported with the results."""
    return {"scales": calibrate(emulated, images)}


def _load_cards(paths: Sequence[Path | str], names: Mapping[str, str]) -> Card:
    return load_card(names.get("spiking", DEFAULT_SPIKING_CARD), paths, kind="spiking_core")


def _price_rules(context: PriceContext) -> list[Rule]:
    rules = spiking_rules(context.own_cards)
    if "cell_read" in context.ledger.events():  # crossbar synapses
        rules += crossbar_rules(context.ledger, context.cards, context.paths, devices=context.held_cards)
    return rules


def _programming(emulated: nn.Module) -> ProgrammingEnergy | None:
    synapses = getattr(emulated, "synapses", None)
    return programming_energy(synapses.model) if synapses is not None else None


REGISTRATION = Registration(
    name="spiking",
    spec=Resparc,
    summary="ReLU network as rate-coded integrate-and-fire neurons (ANN-to-SNN conversion, Rueckauer et al. "
            "2017) on a neuromorphic core, or on crossbar synapses of a device card (RESPARC, Ankit et al. "
            "2017)",
    calibrate=_calibrate,
    # constant input currents on digital synapses draw nothing; Poisson input and devices do
    random=lambda spec: spec.encoding == "poisson" or getattr(spec, "device", None) is not None,
    chips=lambda spec: getattr(spec, "trials", 1),  # a plain Spiking spec is one chip
    chip_trials=lambda fields: fields.get("device") is not None,  # otherwise runs with seeds
    card_roles={"spiking": f"a spiking_core card (default {DEFAULT_SPIKING_CARD})"},
    load_cards=_load_cards,
    price_rules=_price_rules,
    programming=lambda emulated: _programming(emulated) if isinstance(emulated, ResparcNetwork) else None,
    calibration_images=CALIBRATION_IMAGES,  # energy and snn-sweep price and run the same network
    demo=(
        # rate-coded IF neurons against time steps, constant and Poisson input, on a digital core (Loihi)
        DemoBlock({"model": "lenet5-mnist", "timesteps": [8, 32, 128], "encoding": ["constant", "poisson"],
                   "limit": 1000},
                  quick={"timesteps": [8, 32], "limit": 500},
                  headline={"timesteps": 32}),
        # the same neurons on RRAM crossbar synapses (RESPARC), read a day after programming
        DemoBlock({"model": "lenet5-mnist", "timesteps": 32, "device": "rram-wan2022", "dac_bits": 8,
                   "adc_bits": 8, "time": "1d", "drift_compensation": True, "trials": 3, "limit": 200},
                  quick={"timesteps": 16, "trials": 2, "limit": 100}),
    ),
)
