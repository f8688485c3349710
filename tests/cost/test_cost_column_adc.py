"""NeuroSim's SAR column ADC model (column_sar_adc cards): energies by hand, measure / reprice / floorplan."""

import dataclasses
import itertools
import math

import pytest
import torch
from torch import nn

import neuroemu
from neuroemu.cards import CardError, load_card
from neuroemu.cost import Ledger
from neuroemu.cost.column_adc import column_adc_terms, conversion_time
from neuroemu.cost.pricing import PricingError
from neuroemu.cost.rules import CircuitCards
from neuroemu.crossbar import crossbar_layers
from neuroemu.experiments.energy import measure, record, reprice

NODES = ("130", "45", "22", "7")


@pytest.fixture(scope="module")
def card45():
    return load_card("adc-sar-neurosim-45nm-lp", kind="column_sar_adc")


def test_45nm_conversion_by_hand(card45):
    """NeuroSim LP 45 nm: P = (2.1691·8 + 16.693) µW + 0.100225·exp(−2.303·log10 R), E = P·9 ns."""
    adc, column = column_adc_terms(card45, 8, 1e-3, 0.5)  # 1 mS at the simulation's 0.5 V: R_eff = 1 kΩ
    assert adc.energy_j == pytest.approx((2.1691 * 8 + 16.693) * 1e-6 * 9e-9, rel=1e-12)
    assert column.energy_j == pytest.approx(0.100225 * math.exp(-2.303 * 3) * 9e-9, rel=1e-12)
    assert (adc.component, column.component) == ("adc", "adc_column_read")
    assert conversion_time(card45, 8) == pytest.approx(9e-9, rel=1e-12)
    # a lower read voltage raises R_eff: at 0.2 V, R_eff = 1 kΩ · 0.5 / 0.2
    low = column_adc_terms(card45, 8, 1e-3, 0.2)[1]
    assert low.energy_j == pytest.approx(0.100225 * math.exp(-2.303 * math.log10(2500)) * 9e-9, rel=1e-12)


def test_column_term_linear_in_conductance_when_decay_is_ln10(card45):
    exact = dataclasses.replace(card45, column_power_decay=math.log(10))
    one = column_adc_terms(exact, 6, 2e-4, 0.2)[1].energy_j
    assert one == pytest.approx(exact.column_power * 2e-4 * 0.2 / 0.5 * 7e-9, rel=1e-12)
    assert column_adc_terms(exact, 6, 4e-4, 0.2)[1].energy_j == pytest.approx(2 * one, rel=1e-12)
    assert column_adc_terms(exact, 6, 0.0, 0.2)[1].energy_j == 0.0


@pytest.mark.parametrize("node", NODES)
def test_energy_monotone_in_bits_and_column_conductance(node):
    card = load_card(f"adc-sar-neurosim-{node}nm-lp")
    totals = [sum(t.energy_j for t in column_adc_terms(card, b, 5e-4, 0.2)) for b in range(2, 11)]
    assert all(a < b for a, b in itertools.pairwise(totals))
    columns = [column_adc_terms(card, 8, g, 0.2)[1].energy_j for g in (1e-5, 1e-4, 1e-3)]
    assert columns[0] < columns[1] < columns[2]


def test_column_read_share_grows_as_the_node_shrinks():
    """NeuroSim's finding: the converter logic scales with the node, the column read current much less."""
    shares = []
    for node in NODES:
        adc, column = column_adc_terms(load_card(f"adc-sar-neurosim-{node}nm-lp"), 8, 1e-3, 0.2)
        shares.append(column.energy_j / (adc.energy_j + column.energy_j))
    assert all(a < b for a, b in itertools.pairwise(shares))
    assert shares[-1] > 0.9


