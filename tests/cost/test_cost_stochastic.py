"""Pricing stochastic-computing events: hand-worked ledgers, RNG sharing, card changes, the SC substrate."""

import dataclasses
import json

import pytest
import torch

from neuroemu.cards import load_card
from neuroemu.cli import main
from neuroemu.cost import Ledger, PricingError, price
from neuroemu.cost.pricing import DigitalOps
from neuroemu.cost.rules import CircuitCards, standard_book
from neuroemu.cost.stochastic import ScCards, rng_value, stochastic_floorplan, stochastic_rules
from neuroemu.experiments.energy import measure, reprice
from neuroemu.nets import LeNet5


@pytest.fixture(scope="module")
def sc_cards() -> ScCards:
    return ScCards.load()


@pytest.fixture(scope="module")
def ops() -> DigitalOps:
    return DigitalOps(CircuitCards.load().digital)


def cycle(name: str) -> float:
    return load_card(name).energy_per_cycle


def book(sc_cards, ops, cards=None):
    return standard_book(extra=stochastic_rules(cards or sc_cards, ops))


def hand_ledger(sharing: str = "shared", length: int = 256, bits: int = 8, counter_bits: int = 9) -> Ledger:
    """A few SC events of a circuit clocked ``length`` cycles, with ``bits``-bit generators."""
    generator = {"sng": "sobol", "bits": bits, "sharing": sharing, "length": length}
    ledger = Ledger()
    ledger.record("sc_gate_cycle", 10, layer="a", gate="xnor")
    ledger.record("sc_gate_cycle", 3, layer="a", gate="mux", inputs=15)
    ledger.record("sc_counter_op", 5, layer="a", counter="exact", inputs=32)
    ledger.record("sc_counter_op", 2, layer="a", counter="apc", inputs=4)
    ledger.record("sc_fsm_update", 7, layer="a", fsm="btanh", states=32)
    ledger.record("sc_counter_update", 4, layer="a", purpose="output", bits=counter_bits)
    ledger.record("sc_sng_draw", 6, layer="a", operand="weight", **generator)
    ledger.record("sc_rng_step", 2, layer="a", operand="weight", **generator)
    return ledger


def test_hand_worked_ledger_is_priced_exactly(sc_cards, ops):
    report = price(hand_ledger(), book(sc_cards, ops), images=1)
    add = {b: ops.energy("add", b).energy_j for b in (5, 8, 9)}
    expected = {
        "sc_multiply": 10 * cycle("sc-and2-unarysim-40nm"),
        "sc_add": (3 * cycle("sc-mux8-unarysim-40nm") * 14 / 7 + 5 * cycle("sc-pc16-unarysim-40nm") * 32 / 16
                   + 2 * cycle("sc-apc8-unarysim-40nm") * 4 / 8),
        "sc_activation": 7 * add[5],           # 32 states: a 5-bit register update
        "sc_counter": 4 * add[9],              # counts up to L = 256: 9 bits
        "sng": 6 * add[8],                     # 8-bit comparator for 256-bit streams
        "rng": 2 * cycle("sc-sobol8-unarysim-40nm"),  # shared: one step per generator row
    }
    assert report.unpriced == ()
    assert report.breakdown_j.keys() == expected.keys()
    for component, joules in expected.items():
        assert report.breakdown_j[component] == pytest.approx(joules, rel=1e-12), component


def test_private_generators_pay_one_rng_step_per_draw(sc_cards, ops):
    shared = price(hand_ledger(), book(sc_cards, ops), images=1)
    private = price(hand_ledger("private"), book(sc_cards, ops), images=1)
    assert private.breakdown_j["rng"] == pytest.approx(6 * cycle("sc-sobol8-unarysim-40nm"), rel=1e-12)
    unchanged = set(shared.breakdown_j) - {"rng"}
    assert all(private.breakdown_j[c] == shared.breakdown_j[c] for c in unchanged)
    assert private.unpriced == ()
    with pytest.raises(PricingError, match=r"attribute 'sharing' in \['shared', 'private'\], got 'some'"):
        price(hand_ledger("some"), book(sc_cards, ops), images=1)


