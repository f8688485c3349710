"""The stochastic substrate's registration: it prices a ledger exactly as ``neuroemu energy`` does, from the
ledger and the cards alone (a saved ledger needs no option), and carries the demo."""

import json

import pytest
import torch

import neuroemu
from neuroemu.cli import main
from neuroemu.cost import Ledger, PricingError, price, recording
from neuroemu.cost.rules import CircuitCards, standard_book
from neuroemu.cost.stochastic import DEFAULT_SC_CARDS
from neuroemu.experiments.energy import measure
from neuroemu.nets import LeNet5
from neuroemu.registration import PriceContext
from neuroemu.stochastic import Stochastic
from neuroemu.stochastic.substrate import REGISTRATION


def priced(ledger: Ledger, inferences: int, card_names: dict[str, str] | None = None,
           accumulator_bits: int = 16):
    """The energy report and floorplan the registration gives ``ledger``: nothing but ledger and cards."""
    cards = CircuitCards.load()
    context = PriceContext(ledger=ledger, inferences=inferences, cards=cards,
                           own_cards=REGISTRATION.load_cards((), card_names or {}),
                           accumulator_bits=accumulator_bits)
    book = standard_book(cards, accumulator_bits=accumulator_bits, extra=REGISTRATION.price_rules(context))
    return price(ledger, book, images=inferences), REGISTRATION.floorplan(None, None, context)


RNG_CARDS = "sc-sobol4-unarysim-40nm,sc-sobol10-unarysim-40nm"


@pytest.mark.parametrize(("extra", "names", "accumulator_bits"), [
    ([], {}, 16),
    (["--sng-sharing", "private", "--block", "mux-max-stanh", "--accumulator-bits", "24",
      "--card", f"sc_rng={RNG_CARDS}"], {"sc_rng": RNG_CARDS}, 24),
])
def test_registration_prices_a_recorded_ledger_as_the_energy_command(capsys, data_root, tmp_path, extra,
                                                                     names, accumulator_bits):
    saved = tmp_path / "run.json"
    assert main(["energy", "--model", "lenet5-mnist-tanh", "--substrate", "stochastic", "--length", "24",
                 "--images", "2", "--json", "--save-ledger", str(saved), *extra]) == 0
    command = json.loads(capsys.readouterr().out)
    run = json.loads(saved.read_text())
    report, plan = priced(Ledger.from_list(run["ledger"]), run["inferences"], names, accumulator_bits)
    assert report.per_inference_j == command["energy_per_inference_j"]
    assert report.breakdown_per_inference_j() == command["breakdown_j"]
    assert report.per_layer_per_inference_j() == command["per_layer_j"]
    assert sorted(set(report.cards)) == command["cards"] and list(report.unpriced) == command["unpriced"]
    assert (plan.latency_s, plan.area_m2, plan.area_breakdown_m2) == (
        command["latency_s"], command["area_m2"], command["area_breakdown_m2"])


def test_a_saved_and_reloaded_ledger_prices_the_same_without_any_option():
    model = LeNet5("tanh").eval()
    images = torch.rand(2, 1, 28, 28, generator=torch.Generator().manual_seed(5))
    sc = neuroemu.map(model, Stochastic(length=48, sharing="private"))
    ledger = Ledger()
    with torch.inference_mode(), recording(sc, ledger):
        sc(images)
    reloaded = Ledger.from_list(json.loads(json.dumps(ledger.to_list())))
    assert reloaded == ledger
    report, plan = priced(reloaded, len(images))
    measured = measure("stochastic", model, images, length=48, sharing="private")
    assert report.to_dict() == measured.report.to_dict() and report.unpriced == ()
    assert plan == measured.floorplan and plan.latency_s == pytest.approx(48 / 400e6)


def test_a_ledger_without_the_generator_width_is_refused():
    ledger = Ledger()
    ledger.record("sc_sng_draw", 8, layer="conv1", sng="sobol", operand="input", sharing="shared", length=8)
    with pytest.raises(PricingError, match="'sc_sng_draw' needs an integer attribute 'bits'"):
        priced(ledger, 1)


def test_card_roles_are_the_sc_cards_and_sc_rng_takes_several():
    assert set(REGISTRATION.card_roles) == set(DEFAULT_SC_CARDS)
    cards = REGISTRATION.load_cards((), {"sc_rng": "sc-sobol4-unarysim-40nm,sc-sobol10-unarysim-40nm"})
    assert [c.width for c in cards.rng] == [4, 10]
    assert REGISTRATION.spec is Stochastic and REGISTRATION.name == "stochastic"
