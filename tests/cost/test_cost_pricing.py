"""Pricing: rule table, hand-worked prices, Walden ADC scaling, width interpolation, unpriced events."""

import dataclasses
import json
from itertools import pairwise

import pytest

from neuroemu.cards import Source, load_card
from neuroemu.cards.circuits import Adc, Dac, DigitalOp, Periphery
from neuroemu.cost import Ledger
from neuroemu.cost.pricing import (
    DigitalOps,
    PriceBook,
    PricingError,
    Rule,
    Term,
    free_rule,
    price,
    walden_energy,
)
from neuroemu.cost.rules import CircuitCards, converter_rules, digital_rules, standard_book

SRC = Source(citation="Nobody, Tests, 2024", location="Table 0")


def op(operation: str, bits: int, energy: float) -> DigitalOp:
    return DigitalOp(name=f"{operation}-{bits}", source=SRC, operation=operation, number_format="int",
                     bits=bits, energy=energy)


def toy_cards() -> CircuitCards:
    """Round numbers: ADC 2.56 pJ at 8 bits (FoM 10 fJ/step), 1-bit DAC 0.1 pJ, S+H 1 fJ, S+A 20 fJ,
    add 0.04 / 0.16 pJ at 8 / 32 bits, mult 0.2 / 3.2 pJ at 8 / 32 bits."""
    adc = Adc(name="adc-toy", source=SRC, bits=8, architecture="sar", sample_rate=1e9, power=2.56e-3,
              area=1e-9)
    dac = Dac(name="dac-toy", source=SRC, bits=1, sample_rate=1e7, power=1e-6)
    sh = Periphery(name="sh-toy", source=SRC, function="sample_and_hold", operation_rate=1e7, power=1e-8)
    sa = Periphery(name="sa-toy", source=SRC, function="shift_and_add", operation_rate=1e9, power=2e-5)
    digital = (op("add", 8, 0.04e-12), op("add", 32, 0.16e-12), op("mult", 8, 0.2e-12),
               op("mult", 32, 3.2e-12))
    return CircuitCards(digital=digital, adc=adc, dac=dac, sample_hold=sh, shift_add=sa)


def test_hand_worked_ledger_priced_exactly():
    ledger = Ledger()
    ledger.record("adc_conversion", 10, layer="fc", bits=6)  # 10 × (10 fJ·2^6 + 1 fJ) = 6.41 pJ
    ledger.record("dac_conversion", 20, layer="fc", bits=4)  # 20 × 4 pulses × 0.1 pJ = 8 pJ
    ledger.record("shift_add", 5, layer="fc")  # 5 × 20 fJ = 0.1 pJ
    ledger.record("mac", 100, layer="conv", bits=8)  # 100 × (0.2 + 0.04) pJ = 24 pJ
    ledger.record("bias_add", 7, layer="conv")  # 7 × add(32) = 1.12 pJ
    ledger.record("output_scale", 3, layer="fc")  # 3 × mult(8) = 0.6 pJ
    ledger.record("crossbar_mvm", 2, layer="fc")  # free
    book = standard_book(toy_cards(), accumulator_bits=32, multiplier_bits=8)
    report = price(ledger, book, images=2)
    expected = {"adc": 6.4e-12, "sample_hold": 0.01e-12, "dac": 8e-12, "shift_add": 0.1e-12,
                "mult": 20e-12 + 0.6e-12, "add": 4e-12 + 1.12e-12}
    assert set(report.breakdown_j) == set(expected)
    for component, joules in expected.items():
        assert report.breakdown_j[component] == pytest.approx(joules, rel=1e-12), component
    total = sum(expected.values())
    assert report.total_j == pytest.approx(total, rel=1e-12)
    assert report.per_inference_j == pytest.approx(total / 2, rel=1e-12)
    assert report.per_layer_j["conv"] == pytest.approx(25.12e-12, rel=1e-12)
    assert report.per_layer_j["fc"] == pytest.approx(total - 25.12e-12, rel=1e-12)
    assert report.unpriced == ()
    mvm = next(line for line in report.lines if line["event"] == "crossbar_mvm")
    assert mvm["energy_j"] == 0 and "bookkeeping" in mvm["basis"]
    assert "dac-toy" in report.cards and "adc-toy" in report.cards
    json.dumps(report.to_dict())  # JSON-ready


