"""The crossbar's registration: its calibration, chips, completion, price rules and floorplan reproduce what
``neuroemu energy --substrate crossbar`` prints, exactly."""

import contextlib
import io
import json

import pytest
import torch

import neuroemu
from neuroemu.cli import main
from neuroemu.cost import Ledger, price, recording
from neuroemu.cost.rules import CircuitCards, standard_book
from neuroemu.crossbar import Crossbar, state_of
from neuroemu.crossbar.spec import BINARY_CELL_SLICING
from neuroemu.crossbar.substrate import REGISTRATION
from neuroemu.data import load_tensors
from neuroemu.nets import load_checkpoint
from neuroemu.registration import PriceContext
from neuroemu.specs import options

IMAGES, CALIBRATION = 4, 16


def _energy_command(args: list[str]) -> dict:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["energy", "--model", "lenet5-mnist", "--substrate", "crossbar", "--images", str(IMAGES),
                     "--calibration-images", str(CALIBRATION), "--json", *args]) == 0
    return json.loads(out.getvalue())


def _command_line_spec(**fields) -> Crossbar:
    """The spec the command line builds: every field at its command-line default, then ``fields``."""
    defaults = {o.name: o.command_line_default for o in options(Crossbar)}
    return REGISTRATION.complete(REGISTRATION.spec(**{**defaults, **fields}))


@pytest.mark.parametrize(("fields", "card_args", "adc"), [
    ({}, [], None),
    ({"device": "pcm-joshi2020"}, ["--device", "pcm-joshi2020", "--card", "adc=adc-sar-neurosim-7nm-lp"],
     "adc-sar-neurosim-7nm-lp"),
    ({"device": "sttram-pmtj"}, ["--device", "sttram-pmtj"], None),
], ids=["rram-walden-adc", "pcm-column-adc", "sttram-default-slicing"])
def test_registration_reproduces_the_energy_command(data_root, fields, card_args, adc):
    expected = _energy_command(card_args)
    spec = _command_line_spec(**fields)
    checkpoint = load_checkpoint("lenet5-mnist")
    images, _ = load_tensors(checkpoint.dataset, "test", normalize=checkpoint.normalize, limit=IMAGES)
    calibration, _ = load_tensors(checkpoint.dataset, "train", normalize=checkpoint.normalize,
                                  limit=CALIBRATION)
    emulated = neuroemu.map(checkpoint.build().eval(), spec)
    REGISTRATION.calibrate(emulated, calibration)
    ledger = Ledger()
    with torch.inference_mode(), recording(emulated, ledger):
        emulated(images)
    inferences = IMAGES * REGISTRATION.chips(spec)
    cards = CircuitCards.load() if adc is None else CircuitCards.load(adc=adc)
    context = PriceContext(ledger=ledger, inferences=inferences, cards=cards)
    report = price(ledger, standard_book(cards, extra=REGISTRATION.price_rules(context)), images=inferences)
    assert report.per_inference_j == expected["energy_per_inference_j"]
    assert report.breakdown_per_inference_j() == expected["breakdown_j"]
    assert report.per_layer_per_inference_j() == expected["per_layer_j"]
    assert sorted(set(report.cards)) == expected["cards"] and list(report.unpriced) == expected["unpriced"]
    plan = REGISTRATION.floorplan(spec, emulated, context)
    assert (plan.latency_s, plan.area_m2) == (expected["latency_s"], expected["area_m2"])
    assert list(plan.layers) == expected["floorplan_layers"]
    assert plan.area_breakdown_m2 == expected["area_breakdown_m2"]
    assert plan.basis == expected["floorplan_basis"]
    programming = REGISTRATION.programming(emulated)
    assert programming.total_j == expected["programming_j"]
    assert programming.to_dict() == expected["programming"]


def test_completion_and_chips():
    assert REGISTRATION.complete(Crossbar(device="sttram-pmtj")).slicing == BINARY_CELL_SLICING
    assert REGISTRATION.complete(Crossbar(device="sttram-pmtj", slicing=(4, 1))).slicing == (4, 1)
    assert REGISTRATION.complete(Crossbar(device="rram-wan2022")).slicing is None
    assert REGISTRATION.chips(Crossbar(trials=7)) == 7


def test_no_converters_no_calibration():
    model = torch.nn.Sequential(torch.nn.Linear(3, 2))
    emulated = neuroemu.map(model, Crossbar())
    REGISTRATION.calibrate(emulated, torch.rand(2, 3))  # nothing to calibrate: no forward at all
    assert not state_of(emulated).calibrated
    with_adc = neuroemu.map(model, Crossbar(adc_bits=6))
    REGISTRATION.calibrate(with_adc, torch.rand(2, 3))
    assert state_of(with_adc).calibrated
