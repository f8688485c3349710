"""Training energy: reads priced as DAC + ADC conversions from the cards, a saved training ledger priced
again by ``neuroemu energy --from-ledger`` exactly as ``rpu-train`` priced it, and bad files refused."""

from __future__ import annotations

import json

import pytest

from neuroemu.cards import load_card
from neuroemu.cli import main
from neuroemu.cost.pricing import walden_energy
from neuroemu.cost.rpu_training import price_rpu_training
from neuroemu.cost.rules import CircuitCards
from neuroemu.experiments.training_energy import _ledger_digest
from neuroemu.ledger import Ledger

CARD = load_card("rpu-gokmen2016")


def test_reads_cost_their_dac_and_adc_conversions_from_the_cards():
    cards = CircuitCards.load()
    ledger = Ledger()
    ledger.record("rpu_forward_read", 7, layer="fc1", array="w", rows=785, cols=256, dac_bits=6, adc_bits=5)
    ledger.record("rpu_backward_read", 3, layer="fc2", array="w", rows=257, cols=128, dac_bits=6, adc_bits=5)
    ledger.record("rpu_coincidence", 1000, layer="fc1", array="w", polarity="up")
    got = price_rpu_training(ledger, CARD, samples=7, cards=cards)
    dac = 6 * cards.dac.energy_per_conversion  # a 1-bit card: 6 bit-serial conversions
    adc = walden_energy(cards.adc, 5).energy_j + cards.sample_hold.energy_per_operation
    forward = 7 * (785 * dac + 256 * adc)
    backward = 3 * (128 * dac + 257 * adc)  # δ enters on the 128 columns, the 257 rows are converted
    assert got["priced"]["rpu_forward_read"] == pytest.approx(forward, rel=1e-12)
    assert got["priced"]["rpu_backward_read"] == pytest.approx(backward, rel=1e-12)
    pulses = 1000 * CARD.pulse_energy
    assert got["energy_j"] == pytest.approx(pulses)  # the update pulses alone, as before
    assert got["priced_j"] == pytest.approx(forward + backward + pulses)
    assert got["priced_per_sample_j"] == pytest.approx((forward + backward + pulses) / 7)
    assert got["unpriced"] == {}
    assert set(got["cards"]) == {CARD.name, cards.adc.name, cards.dac.name, cards.sample_hold.name}


def test_reads_without_converter_widths_stay_unpriced_with_the_reason():
    ledger = Ledger()
    ledger.record("rpu_forward_read", 2, layer="fc1", array="w", rows=5, cols=4, adc_bits=8)
    got = price_rpu_training(ledger, CARD, samples=2)
    assert "--dac-bits" in got["unpriced"]["rpu_forward_read"]
    line = got["lines"][0]
    assert line["unpriced"] and set(line["components"]) == {"adc", "sample_hold"}  # the ADC side priced
    column = CircuitCards.load(adc="adc-sar-neurosim-22nm-lp")
    got = price_rpu_training(ledger, CARD, samples=2, cards=column)
    assert "column conductance" in got["unpriced"]["rpu_forward_read"]


def test_pcm_refreshes_are_bookkeeping_and_their_pulses_unpriced_without_card_energies():
    card = load_card("pcm-pair-nandakumar2020")
    ledger = Ledger()
    ledger.record("rpu_refresh", 5, layer="fc1", array="w")
    ledger.record("rpu_refresh_pulse", 10, layer="fc1", array="w", kind="reset")
    got = price_rpu_training(ledger, card, samples=3)
    assert set(got["unpriced"]) == {"rpu_refresh_pulse"}
    assert "no energy" in got["unpriced"]["rpu_refresh_pulse"]
    assert got["lines"][0]["event"] == "rpu_refresh" and got["lines"][0]["energy_j"] == 0.0
    assert got["energy_j"] is None and got["priced_j"] == 0.0


def _train(capsys, tmp_path, device: str, *extra: str) -> tuple[dict, object]:
    saved = tmp_path / f"{device}.json"
    argv = ["rpu-train", "--device", device, "--epochs", "1", "--train-limit", "60", "--test-limit", "20",
            "--no-fp", "--json", "--save-ledger", str(saved), *extra]
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out), saved