def test_unpriced_events_are_listed_not_zeroed():
    ledger = Ledger()
    ledger.record("mac", 10, layer="a", bits=8)
    ledger.record("sc_gate_cycle", 99, layer="a", gate="and")
    ledger.record("spike", 5)
    report = price(ledger, standard_book(toy_cards()), images=1)
    assert {u["event"] for u in report.unpriced} == {"sc_gate_cycle", "spike"}
    gate = next(u for u in report.unpriced if u["event"] == "sc_gate_cycle")
    assert gate == {"event": "sc_gate_cycle", "layer": "a", "attrs": {"gate": "and"}, "count": 99}
    assert report.total_j == pytest.approx(10 * 0.24e-12, rel=1e-12)
    assert [line["event"] for line in report.lines] == ["mac"]


def test_energy_monotone_in_adc_bits_and_walden_doubling():
    adc = toy_cards().adc
    energies = [walden_energy(adc, b).energy_j for b in range(1, 17)]
    assert all(b > a for a, b in pairwise(energies))
    assert all(b == pytest.approx(2 * a, rel=1e-12) for a, b in pairwise(energies))
    assert walden_energy(adc, 8).energy_j == adc.energy_per_conversion
    isaac = load_card("adc-sar-isaac-8b")
    assert walden_energy(isaac, 8).energy_j == pytest.approx(1.5625e-12, rel=1e-12)  # 2 mW / 1.28 GS/s
    assert walden_energy(isaac, 4).energy_j == pytest.approx(1.5625e-12 / 16, rel=1e-12)
    book = standard_book(toy_cards())
    totals = []
    for bits in range(4, 11):
        ledger = Ledger()
        ledger.record("adc_conversion", 1000, layer="x", bits=bits)
        totals.append(price(ledger, book).total_j)
    assert all(b > a for a, b in pairwise(totals))
    with pytest.raises(PricingError, match=r"1\.\.24"):
        walden_energy(adc, 0)


def test_digital_width_interpolation_power_law():
    ops = DigitalOps(toy_cards().digital)
    assert ops.energy("add", 8).energy_j == 0.04e-12 and ops.energy("mult", 32).energy_j == 3.2e-12
    # add: 0.04 → 0.16 over 8 → 32 bits is k = 1 (linear); mult: 0.2 → 3.2 is k = 2 (quadratic)
    assert ops.energy("add", 16).energy_j == pytest.approx(0.08e-12, rel=1e-12)
    assert ops.energy("mult", 16).energy_j == pytest.approx(0.8e-12, rel=1e-12)
    assert "interpolated" in ops.energy("mult", 16).basis
    low = ops.energy("mult", 4)
    assert low.energy_j == pytest.approx(0.05e-12, rel=1e-12) and "extrapolated" in low.basis
    assert ops.energy("add", 64).energy_j == pytest.approx(0.32e-12, rel=1e-12)
    with pytest.raises(PricingError, match="no int 'shift'"):
        ops.energy("shift", 8)
    with pytest.raises(PricingError, match="two int add cards"):
        DigitalOps([op("add", 8, 1e-13), op("add", 8, 2e-13)])
    horowitz = DigitalOps(CircuitCards.load().digital)
    e16 = horowitz.energy("add", 16).energy_j
    assert horowitz.energy("add", 8).energy_j < e16 < horowitz.energy("add", 32).energy_j


def test_card_change_rescales_exactly_the_affected_component():
    ledger = Ledger()
    ledger.record("adc_conversion", 40, layer="l", bits=8)
    ledger.record("dac_conversion", 30, layer="l", bits=8)
    ledger.record("mac", 100, layer="l", bits=8)
    ledger.record("bias_add", 9, layer="l")
    cards = toy_cards()
    before = price(ledger, standard_book(cards))
    hotter_adc = dataclasses.replace(cards.adc, power=3 * cards.adc.power)
    after = price(ledger, standard_book(dataclasses.replace(cards, adc=hotter_adc)))
    for component, joules in before.breakdown_j.items():
        factor = 3 if component == "adc" else 1
        assert after.breakdown_j[component] == pytest.approx(factor * joules, rel=1e-12), component
    mults = [c for c in cards.digital if c.operation == "mult" and c.bits == 8]
    digital = tuple(dataclasses.replace(c, energy=2 * c.energy) if c in mults else c for c in cards.digital)
    again = price(ledger, standard_book(dataclasses.replace(cards, digital=digital)))
    for component, joules in before.breakdown_j.items():
        factor = 2 if component == "mult" else 1
        assert again.breakdown_j[component] == pytest.approx(factor * joules, rel=1e-12), component