@pytest.mark.parametrize(("event", "attrs", "missing"), [
    ("sc_sng_draw", {"sng": "sobol", "sharing": "shared", "length": 4}, "bits"),
    ("sc_sng_draw", {"sng": "sobol", "bits": 2, "length": 4}, "sharing"),
    ("sc_rng_step", {"sng": "sobol", "bits": 2, "length": 4}, "sharing"),
    ("sc_rng_step", {"sng": "sobol", "sharing": "shared", "length": 4}, "bits"),
    ("sc_counter_update", {"purpose": "output"}, "bits"),
    ("sc_compare", {"purpose": "max_pool"}, "bits"),
])
def test_an_event_without_what_its_price_needs_is_an_error(sc_cards, ops, event, attrs, missing):
    ledger = Ledger()
    ledger.record(event, 3, layer="a", **attrs)
    with pytest.raises(PricingError, match=f"event '{event}' needs .*attribute '{missing}'"):
        price(ledger, book(sc_cards, ops), images=1)


def test_private_steps_of_other_sources_are_free_and_their_draws_unpriced(sc_cards, ops):
    ledger = Ledger()
    for sharing in ("shared", "private"):
        attrs = {"sng": "random", "bits": 5, "sharing": sharing, "length": 32}
        ledger.record("sc_sng_draw", 4, layer=sharing, operand="lrn", **attrs)
        ledger.record("sc_rng_step", 2, layer=sharing, operand="lrn", **attrs)
    report = price(ledger, book(sc_cards, ops), images=1)
    assert report.total_j == 0
    assert sorted((u["event"], u["layer"]) for u in report.unpriced) == [
        ("sc_rng_step", "shared"), ("sc_sng_draw", "private"), ("sc_sng_draw", "shared")]


def test_rng_widths_without_a_card_are_linear_in_width(sc_cards):
    e6, e8, e10 = (cycle(f"sc-sobol{b}-unarysim-40nm") for b in (6, 8, 10))
    energy, _, basis = rng_value(sc_cards.rng, 7, "energy_per_cycle")
    assert energy == pytest.approx((e6 + e8) / 2, rel=1e-12) and "interpolated" in basis
    energy, _, basis = rng_value(sc_cards.rng, 11, "energy_per_cycle")
    assert energy == pytest.approx(e10 + (e10 - e8) / 2, rel=1e-12) and "extrapolated" in basis


def test_sources_without_a_card_stay_unpriced(sc_cards, ops):
    ledger = Ledger()
    ledger.record("sc_sng_draw", 5, layer="a", sng="lfsr", operand="weight")
    report = price(ledger, book(sc_cards, ops), images=1)
    assert report.total_j == 0 and report.unpriced[0]["attrs"]["sng"] == "lfsr"


def test_a_card_change_rescales_exactly_its_component(sc_cards, ops):
    gate = sc_cards.gate
    twice = dataclasses.replace(gate, dynamic_power=2 * gate.dynamic_power,
                                leakage_power=2 * gate.leakage_power)
    doubled = dataclasses.replace(sc_cards, gate=twice)
    before = price(hand_ledger(), book(sc_cards, ops), images=1).breakdown_j
    after = price(hand_ledger(), book(sc_cards, ops, cards=doubled), images=1).breakdown_j
    assert after["sc_multiply"] == pytest.approx(2 * before["sc_multiply"], rel=1e-12)
    assert all(after[c] == before[c] for c in before if c != "sc_multiply")


def test_card_roles_check_the_block_function():
    with pytest.raises(PricingError, match="sc_gate"):
        ScCards.load(sc_gate="sc-mux8-unarysim-40nm")
    with pytest.raises(TypeError, match="roles"):
        ScCards.load(sc_nothing="x")


def test_floorplan_counts_block_instances(sc_cards):
    ledger = hand_ledger(length=5, bits=3, counter_bits=3)
    plan = stochastic_floorplan(ledger, 2, sc_cards)
    assert plan.latency_s == pytest.approx(5 / 400e6, rel=1e-12)
    # 10 gate-cycles over 2 inferences x 5 cycles: one gate
    assert plan.area_breakdown_m2["sc_multiply"] == pytest.approx(sc_cards.gate.area, rel=1e-12)
    # shared rows: 2 steps / 10 cycles; private generators: one per draw, 6 / 10
    assert plan.area_breakdown_m2["rng"] == pytest.approx(0.2 * rng_value(sc_cards.rng, 3, "area")[0])
    private = stochastic_floorplan(hand_ledger("private", length=5, bits=3, counter_bits=3), 2, sc_cards)
    assert private.area_breakdown_m2["rng"] == pytest.approx(0.6 * rng_value(sc_cards.rng, 3, "area")[0])


