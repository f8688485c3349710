"""The spiking registration: its spec, cards, calibration, price rules and demo table."""

import pytest
import torch

import neuroemu
from neuroemu.cards import load_card
from neuroemu.experiments.energy import measure
from neuroemu.nets import load_checkpoint
from neuroemu.resparc import Resparc
from neuroemu.resparc.substrate import REGISTRATION
from neuroemu.spiking import Spiking, SpikingNetwork


@pytest.mark.parametrize("card", [None, "truenorth-merolla2014"])
def test_measured_energy_is_the_cards_energy_times_the_ledger_counts(card):
    """Priced through the registration, each event costs exactly what its spiking_core card says."""
    model = load_checkpoint("lenet5-mnist").build()
    generator = torch.Generator().manual_seed(4)
    images, calibration = torch.rand(3, 1, 28, 28, generator=generator), torch.rand(8, 1, 28, 28,
                                                                                    generator=generator)
    core = load_card(card or "loihi-davies2018")
    measured = measure("spiking", model, images, calibration=calibration, own_cards=core, timesteps=32)
    ledger, report = measured.ledger, measured.report
    expected = ledger.count("synaptic_op") * core.energy_per_synaptic_op
    if card is None:  # Loihi prices every spiking event (TrueNorth's card leaves some unpriced)
        for entry in ledger.entries():
            if entry.event == "neuron_update":
                energy = (core.energy_per_neuron_update if entry.attrs["active"]
                          else core.energy_per_idle_neuron_update)
                expected += entry.count * energy
            elif entry.event == "spike_route":
                expected += entry.count * (core.energy_per_spike + entry.attrs["hops"] * core.energy_per_hop)
        assert not report.unpriced
    else:
        assert {u["event"] for u in report.unpriced} == {"neuron_update", "spike_route"}
    assert report.total_j == pytest.approx(expected, rel=1e-12) and report.total_j > 0


def test_registration_declares_the_spiking_substrate():
    # the spec of the registry: Spiking's fields and those of crossbar synapses (neuroemu.resparc)
    assert REGISTRATION.name == "spiking" and REGISTRATION.spec is Resparc and issubclass(Resparc, Spiking)
    assert set(REGISTRATION.card_roles) == {"spiking"}
    assert REGISTRATION.load_cards((), {}).name == "loihi-davies2018"
    network = neuroemu.map(load_checkpoint("lenet5-mnist").build(), Spiking(timesteps=2))
    assert isinstance(network, SpikingNetwork)
    REGISTRATION.calibrate(network, torch.rand(4, 1, 28, 28))
    assert network.scales is not None and len(network.scales) == 4
