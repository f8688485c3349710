"""The spiking registration prices a run exactly as neuroemu.cost.substrates.measure does."""

import pytest
import torch

import neuroemu
from neuroemu.cards import load_card
from neuroemu.cost.pricing import EnergyReport, price
from neuroemu.cost.rules import CircuitCards, standard_book
from neuroemu.cost.substrates import measure
from neuroemu.ledger import Ledger, recording
from neuroemu.nets import load_checkpoint
from neuroemu.registration import PriceContext, Registration
from neuroemu.specs import options
from neuroemu.spiking import Spiking, SpikingNetwork
from neuroemu.spiking.substrate import REGISTRATION


def run_registered(registration: Registration, model: torch.nn.Module, images: torch.Tensor,
                   calibration: torch.Tensor, fields: dict, names: dict[str, str]) -> EnergyReport:
    """What a registry-driven energy run does: the spec from its command-line defaults and ``fields``,
    map, calibrate, record, price with the standard book and the registration's rules."""
    defaults = {o.name: o.command_line_default for o in options(registration.spec) if o.cli}
    spec = registration.complete(registration.spec(**{**defaults, **fields}))
    emulated = neuroemu.map(model, spec)
    if registration.calibrate is not None:
        registration.calibrate(emulated, calibration)
    ledger = Ledger()
    with torch.inference_mode(), recording(emulated, ledger):
        emulated(images)
    cards = CircuitCards.load()
    own = registration.load_cards((), names) if registration.load_cards is not None else None
    context = PriceContext(ledger, len(images) * registration.chips(spec), cards, own)
    return price(ledger, standard_book(cards, extra=registration.price_rules(context)),
                 images=context.inferences)


@pytest.mark.parametrize("card", [None, "truenorth-merolla2014"])
def test_registration_gives_the_energy_measure_gives(card):
    model = load_checkpoint("lenet5-mnist").build()
    generator = torch.Generator().manual_seed(4)
    images, calibration = torch.rand(3, 1, 28, 28, generator=generator), torch.rand(8, 1, 28, 28,
                                                                                    generator=generator)
    (demo,) = REGISTRATION.demo_energy
    names = {"spiking": card} if card else {}
    report = run_registered(REGISTRATION, model, images, calibration, dict(demo.fields), names)
    reference = measure("spiking", model, images, calibration=calibration,
                        spiking_card=load_card(card) if card else None, **demo.fields).report
    assert report == reference
    assert report.total_j > 0
    if card is None:  # Loihi prices every spiking event (TrueNorth's card leaves some unpriced)
        assert not report.unpriced


def test_registration_declares_the_spiking_substrate():
    assert REGISTRATION.name == "spiking" and REGISTRATION.spec is Spiking
    assert set(REGISTRATION.card_roles) == {"spiking"}
    assert REGISTRATION.load_cards((), {}).name == "loihi-davies2018"
    (demo,) = REGISTRATION.demo_energy
    assert demo.model == "lenet5-mnist" and demo.fields == {"timesteps": 32}
    network = neuroemu.map(load_checkpoint("lenet5-mnist").build(), Spiking(timesteps=2))
    assert isinstance(network, SpikingNetwork)
    REGISTRATION.calibrate(network, torch.rand(4, 1, 28, 28))
    assert network.scales is not None and len(network.scales) == 4


def test_demo_table_reports_both_encodings_at_each_timestep(data_root):
    text = REGISTRATION.demo_table(5)
    assert text.startswith("Spiking LeNet-5 (IF neurons, reset by subtraction), lenet5-mnist, first 5 test")
    header, _, constant, poisson = text.splitlines()[2:]
    assert header.split() == ["input", "float", "T=8", "T=32", "T=128"]
    assert constant.split()[0] == "constant" and poisson.split()[0] == "poisson"
    assert all(0 <= float(v) <= 100 for v in constant.split()[1:] + poisson.split()[1:])