def test_floorplan_reads_the_stream_length_from_the_generator_events(sc_cards):
    ledger = Ledger()
    ledger.record("sc_gate_cycle", 10, layer="a", gate="xnor")
    with pytest.raises(PricingError, match="stream length"):
        stochastic_floorplan(ledger, 1, sc_cards)
    ledger.record("sc_rng_step", 2, layer="a", sng="sobol", bits=3, sharing="shared")
    with pytest.raises(PricingError, match="'sc_rng_step' needs an integer attribute 'length'"):
        stochastic_floorplan(ledger, 1, sc_cards)
    mixed = hand_ledger(length=5) + hand_ledger(length=6)
    with pytest.raises(PricingError, match=r"several lengths \[5, 6\]"):
        stochastic_floorplan(mixed, 1, sc_cards)


@pytest.fixture(scope="module")
def tanh_net() -> LeNet5:
    return LeNet5("tanh").eval()


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    return torch.rand(2, 1, 28, 28, generator=torch.Generator().manual_seed(3))


def test_energy_grows_with_stream_length(tanh_net, images):
    energies = [measure("stochastic", tanh_net, images, length=n).report.per_inference_j
                for n in (16, 64, 256)]
    assert energies[0] < energies[1] < energies[2]


def test_network_is_fully_priced_and_reprices_identically(tanh_net, images):
    measured = measure("stochastic", tanh_net, images, length=32, sharing="private")
    assert measured.report.unpriced == ()
    assert {"sc_multiply", "sc_add", "sc_activation", "sng", "rng"} <= set(measured.report.breakdown_j)
    again = reprice(json.loads(json.dumps(measured.saved())))
    assert again.per_inference_j == pytest.approx(measured.report.per_inference_j, rel=1e-12)
    assert measured.floorplan is not None and measured.floorplan.latency_s == pytest.approx(32 / 400e6)


def test_shared_generators_cost_less_than_private(tanh_net, images):
    shared = measure("stochastic", tanh_net, images, length=32).report
    private = measure("stochastic", tanh_net, images, length=32, sharing="private").report
    assert 0 < shared.breakdown_j.get("rng", 0.0) < private.breakdown_j["rng"]
    assert shared.per_inference_j < private.per_inference_j


def test_energy_command_on_stochastic(capsys, data_root):
    args = ["energy", "--model", "lenet5-mnist-tanh", "--substrate", "stochastic", "--length", "32",
            "--images", "1", "--json"]
    assert main(args) == 0
    shared = json.loads(capsys.readouterr().out)
    assert shared["substrate"] == "stochastic" and shared["unpriced"] == []
    assert shared["latency_s"] == pytest.approx(32 / 400e6) and shared["area_m2"] > 0
    assert "sc-and2-unarysim-40nm" in shared["cards"] and shared["options"]["sharing"] == "shared"
    assert main([*args, "--sng-sharing", "private"]) == 0
    private = json.loads(capsys.readouterr().out)
    assert private["energy_per_inference_j"] > shared["energy_per_inference_j"]
    assert main([*args, "--counter", "approximate"]) == 0
    approximate = json.loads(capsys.readouterr().out)
    assert approximate["options"]["counter"] == "approximate"
    assert approximate["breakdown_j"]["sc_add"] != shared["breakdown_j"]["sc_add"]


@pytest.mark.parametrize(("extra", "message"), [
    (["--model", "lenet5-mnist"], "tanh"),
    (["--model", "lenet5-mnist-tanh", "--card", "sc_gate=adc-sar-isaac-8b"], "sc_block"),
    (["--model", "lenet5-mnist-tanh", "--block", "no-block"], "block"),
])
def test_energy_command_stochastic_errors(capsys, data_root, extra, message):
    assert main(["energy", "--substrate", "stochastic", "--length", "8", "--images", "1", *extra]) == 2
    assert message in capsys.readouterr().err
