"""The low-bit registration prices a run exactly as neuroemu.cost.substrates.measure does."""

import torch

import neuroemu
from neuroemu.cost.pricing import price
from neuroemu.cost.rules import CircuitCards, standard_book
from neuroemu.cost.substrates import measure
from neuroemu.ledger import Ledger, recording
from neuroemu.lowbit import LowBit
from neuroemu.lowbit.substrate import REGISTRATION
from neuroemu.nets import load_checkpoint
from neuroemu.registration import PriceContext
from neuroemu.specs import options


def test_registration_gives_the_energy_measure_gives():
    (demo,) = REGISTRATION.demo_energy
    assert REGISTRATION.name == "lowbit" and REGISTRATION.spec is LowBit
    assert demo.model == "lenet5-mnist-ternary"
    model = load_checkpoint(demo.model).build()
    images = torch.rand(3, 1, 28, 28, generator=torch.Generator().manual_seed(5))
    defaults = {o.name: o.command_line_default for o in options(REGISTRATION.spec) if o.cli}
    spec = REGISTRATION.complete(REGISTRATION.spec(**{**defaults, **demo.fields}))
    emulated = neuroemu.map(model, spec)
    assert REGISTRATION.calibrate is None and REGISTRATION.load_cards is None
    ledger = Ledger()
    with torch.inference_mode(), recording(emulated, ledger):
        emulated(images)
    cards = CircuitCards.load()
    context = PriceContext(ledger, len(images) * REGISTRATION.chips(spec), cards)
    report = price(ledger, standard_book(cards, extra=REGISTRATION.price_rules(context)),
                   images=context.inferences)
    reference = measure("lowbit", model, images).report
    assert report == reference and report.total_j > 0