def test_bad_inputs_are_named(card45):
    with pytest.raises(PricingError, match="ADC bits"):
        column_adc_terms(card45, 0, 1e-3, 0.2)
    with pytest.raises(PricingError, match="column conductance"):
        column_adc_terms(card45, 8, -1e-3, 0.2)
    with pytest.raises(PricingError, match="not 'column_sar_adc'"):
        column_adc_terms(load_card("adc-sar-isaac-8b"), 8, 1e-3, 0.2)
    with pytest.raises(CardError, match="ADC card"):
        CircuitCards.load(adc="dac-1b-isaac")


@pytest.fixture(scope="module")
def small_run():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3)).eval()
    images = torch.rand(4, 6, generator=torch.Generator().manual_seed(2))
    cards = CircuitCards.load(adc="adc-sar-neurosim-22nm-lp")
    options = {"device": "rram-wan2022", "array": (4, 4), "adc_bits": 7}
    recorded = record("crossbar", model, images, **options)  # the same run, with its model
    return measure("crossbar", model, images, cards=cards, **options), cards, recorded


def test_measure_prices_each_layer_at_its_column_conductance(small_run):
    run, cards, recorded = small_run
    device = load_card("rram-wan2022")
    assert "adc_column_read" in run.report.breakdown_j and "adc" in run.report.breakdown_j
    assert recorded.ledger == run.ledger
    expected = 0.0
    layers = crossbar_layers(recorded.emulated)
    for layer in layers:
        conversions = run.ledger.count("adc_conversion", layer=layer.name)
        # G_col: all the current one array read draws, shared among its conversions
        g_col = layer.conductance_s * layer.devices / layer.conversions_per_mvm
        (entry,) = [e for e in run.ledger.entries() if e.event == "adc_conversion" and e.layer == layer.name]
        assert entry.attrs["column_conductance_s"] == g_col and entry.attrs["device"] == "rram-wan2022"
        expected += conversions * column_adc_terms(cards.adc, 7, g_col, device.read_voltage)[1].energy_j
    assert run.report.breakdown_j["adc_column_read"] == pytest.approx(expected, rel=1e-12)
    # one MVM per image of each linear layer: its conversions are conversions_per_mvm per image
    assert [run.ledger.count("adc_conversion", layer=la.name) for la in layers] == [
        4 * la.conversions_per_mvm for la in layers]
    assert [la.conversions_per_mvm for la in layers] == [5 * 2, 3 * 2]  # outputs × 2 row tiles
    assert run.floorplan.area_m2 is None and "adc-sar-neurosim-22nm-lp" in run.floorplan.basis


def test_reprice_matches_and_old_runs_are_refused(small_run):
    run, cards, _ = small_run
    saved = run.saved()
    again = reprice(saved, cards=cards)
    assert again.total_j == pytest.approx(run.report.total_j, rel=1e-12)
    for item in saved["ledger"]:
        item["attrs"].pop("column_conductance_s", None)
    with pytest.raises(PricingError, match="adc_conversion events of layer '0' carry no column_conductance"):
        reprice(saved, cards=cards)
    assert reprice(saved).total_j > 0  # the Walden card needs no column conductance


def test_floorplan_conversion_takes_bits_plus_one_cycles():
    from neuroemu.cost import recording
    from neuroemu.crossbar import Crossbar
    from neuroemu.crossbar.hardware import crossbar_floorplan

    layer = nn.Linear(4, 4, bias=False)
    layer.weight.data.copy_(torch.eye(4))
    model = neuroemu.map(nn.Sequential(layer), Crossbar(device="ideal", array=(4, 4), dac_bits=None,
                                                         adc_bits=6, adc_range=4.0))
    ledger = Ledger()
    with torch.inference_mode(), recording(model, ledger):
        model(torch.rand(1, 4))
    cards = CircuitCards.load(adc="adc-sar-neurosim-45nm-lp")
    plan = crossbar_floorplan(model, ledger, 1, cards, columns_per_adc=4)
    cycle = max(4 * 7 * cards.adc.cycle_time, load_card("ideal").read_pulse_width)
    assert plan.latency_s == pytest.approx(cycle, rel=1e-12)
    assert plan.area_m2 is None
