"""The low-bit registration: its spec, its demo row, and a run priced with no unpriced event."""

import torch

from neuroemu.experiments.energy import measure
from neuroemu.lowbit import LowBit
from neuroemu.lowbit.substrate import REGISTRATION
from neuroemu.nets import load_checkpoint


def test_registration_declares_the_lowbit_substrate_and_prices_its_demo_run():
    assert REGISTRATION.name == "lowbit" and REGISTRATION.spec is LowBit
    assert REGISTRATION.calibrate is None and REGISTRATION.load_cards is None
    (demo,) = REGISTRATION.demo
    models = demo.block["zip"]["model"]
    assert "lenet5-mnist-ternary" in models and "lenet5-mnist-bnn" in models
    images = torch.rand(3, 1, 28, 28, generator=torch.Generator().manual_seed(5))
    measured = measure(REGISTRATION, load_checkpoint("lenet5-mnist-ternary").build(), images)
    assert measured.report.total_j > 0 and not measured.report.unpriced
    assert measured.ledger.count("signed_add") > 0 and measured.options == {"accumulator_bits": 16,
                                                                           "multiplier_bits": 8}
