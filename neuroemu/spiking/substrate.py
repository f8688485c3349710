"""The spiking substrate as neuroemu registers it (see :mod:`neuroemu.registration`).

A ReLU network converted to rate-coded integrate-and-fire neurons (:class:`~neuroemu.spiking.Spiking`),
its neuron scales calibrated on training images, its ``synaptic_op`` / ``neuron_update`` / ``spike_route``
events priced by a ``spiking_core`` card (:func:`neuroemu.cost.spiking.spiking_rules`; Loihi, Davies et al.
2018, unless ``--card spiking=NAME`` names another).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from torch import nn

from neuroemu.cards import Card, load_card
from neuroemu.cost.spiking import DEFAULT_SPIKING_CARD, spiking_rules
from neuroemu.registration import DemoBlock, Registration
from neuroemu.spiking.network import calibrate
from neuroemu.spiking.spec import Spiking

__all__ = ["CALIBRATION_IMAGES", "REGISTRATION"]

#: training images that set the neuron scales unless a command is told otherwise (snn-sweep, energy)
CALIBRATION_IMAGES = 256


def _calibrate(emulated: nn.Module, images: torch.Tensor) -> dict[str, list[float]]:
    """Set the neuron scales λ of the network from ``images``; they are reported with the results."""
    return {"scales": calibrate(emulated, images)}


def _load_cards(paths: Sequence[Path | str], names: Mapping[str, str]) -> Card:
    return load_card(names.get("spiking", DEFAULT_SPIKING_CARD), paths, kind="spiking_core")


REGISTRATION = Registration(
    name="spiking",
    spec=Spiking,
    summary="ReLU network as rate-coded integrate-and-fire neurons (ANN-to-SNN conversion, Rueckauer et al. "
            "2017), priced by a neuromorphic core card",
    calibrate=_calibrate,
    random=lambda spec: spec.encoding == "poisson",  # constant input currents draw nothing
    card_roles={"spiking": f"a spiking_core card (default {DEFAULT_SPIKING_CARD})"},
    load_cards=_load_cards,
    price_rules=lambda ctx: spiking_rules(ctx.own_cards),
    calibration_images=CALIBRATION_IMAGES,  # energy and snn-sweep price and run the same network
    # rate-coded IF neurons against time steps, constant and Poisson input
    demo=(DemoBlock({"model": "lenet5-mnist", "timesteps": [8, 32, 128], "encoding": ["constant", "poisson"],
                     "limit": 1000},
                    quick={"timesteps": [8, 32], "limit": 500},
                    headline={"timesteps": 32}),),
)
