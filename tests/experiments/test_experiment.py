"""Experiment files: grids expand as products (zip moves lists together), everything is checked before the
first point runs, relative paths are read from the file's folder, and a point runs to the numbers its
substrate gives directly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import neuroemu
from neuroemu.experiments.experiment import ExperimentError, load_experiment, parse_experiment
from neuroemu.experiments.point import run_point
from neuroemu.experiments.runner import run_points
from neuroemu.experiments.store import ResultStore
from neuroemu.nets import accuracy, load_checkpoint

REPO = Path(__file__).resolve().parents[2]


def _parse(**top):
    return parse_experiment({"model": "lenet5-mnist", "limit": 8, **top})


def test_lists_expand_as_a_product_and_zip_moves_lists_together():
    experiment = _parse(substrate=[
        {"name": "crossbar", "device": ["ideal", "pcm-joshi2020"], "time": ["1s", "1d", "1y"],
         "array": "64x64"},
        {"name": "stochastic", "length": [16, 32],
         "zip": {"block": ["apc-max-btanh", "apc-avg-btanh"],
                 "model": ["lenet5-mnist-tanh", "lenet5-mnist-tanh-avg"]}}])
    crossbar = [p for p in experiment.points if p.config["substrate"] == "crossbar"]
    sc = [p for p in experiment.points if p.config["substrate"] == "stochastic"]
    assert len(crossbar) == 6 and len(sc) == 4
    assert {(p.config["spec"]["device"], p.config["spec"]["time"]) for p in crossbar} == {
        (d, t) for d in ("ideal", "pcm-joshi2020") for t in (1.0, 86400.0, 365.25 * 86400)}
    assert all(p.config["spec"]["array"] == [64, 64] for p in crossbar)
    assert {(p.config["spec"]["block"], p.config["model"]) for p in sc} == {
        ("apc-max-btanh", "lenet5-mnist-tanh"), ("apc-avg-btanh", "lenet5-mnist-tanh-avg")}
    assert crossbar[0].axes == {"array": "64x64", "device": "ideal", "time": "1s"}  # fixed fields show too
    assert len({p.hash for p in experiment.points}) == 10


@pytest.mark.parametrize(("block", "message"), [
    ({"name": "quantum"}, "unknown substrate 'quantum'; available substrates: digital"),
    ({"name": "crossbar", "adc_bitz": 8}, "unknown key 'adc_bitz'; known keys: name, model"),
    ({"name": "crossbar", "adc_bits": [8, 30]}, "adc_bits must be None or an integer in 1..24, got 30"),
    ({"name": "crossbar", "array": "256"}, "array must be None or a tuple of 2 integers"),
    ({"name": "crossbar", "device": "no-such-card"}, "no-such-card"),
    ({"name": "stochastic", "zip": {"length": [16, 32], "block": ["apc-max-btanh"]}},
     "one and the same length"),
    ({"name": "digital", "cards": {"adc": "no-such-adc"}}, "no-such-adc"),
    ({"name": "digital", "cards": {"sc_gate": "sc-and2-unarysim-40nm"}}, "unknown card role 'sc_gate'"),
    ({"name": "digital", "model": "no-such-net"}, "unknown model 'no-such-net'"),
    ({"name": "digital", "limit": 0}, "limit must be an integer >= 1"),
])
def test_a_bad_key_or_value_names_the_place_and_the_allowed_values(block, message):
    with pytest.raises(ExperimentError, match="substrate") as info:
        _parse(substrate=[{"name": "digital"}, block])
    assert message in str(info.value) and "#2" in str(info.value)


def test_unknown_top_level_key_and_missing_substrates():
    with pytest.raises(ExperimentError, match="unknown key 'modle'; known keys: name"):
        parse_experiment({"modle": "x", "substrate": [{"name": "digital"}]})
    with pytest.raises(ExperimentError, match="at least one"):
        parse_experiment({"model": "lenet5-mnist"})


def test_relative_paths_are_read_from_the_files_folder(tmp_path, monkeypatch):
    folder = tmp_path / "study"
    folder.mkdir()
    text = (REPO / "devices" / "ideal.toml").read_text().replace('name = "ideal"', 'name = "mine"')
    (folder / "mine.toml").write_text(text)
    (folder / "exp.toml").write_text('model = "lenet5-mnist"\nlimit = 4\n[[substrate]]\nname = "crossbar"\n'
                                     'device = "mine.toml"\n')
    monkeypatch.chdir(tmp_path)  # elsewhere: mine.toml is not in the working directory
    (point,) = load_experiment(folder / "exp.toml").points
    assert point.config["spec"]["device"] == str(folder / "mine.toml")


def test_an_edited_card_makes_a_new_point(tmp_path):
    card = tmp_path / "mine.toml"
    text = (REPO / "devices" / "ideal.toml").read_text().replace('name = "ideal"', 'name = "mine"')
    card.write_text(text)
    block = [{"name": "crossbar", "device": str(card)}]
    before = _parse(substrate=block).points[0]
    card.write_text(text.replace('"250 ns"', '"500 ns"'))
    after = _parse(substrate=block).points[0]
    assert before.config["spec"] == after.config["spec"] and before.hash != after.hash


def test_trials_are_chips_on_a_crossbar_and_repeats_only_where_the_seed_matters():
    points = _parse(trials=3, substrate=[
        {"name": "crossbar"}, {"name": "stochastic", "model": "lenet5-mnist-tanh"}, {"name": "digital"},
        {"name": "spiking", "encoding": ["constant", "poisson"]}]).points
    crossbar, sc, digital, constant, poisson = points
    assert crossbar.config["spec"]["trials"] == 3 and crossbar.config["repeats"] == 1
    assert sc.config["repeats"] == 3
    result = run_point(sc.config)["result"]["accuracy"]
    assert len(result["per_trial"]) == 3
    assert len(run_point(constant.config)["result"]["accuracy"]["per_trial"]) == 1  # constant input: no draw
    assert len(run_point(poisson.config)["result"]["accuracy"]["per_trial"]) == 3
    assert len(run_point(digital.config)["result"]["accuracy"]["per_trial"]) == 1


def test_a_point_gives_what_its_substrate_gives_directly(data_root):
    (point,) = _parse(limit=50, substrate=[{"name": "lowbit", "model": "lenet5-mnist-xnor"}]).points
    result = run_point(point.config)["result"]
    checkpoint = load_checkpoint("lenet5-mnist-xnor")
    from neuroemu.data import load_tensors

    images, labels = load_tensors("mnist", "test", limit=50)
    emulated = neuroemu.map(checkpoint.build(), neuroemu.lowbit.LowBit())
    assert result["accuracy"]["mean"] == accuracy(emulated, images, labels)
    assert result["accuracy"]["fp_accuracy"] == accuracy(checkpoint.build(), images, labels)
    assert result["accuracy"]["n_images"] == 50 and result["energy"]["per_inference_j"] > 0
    assert result["energy"]["inferences"] == 50 and not result["energy"]["unpriced"]


def test_a_study_resumes_and_reruns_only_failed_points(tmp_path, data_root):
    experiment = _parse(limit=4, substrate=[{"name": "digital", "bits": [8, 32]}])
    store = ResultStore(tmp_path / "results.jsonl")
    first = run_points(experiment.points, store)
    assert [r["status"] for r in first] == ["ok", "ok"]
    lines = store.path.read_text().splitlines()
    again = run_points(experiment.points, store)
    assert store.path.read_text().splitlines() == lines and again == first
    broken = json.loads(lines[0])
    broken["status"], broken["result"], broken["error"] = "failed", None, "RuntimeError: test"
    store.path.write_text(json.dumps(broken) + "\n" + lines[1] + "\n")
    assert run_points(experiment.points, store)[0]["status"] == "failed"  # a failed point is kept ...
    assert run_points(experiment.points, store, retry_failed=True)[0]["status"] == "ok"  # ... until retried
    assert len(store.path.read_text().splitlines()) == 3