@pytest.mark.parametrize("device", ["rpu-gokmen2016", "rram-agsi-neurosim", "pcm-pair-nandakumar2020"])
def test_energy_from_a_saved_training_ledger_is_the_energy_rpu_train_printed(capsys, tmp_path, device):
    run, saved = _train(capsys, tmp_path, device, "--dac-bits", "8", "--adc-bits", "8")
    assert main(["energy", "--from-ledger", str(saved), "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    energy = run["energy"]
    assert got["kind"] == "rpu-training" and got["device"] == device and got["samples"] == 60
    for key in ("energy_j", "energy_per_sample_j", "priced_j", "priced_per_sample_j", "lines", "priced",
                "unpriced", "cards"):
        assert got[key] == energy[key], key
    assert sum(got["breakdown_j"].values()) == pytest.approx(got["priced_j"])
    assert got["priced_j"] > 0 and "rpu_pulse" in got["unpriced"]
    if device == "pcm-pair-nandakumar2020":  # the card gives no SET energy
        assert got["energy_j"] is None and "rpu_coincidence" in got["unpriced"]
    else:
        assert got["energy_per_sample_j"] > 0
    assert main(["energy", "--from-ledger", str(saved)]) == 0
    table = capsys.readouterr().out
    assert "J / sample" in table and "unpriced: rpu_pulse" in table


def test_tiki_taka_reads_both_arrays_and_counts_its_transfer_reads(capsys, tmp_path):
    run, _ = _train(capsys, tmp_path, "rpu-gokmen2016", "--optimizer", "tiki-taka", "--tt-every", "7")
    reads = {(e["event"], e["layer"], e["attrs"]["array"]): e["count"] for e in run["ledger"]
             if e["event"].endswith("_read")}
    assert reads[("rpu_forward_read", "fc1", "a")] == reads[("rpu_forward_read", "fc1", "c")] == 60
    assert reads[("rpu_transfer_read", "fc3", "a")] == 60 // 7
    assert ("rpu_backward_read", "fc1", "a") not in reads and reads[("rpu_backward_read", "fc2", "c")] == 60


def _rewrite(path, change) -> None:
    saved = json.loads(path.read_text())
    change(saved)
    path.write_text(json.dumps(saved))


def _redigest(saved: dict) -> None:
    saved["ledger_sha256"] = _ledger_digest(saved["ledger"], saved["samples"], saved["device"])


def _bump_count(saved: dict) -> None:
    saved["ledger"][0]["count"] += 1


def _bump_and_redigest(saved: dict) -> None:
    read = next(e for e in saved["ledger"] if e["event"] == "rpu_forward_read")
    read["count"] += 1
    _redigest(saved)


def _rename_device(saved: dict) -> None:
    saved["device"] = "my-own-rpu"
    _redigest(saved)


@pytest.mark.parametrize("change, fragment", [
    (_bump_count, "edited"),
    (_bump_and_redigest, "inconsistent"),
    (_rename_device, "cannot be loaded"),
    (lambda s: s.update(card_sha256="0" * 64), "differs from the one found now"),
    (lambda s: s.update(format="neuroemu-rpu-training/0"), "format"),
    (lambda s: s.update(samples=0), "samples"),
    (lambda s: s.pop("ledger"), "'ledger'"),
    (lambda s: s["overrides"].update(nonsense=1), "nonsense"),
])
def test_bad_training_ledgers_are_refused(capsys, tmp_path, change, fragment):
    _, saved = _train(capsys, tmp_path, "rpu-gokmen2016")
    _rewrite(saved, change)
    assert main(["energy", "--from-ledger", str(saved), "--json"]) == 2
    err = capsys.readouterr().err
    assert fragment in err and str(saved) in err


def test_a_ledger_of_another_kind_and_bad_cards_are_refused(capsys, tmp_path):
    _, saved = _train(capsys, tmp_path, "rpu-gokmen2016", "--up-down", "0.05")
    assert main(["energy", "--from-ledger", str(saved), "--json"]) == 0  # overrides re-applied: same card
    capsys.readouterr()
    assert main(["energy", "--from-ledger", str(saved), "--card", "cell=x"]) == 2
    assert "adc, dac, sample_hold" in capsys.readouterr().err
    other = tmp_path / "results.json"
    other.write_text(json.dumps({"format": "neuroemu-energy-run/3", "substrate": "crossbar"}))
    assert main(["energy", "--from-ledger", str(other)]) == 2
    assert "damaged" in capsys.readouterr().err
