"""Substrates priced end to end: digital baseline, low-bit, crossbar (hand-worked 4×4 array, ADC sweep)."""

import copy
import dataclasses
import json
from pathlib import Path

import pytest
import torch
from torch import nn

import neuroemu
from neuroemu.cards import CardError, load_card
from neuroemu.cost import Ledger
from neuroemu.cost.crossbar import crossbar_rules
from neuroemu.cost.pricing import PricingError, price
from neuroemu.cost.rules import CircuitCards, standard_book
from neuroemu.experiments.energy import measure, record, reprice
from neuroemu.nets.lenet import LeNet5

REPO = Path(__file__).resolve().parents[2]
LENET5_MACS = 6 * 28 * 28 * 25 + 16 * 10 * 10 * 150 + 120 * 400 + 84 * 120 + 10 * 84  # 416 520


@pytest.fixture(scope="module")
def lenet() -> nn.Module:
    torch.manual_seed(0)
    return LeNet5().eval()


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    return torch.rand(4, 1, 28, 28, generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("bits", [8, 32])
def test_digital_baseline_is_mult_plus_add_of_that_width(lenet, images, bits):
    report = measure("digital", lenet, images, bits=bits).report
    mult = load_card(f"mult-int{bits}-horowitz-45nm").energy
    add = load_card(f"add-int{bits}-horowitz-45nm").energy
    assert report.per_inference_j == pytest.approx(LENET5_MACS * (mult + add), rel=1e-12)
    assert report.breakdown_per_inference_j() == pytest.approx({"mult": LENET5_MACS * mult,
                                                                "add": LENET5_MACS * add}, rel=1e-12)
    assert report.unpriced == ()
    assert set(report.cards) == {f"mult-int{bits}-horowitz-45nm", f"add-int{bits}-horowitz-45nm"}


@pytest.mark.parametrize("memory", ["sram-32kb-horowitz-45nm", "dram-horowitz-45nm"])
def test_digital_weight_fetch_reads_every_parameter_once_per_image(lenet, images, memory):
    measured = measure("digital", lenet, images, bits=8, weight_memory=memory)
    card = load_card(memory)
    words = sum(-(-sum(p.numel() for p in m.parameters()) * 8 // card.word_bits)
                for m in lenet.modules() if isinstance(m, nn.Conv2d | nn.Linear))
    report = measured.report
    fetch = words * card.energy_per_access
    assert report.breakdown_per_inference_j()["memory"] == pytest.approx(fetch, rel=1e-12)
    plain = measure("digital", lenet, images, bits=8).report
    assert report.per_inference_j == pytest.approx(plain.per_inference_j + fetch)
    assert reprice(json.loads(json.dumps(measured.saved()))).per_inference_j == report.per_inference_j
    with pytest.raises(CardError, match="memory"):
        measure("digital", lenet, images, bits=8, weight_memory="adc-sar-isaac-8b")


def test_digital_ledger_totals_independent_of_batch_size(lenet, images):
    whole = record("digital", lenet, images).ledger
    pieces = Ledger()
    for start, stop in ((0, 1), (1, 3), (3, 4)):  # batches of 1, 2 and 1 images
        pieces.merge(record("digital", lenet, images[start:stop]).ledger)
    assert pieces == whole
    one = measure("digital", lenet, images[:1]).report.per_inference_j
    four = measure("digital", lenet, images).report.per_inference_j
    assert one == pytest.approx(four, rel=1e-12)


def test_lowbit_bnn_priced_without_unpriced_events(images):
    torch.manual_seed(0)
    report = measure("lowbit", LeNet5(quant="bnn").eval(), images[:2]).report
    assert report.unpriced == ()
    assert set(report.breakdown_j) == {"add", "xnor_popcount"}
    # far below the 8-bit digital baseline of the same network
    digital = measure("digital", LeNet5().eval(), images[:2], bits=8).report
    assert report.per_inference_j < digital.per_inference_j


def test_crossbar_4x4_hand_worked_exactly():
    """A 4×4 layer on one 4×4 ideal array, one inference: every component by hand."""
    from neuroemu.cost import recording
    from neuroemu.crossbar import Crossbar

    w = torch.tensor([[1.0, 0.0, 0.0, -1.0], [0.0, 2.0, 0.0, 0.0], [0.0, 0.0, -0.5, 0.25],
                      [0.5, 0.5, 0.5, -1.0]])
    layer = nn.Linear(4, 4, bias=False)
    layer.weight.data.copy_(w)
    model = neuroemu.map(nn.Sequential(layer), Crossbar(device="ideal", array=(4, 4), dac_bits=4, adc_bits=6,
                                                         dac_range=1.0, adc_range=4.0))
    ledger = Ledger()
    with torch.inference_mode(), recording(model, ledger):
        model(torch.tensor([[0.5, -0.25, 1.0, 0.0]]))
    cards = CircuitCards.load()
    report = price(ledger, standard_book(cards, multiplier_bits=8, extra=crossbar_rules(ledger, cards)))
    ideal = load_card("ideal")
    # column scaling, g_min = 0: G⁺ + G⁻ = |w| / max|w_row| · g_max; Σ over rows = 2 + 1 + 1.5 + 2.5 = 7
    read = ideal.read_voltage**2 * 7 * ideal.g_max * ideal.read_pulse_width
    dac = 4 * 4 * cards.dac.energy_per_conversion  # 4 rows, 4-bit inputs as 4 one-bit pulses
    adc = 4 * cards.adc.walden_fom * 2**6  # 4 columns, 6 bits
    sh = 4 * cards.sample_hold.energy_per_operation
    mult = 4 * load_card("mult-int8-horowitz-45nm").energy  # 4 column scales
    expected = {"cell_read": read, "dac": dac, "adc": adc, "sample_hold": sh, "mult": mult}
    assert ledger.count("cell_read") == 32 and ledger.count("crossbar_mvm") == 1
    assert set(report.breakdown_j) == set(expected)
    for component, joules in expected.items():
        assert report.breakdown_j[component] == pytest.approx(joules, rel=1e-6), component
    assert report.total_j == pytest.approx(sum(expected.values()), rel=1e-6)
    assert read == pytest.approx(1.75e-12, rel=1e-12)


def test_crossbar_4x4_floorplan_by_hand():
    """Latency and converter area of the 4×4 example from the ISAAC cards, by hand."""
    from neuroemu.cost import recording
    from neuroemu.crossbar import Crossbar
    from neuroemu.crossbar.hardware import crossbar_floorplan

    layer = nn.Linear(4, 4, bias=False)
    layer.weight.data.copy_(torch.eye(4))
    model = neuroemu.map(nn.Sequential(layer), Crossbar(device="ideal", array=(4, 4), dac_bits=4, adc_bits=6,
                                                         dac_range=1.0, adc_range=4.0))
    ledger = Ledger()
    with torch.inference_mode(), recording(model, ledger):
        model(torch.rand(3, 4))
    cards = CircuitCards.load()
    plan = crossbar_floorplan(model, ledger, 3, cards)
    ideal = load_card("ideal")
    # 4 one-bit pulses per MVM; a cycle is the slowest of DAC 100 ns, ADC 4 columns / 1.28 GS/s, read 250 ns
    cycle = max(1 / cards.dac.sample_rate, 4 / cards.adc.sample_rate, ideal.read_pulse_width)
    assert plan.latency_s == pytest.approx(4 * cycle, rel=1e-12)
    assert plan.layers[0]["cycle_limited_by"] == "read" and plan.layers[0]["positions"] == 1
    area = {"dac": 4 * cards.dac.area, "sample_hold": 4 * cards.sample_hold.area, "adc": cards.adc.area}
    assert plan.area_breakdown_m2 == pytest.approx(area, rel=1e-12)
    assert plan.area_m2 == pytest.approx(sum(area.values()), rel=1e-12)
    two = crossbar_floorplan(model, ledger, 3, cards, columns_per_adc=2)
    assert two.area_breakdown_m2["adc"] == pytest.approx(2 * cards.adc.area, rel=1e-12)
    with pytest.raises(PricingError, match="do not cover"):
        crossbar_floorplan(model, ledger, 2, cards)
    with pytest.raises(PricingError, match="columns_per_adc"):
        crossbar_floorplan(model, ledger, 3, cards, columns_per_adc=0)


@pytest.fixture(scope="module")
def crossbar_runs(lenet, images):
    """LeNet-5 on an ideal-device crossbar at ADC widths 4..8 (2 images, calibrated on 4)."""
    return {bits: measure("crossbar", lenet, images[:2], device="ideal", adc_bits=bits, calibration=images)
            for bits in (4, 6, 8)}


def test_crossbar_energy_monotone_in_adc_bits_and_converters_dominate(crossbar_runs):
    reports = [crossbar_runs[b].report for b in (4, 6, 8)]
    totals = [r.per_inference_j for r in reports]
    assert totals[0] < totals[1] < totals[2]
    assert [r.share("adc") for r in reports] == sorted(r.share("adc") for r in reports)
    assert reports[-1].share("adc", "dac") > 0.5  # Xia et al. (DAC 2016): converters dominate at 8 bits
    for r in reports:
        assert r.unpriced == ()
        assert {"cell_read", "adc", "dac"} <= set(r.breakdown_j)
    # only the ADC component changes with the ADC width (same events, same conductances)
    low, high = reports[0].breakdown_j, reports[-1].breakdown_j
    assert high["adc"] == pytest.approx(16 * low["adc"], rel=1e-12)
    assert high["dac"] == pytest.approx(low["dac"], rel=1e-12)


def test_crossbar_card_change_reprices_without_rerunning(crossbar_runs):
    run = crossbar_runs[8]
    cards = CircuitCards.load()
    hot = dataclasses.replace(cards, dac=dataclasses.replace(cards.dac, power=2 * cards.dac.power))
    base = run.report.breakdown_j
    # the saved ledger (JSON round trip) is repriced with a hotter DAC card, without emulating again;
    # cell_read is priced by crossbar rules (not in the standard book), so that event is left out here
    ledger = Ledger.from_list([e for e in run.ledger.to_list() if e["event"] != "cell_read"])
    before = price(ledger, standard_book(cards)).breakdown_j
    after = price(ledger, standard_book(hot)).breakdown_j
    for component, joules in before.items():
        assert after[component] == pytest.approx((2 if component == "dac" else 1) * joules, rel=1e-12)
        assert joules == pytest.approx(base[component], rel=1e-12)


def test_cell_read_energy_follows_programmed_conductances(lenet, images):
    """Read energy scales with g_max of the device card (V²·G·t), not a constant."""
    from neuroemu.cards import Source
    from neuroemu.cards.devices import IdealDevice

    ideal = load_card("ideal")
    half = IdealDevice(name="ideal-half", source=Source(citation="test", location="-"), g_min=0.0,
                       g_max=ideal.g_max / 2, read_voltage=ideal.read_voltage,
                       read_pulse_width=ideal.read_pulse_width)
    full = measure("crossbar", lenet, images[:1], device="ideal", dac_bits=None, adc_bits=None).report
    halved = measure("crossbar", lenet, images[:1], device=half, dac_bits=None, adc_bits=None).report
    assert halved.breakdown_j["cell_read"] == pytest.approx(full.breakdown_j["cell_read"] / 2, rel=1e-5)


def test_reprice_saved_run_with_an_edited_device_card(crossbar_runs, tmp_path):
    """A saved crossbar run priced again: a device card with twice the read pulse doubles only cell_read."""
    from neuroemu.experiments.energy import reprice

    run = crossbar_runs[8]
    saved = json.loads(json.dumps(run.saved()))  # through JSON, as the CLI stores it
    same = reprice(saved)
    assert same.breakdown_j == pytest.approx(run.report.breakdown_j, rel=1e-12)
    text = (REPO / "devices" / "ideal.toml").read_text(encoding="utf-8")
    text = text.replace('name = "ideal"', 'name = "ideal-slow-read"').replace('"250 ns"', '"500 ns"')
    (tmp_path / "ideal-slow-read.toml").write_text(text, encoding="utf-8")
    for item in saved["ledger"]:
        if "device" in item["attrs"]:
            item["attrs"]["device"] = "ideal-slow-read"
    slow = reprice(saved, paths=[tmp_path])
    for component, joules in run.report.breakdown_j.items():
        factor = 2 if component == "cell_read" else 1
        assert slow.breakdown_j[component] == pytest.approx(factor * joules, rel=1e-12), component
    assert "ideal-slow-read" in slow.cards


def test_dac_energy_same_for_bit_serial_and_dac_mode():
    """8-bit inputs through a 1-bit DAC card cost 8 pulses in both input modes (bits=8 events priced as 8
    pulses; bit-serial mode records 8 one-bit events)."""
    from neuroemu.cost import recording
    from neuroemu.crossbar import Crossbar

    layer = nn.Linear(4, 4, bias=False)
    layer.weight.data.copy_(torch.eye(4))
    x = torch.rand(2, 4)
    dac = {}
    for mode in ("dac", "bit_serial"):
        spec = Crossbar(device="ideal", array=(4, 4), dac_bits=8, adc_bits=8, dac_range=1.0, adc_range=4.0,
                        input_mode=mode)
        model = neuroemu.map(nn.Sequential(copy.deepcopy(layer)), spec)
        ledger = Ledger()
        with torch.inference_mode(), recording(model, ledger):
            model(x)
        book = standard_book(extra=crossbar_rules(ledger, CircuitCards.load()))
        dac[mode] = price(ledger, book).breakdown_j["dac"]
    assert dac["dac"] == pytest.approx(dac["bit_serial"], rel=1e-12)


def test_binary_device_prices_float_layers_with_default_slicing():
    """A float layer on a one-bit cell needs slicing: the energy command uses the mc command's default."""
    import torch

    from neuroemu.crossbar.spec import BINARY_CELL_SLICING
    from neuroemu.experiments.energy import measure
    from neuroemu.nets import LeNet5

    torch.manual_seed(0)
    result = measure("crossbar", LeNet5(quant="xnor").eval(), torch.rand(2, 1, 28, 28), device="sttram-pmtj")
    assert result.options["slicing"] == list(BINARY_CELL_SLICING)
    assert result.report.per_inference_j > 0


def test_programming_energy_is_one_pulse_per_device(lenet, images):
    from neuroemu.crossbar import Crossbar, crossbar_layers
    from neuroemu.crossbar.hardware import programming_energy
    from neuroemu.crossbar.spec import BINARY_CELL_SLICING

    card = load_card("sttram-pmtj")
    r_ap = card.r_p * (1 + card.tmr)
    assert card.write_energy_per_pulse == pytest.approx(
        card.write_current**2 * (card.r_p + r_ap) / 2 * card.write_pulse_width, rel=1e-12)
    mapped = neuroemu.map(lenet, Crossbar(device="sttram-pmtj", slicing=BINARY_CELL_SLICING,
                                          dac_bits=None, adc_bits=None))
    expected = {layer.name: layer.devices * card.write_energy_per_pulse for layer in crossbar_layers(mapped)}
    programming = programming_energy(mapped)
    assert programming.per_layer_j == pytest.approx(expected, rel=1e-12)
    measured = measure("crossbar", lenet, images[:1], device="sttram-pmtj", dac_bits=None, adc_bits=None)
    assert measured.programming.total_j == pytest.approx(sum(expected.values()), rel=1e-12)
    pcm = measure("crossbar", lenet, images[:1], device="pcm-joshi2020", dac_bits=None, adc_bits=None)
    assert pcm.programming.total_j is None and "no write pulse" in pcm.programming.unpriced["fc1"]


def test_programming_energy_of_a_conductance_device_by_hand():
    """Ideal device with a write pulse, column-scaled 2×2 layer: Σ over devices of n·V²·(g_min + G_T)/2·t."""
    from neuroemu.crossbar import Crossbar
    from neuroemu.crossbar.hardware import programming_energy

    card = dataclasses.replace(load_card("ideal"), write_voltage=2.0, write_pulse_width=1e-6, write_pulses=4)
    layer = nn.Linear(2, 2, bias=False)
    layer.weight.data.copy_(torch.tensor([[1.0, -0.5], [0.0, 2.0]]))
    mapped = neuroemu.map(nn.Sequential(layer), Crossbar(device=card, dac_bits=None, adc_bits=None))
    # column scaling: |w| / max|w_row| · g_max on one cell of each pair, g_min on the other
    targets = [card.g_max, 0.5 * card.g_max, 0.0, card.g_max] + [card.g_min] * 4
    expected = sum(4 * 2.0**2 * (card.g_min + g) / 2 * 1e-6 for g in targets)
    programming = programming_energy(mapped)
    assert programming.total_j == pytest.approx(expected, rel=1e-9)
    assert "4 pulses of 2 V" in next(iter(programming.basis.values()))
    with pytest.raises(CardError, match="together"):
        dataclasses.replace(card, write_pulses=None)


def test_spiking_energy_is_events_times_the_core_card(lenet, images):
    card = load_card("loihi-davies2018")
    run = measure("spiking", lenet, images[:2], timesteps=4, calibration=images)
    ledger = run.ledger
    assert not run.report.unpriced
    expected = {
        "synapse": ledger.count("synaptic_op") * card.energy_per_synaptic_op,
        "neuron": ledger.count("neuron_update", active=True) * card.energy_per_neuron_update
        + ledger.count("neuron_update", active=False) * card.energy_per_idle_neuron_update,
        "routing": ledger.count("spike_route", hops=1) * (card.energy_per_spike + card.energy_per_hop),
    }
    assert run.report.breakdown_j == pytest.approx(expected, rel=1e-12)
    assert run.report.images == 2 and run.options["timesteps"] == 4
    assert reprice(run.saved()).total_j == pytest.approx(run.report.total_j, rel=1e-12)
    truenorth = reprice(run.saved(), own_cards=load_card("truenorth-merolla2014"))
    assert {u["event"] for u in truenorth.unpriced} == {"neuron_update", "spike_route"}
    longer = measure("spiking", lenet, images[:2], timesteps=8, calibration=images)
    assert longer.report.total_j > run.report.total_j  # more steps, more events
