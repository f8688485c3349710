"""Crossbar events priced from the ledger and cards alone (neuroemu.cost.crossbar), and the conductances the
crossbar layers record into those events."""

import dataclasses

import pytest
import torch
from torch import nn

import neuroemu
from neuroemu.cards import UnknownCardError, load_card
from neuroemu.cost import Ledger, PriceBook, price, recording
from neuroemu.cost.column_adc import column_adc_terms
from neuroemu.cost.crossbar import crossbar_rules
from neuroemu.cost.pricing import PricingError
from neuroemu.cost.rules import CircuitCards
from neuroemu.crossbar import Crossbar, crossbar_layers, set_time


def _read_energy(card_name: str, g: float) -> float:
    card = load_card(card_name)
    return card.read_voltage * card.read_voltage * g * card.read_pulse_width


def test_cell_reads_priced_per_entry_at_the_conductance_it_carries():
    ledger = Ledger()
    ledger.record("cell_read", 10, layer="fc1", device="ideal", conductance_s=1e-6)
    ledger.record("cell_read", 5, layer="fc1", device="ideal", conductance_s=2e-6)  # another read time
    ledger.record("cell_read", 4, layer="fc2", device="pcm-joshi2020", conductance_s=3e-6)
    rules = crossbar_rules(ledger, CircuitCards.load())
    assert [(r.event, r.layer) for r in rules] == [("cell_read", "fc1"), ("cell_read", "fc2")]
    report = price(ledger, PriceBook(rules))
    fc1 = 10 * _read_energy("ideal", 1e-6) + 5 * _read_energy("ideal", 2e-6)
    fc2 = 4 * _read_energy("pcm-joshi2020", 3e-6)
    assert report.per_layer_j == pytest.approx({"fc1": fc1, "fc2": fc2}, rel=1e-15)
    assert set(report.cards) == {"ideal", "pcm-joshi2020"}


def test_column_adc_rules_only_with_a_column_card():
    ledger = Ledger()
    ledger.record("cell_read", 8, layer="fc1", device="ideal", conductance_s=1e-6)
    ledger.record("adc_conversion", 7, layer="fc1", bits=6, device="ideal", column_conductance_s=2e-5)
    walden = CircuitCards.load()
    assert [r.event for r in crossbar_rules(ledger, walden)] == ["cell_read"]
    column = CircuitCards.load(adc="adc-sar-neurosim-45nm-lp")
    rules = crossbar_rules(ledger, column)
    assert [(r.event, r.layer) for r in rules] == [("cell_read", "fc1"), ("adc_conversion", "fc1")]
    report = price(ledger, PriceBook(rules))
    adc, read = column_adc_terms(column.adc, 6, 2e-5, load_card("ideal").read_voltage)
    sh = column.sample_hold.energy_per_operation
    assert report.breakdown_j["adc"] == pytest.approx(7 * adc.energy_j, rel=1e-15)
    assert report.breakdown_j["adc_column_read"] == pytest.approx(7 * read.energy_j, rel=1e-15)
    assert report.breakdown_j["sample_hold"] == pytest.approx(7 * sh, rel=1e-15)


def test_device_cards_by_name_from_paths_or_given(tmp_path):
    ledger = Ledger()
    ledger.record("cell_read", 1, layer="fc", device="ideal-slow", conductance_s=1e-6)
    with pytest.raises(UnknownCardError, match="ideal-slow"):
        crossbar_rules(ledger, CircuitCards.load())
    slow = dataclasses.replace(load_card("ideal"), name="ideal-slow", read_pulse_width=1e-6)
    given = price(ledger, PriceBook(crossbar_rules(ledger, CircuitCards.load(), devices=[slow]))).total_j
    text = (load_card("ideal").path).read_text(encoding="utf-8")
    text = text.replace('name = "ideal"', 'name = "ideal-slow"').replace('"250 ns"', '"1 us"')
    (tmp_path / "ideal-slow.toml").write_text(text, encoding="utf-8")
    found = price(ledger, PriceBook(crossbar_rules(ledger, CircuitCards.load(), [tmp_path]))).total_j
    assert given == found == pytest.approx(0.2**2 * 1e-6 * 1e-6, rel=1e-12)


def test_events_without_their_attributes_are_refused():
    ledger = Ledger()
    ledger.record("cell_read", 3, layer="fc")
    with pytest.raises(PricingError, match="cell_read events of layer 'fc' carry no device, conductance_s"):
        crossbar_rules(ledger, CircuitCards.load())
    assert crossbar_rules(Ledger(), CircuitCards.load(adc="adc-sar-neurosim-45nm-lp")) == []


def _ledger(model: nn.Module, x: torch.Tensor) -> Ledger:
    ledger = Ledger()
    with torch.inference_mode(), recording(model, ledger):
        model(x)
    return ledger


def test_a_layer_records_its_mean_conductances_by_hand():
    """4×4 ideal array, column scaling, g_min = 0: Σ(G⁺ + G⁻) = (2 + 1 + 1.5 + 2.5)·g_max over 32 devices."""
    w = torch.tensor([[1.0, 0.0, 0.0, -1.0], [0.0, 2.0, 0.0, 0.0], [0.0, 0.0, -0.5, 0.25],
                      [0.5, 0.5, 0.5, -1.0]])
    layer = nn.Linear(4, 4, bias=False)
    layer.weight.data.copy_(w)
    model = neuroemu.map(nn.Sequential(layer), Crossbar(device="ideal", array=(4, 4), dac_bits=4, adc_bits=6,
                                                         dac_range=1.0, adc_range=4.0))
    ledger = _ledger(model, torch.rand(2, 4))
    g_max = load_card("ideal").g_max
    (read,) = [e for e in ledger.entries() if e.event == "cell_read"]
    (adc,) = [e for e in ledger.entries() if e.event == "adc_conversion"]
    assert read.attrs["device"] == adc.attrs["device"] == "ideal"
    assert read.attrs["conductance_s"] == pytest.approx(7 * g_max / 32, rel=1e-7)
    assert adc.attrs["column_conductance_s"] == pytest.approx(7 * g_max / 4, rel=1e-7)  # 32 devices, 4 ADCs
    assert adc.attrs["column_conductance_s"] == read.attrs["conductance_s"] * 32 / 4


def test_conductances_follow_the_read_time_without_read_noise():
    torch.manual_seed(0)
    model = neuroemu.map(nn.Sequential(nn.Linear(16, 8)), Crossbar(device="pcm-joshi2020", trials=3))
    (layer,) = crossbar_layers(model)
    x = torch.rand(2, 16)
    early = _ledger(model, x)
    set_time(model, 86400.0 * 365)
    late = _ledger(model, x)
    expected = layer.cells.mean_conductance(*layer.cells.read_expected(86400.0 * 365))
    assert layer.conductance_s == expected
    noisy = layer.cells.mean_conductance(*layer.cells.read(86400.0 * 365))
    assert noisy != expected
    g_early, g_late = (next(e.attrs["conductance_s"] for e in ledger.entries() if e.event == "cell_read")
                       for ledger in (early, late))
    assert g_late == expected and g_late < g_early  # PCM drifts down
    both = early + late  # two read times in one ledger: two entries, each priced at its own conductance
    report = price(both, PriceBook(crossbar_rules(both, CircuitCards.load())))
    reads = early.count("cell_read")
    energy = reads * (_read_energy("pcm-joshi2020", g_early) + _read_energy("pcm-joshi2020", g_late))
    assert report.total_j == pytest.approx(energy, rel=1e-12)
