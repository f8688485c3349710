"""Spiking events priced from neuromorphic-core cards: hand-worked ledgers, all-in cards leave gaps."""

import pytest

from neuroemu.cards import load_card
from neuroemu.cost import Ledger, PriceBook, PricingError, price
from neuroemu.cost.spiking import spiking_rules


def spiking_ledger(hops: int = 2) -> Ledger:
    ledger = Ledger()
    ledger.record("synaptic_op", 1000, layer="fc1")
    ledger.record("neuron_update", 30, layer="fc1", active=True)
    ledger.record("neuron_update", 70, layer="fc1", active=False)
    ledger.record("spike_route", 12, layer="fc1", hops=hops)
    return ledger


def test_loihi_hand_worked():
    report = price(spiking_ledger(), PriceBook(spiking_rules(load_card("loihi-davies2018"))), images=2)
    pj = 1e-12
    expected = {"synapse": 1000 * 23.6 * pj, "neuron": (30 * 81 + 70 * 52) * pj,
                "routing": 12 * (1.7 + 2 * 3.0) * pj}
    assert report.unpriced == ()
    for component, joules in expected.items():
        assert report.breakdown_j[component] == pytest.approx(joules, rel=1e-12)
    assert report.per_inference_j == pytest.approx(sum(expected.values()) / 2, rel=1e-12)


def test_all_in_card_prices_only_synaptic_events():
    report = price(spiking_ledger(), PriceBook(spiking_rules(load_card("truenorth-merolla2014"))), images=1)
    assert report.total_j == pytest.approx(1000 * 26e-12, rel=1e-12)
    assert sorted(u["event"] for u in report.unpriced) == ["neuron_update", "neuron_update", "spike_route"]


def test_bad_inputs():
    with pytest.raises(PricingError, match="spiking_core"):
        spiking_rules(load_card("adc-sar-isaac-8b"))
    with pytest.raises(PricingError, match="hops"):
        price(spiking_ledger(hops=-1), PriceBook(spiking_rules(load_card("loihi-davies2018"))))