def test_rule_specificity_and_ambiguity():
    generic = Rule("cell_read", lambda _a: (Term("cell_read", 1e-15, (), "generic"),))
    special = Rule("cell_read", lambda _a: (Term("cell_read", 5e-15, (), "fc1"),), layer="fc1")
    ledger = Ledger()
    ledger.record("cell_read", 2, layer="fc1")
    ledger.record("cell_read", 3, layer="fc2")
    report = price(ledger, PriceBook([special, generic]))
    assert report.per_layer_j == pytest.approx({"fc1": 10e-15, "fc2": 3e-15}, rel=1e-12)
    twin = Rule("cell_read", lambda _a: (), layer="fc1")
    with pytest.raises(PricingError, match="equally specific"):
        price(ledger, PriceBook([special, twin]))
    by_bits = Rule("adc_conversion", lambda _a: (Term("adc", 1e-12, (), "8 bits"),), match={"bits": 8})
    ledger = Ledger()
    ledger.record("adc_conversion", 1, bits=7)
    assert len(price(ledger, PriceBook([by_bits])).unpriced) == 1


def test_bad_inputs_raise():
    with pytest.raises(PricingError, match="images"):
        price(Ledger(), PriceBook(), images=0)
    with pytest.raises(PricingError, match="finite"):
        Term("adc", float("nan"), (), "")
    with pytest.raises(TypeError):
        PriceBook(["not a rule"])  # type: ignore[list-item]
    cards = toy_cards()
    with pytest.raises(PricingError, match="not a shift_and_add"):
        converter_rules(cards.adc, cards.dac, cards.sample_hold, cards.sample_hold)
    four_bit = dataclasses.replace(cards.dac, bits=4)
    rules = converter_rules(cards.adc, four_bit, cards.shift_add)
    ledger = Ledger()
    ledger.record("dac_conversion", 1, bits=8)
    with pytest.raises(PricingError, match="4-bit DAC"):
        price(ledger, PriceBook(rules))
    ledger = Ledger()
    ledger.record("mac", 1)  # no bits attribute
    with pytest.raises(PricingError, match="'bits'"):
        price(ledger, PriceBook(digital_rules(DigitalOps(cards.digital))))
    with pytest.raises(PricingError, match="accumulator_bits"):
        digital_rules(DigitalOps(cards.digital), accumulator_bits=0)
    with pytest.raises(TypeError, match="unknown card roles"):
        CircuitCards.load(adcs="x")


def test_isaac_periphery_cards_derive_their_per_operation_energies():
    dac, sh, sa = load_card("dac-1b-isaac"), load_card("sh-isaac"), load_card("sa-isaac")
    assert dac.energy_per_conversion == pytest.approx(4e-3 / 1024 / 1e7, rel=1e-12)  # 4 mW, 8×128 DACs
    assert sh.energy_per_operation == pytest.approx(10e-6 / 1024 / 1e7, rel=1e-12)  # 10 µW, 8×128 S+H
    assert sa.energy_per_operation == pytest.approx(0.2e-3 / 4 / (8 * 1.28e9 / 4), rel=1e-12)
    assert CircuitCards.load().names() == sorted(["add-int8-horowitz-45nm", "add-int32-horowitz-45nm",
                                                  "mult-int8-horowitz-45nm", "mult-int32-horowitz-45nm",
                                                  "adc-sar-isaac-8b", "dac-1b-isaac", "sh-isaac", "sa-isaac"])
    assert CircuitCards.load(sample_hold=None).sample_hold is None


def test_xnor_popcount_is_one_full_adder_cell_per_bit_product():
    ops = DigitalOps(toy_cards().digital)
    ledger = Ledger()
    ledger.record("xnor_popcount", 800, layer="c", words=2)
    report = price(ledger, PriceBook(digital_rules(ops)))
    assert report.breakdown_j == pytest.approx({"xnor_popcount": 800 * 0.04e-12 / 8}, rel=1e-12)


def test_free_rule_reports_its_reason():
    ledger = Ledger()
    ledger.record("tick", 5)
    report = price(ledger, PriceBook([free_rule("tick", "clock bookkeeping")]))
    assert report.total_j == 0 and report.unpriced == ()
    assert report.lines[0]["basis"] == "clock bookkeeping"
