"""A Monte Carlo too large for memory runs in chunks of trials with the same results as in one piece."""

from __future__ import annotations

import dataclasses

import pytest
import torch

import neuroemu
from neuroemu.crossbar import Crossbar
from neuroemu.data import load_tensors
from neuroemu.experiments import point as point_module
from neuroemu.experiments.point import held_bytes, make_config, run_point, trial_chunks
from neuroemu.nets import load_model

pytestmark = pytest.mark.usefixtures("data_root")  # they run networks on the test set

SPEC = Crossbar(device="pcm-joshi2020", array=(64, 64), dac_bits=8, adc_bits=8, adc_noise=0.5, trials=7,
                time=86400.0, drift_compensation=True)


def test_a_trial_draws_the_same_chip_whatever_the_others() -> None:
    images, _ = load_tensors("mnist", "test", limit=6)
    calibration, _ = load_tensors("mnist", "train", limit=8)

    def logits(spec: Crossbar) -> torch.Tensor:
        emulated = neuroemu.map(load_model("lenet5-mnist"), spec)
        neuroemu.crossbar.calibrate(emulated, calibration)
        with torch.inference_mode():
            return emulated(images)

    whole = logits(SPEC)
    parts = [logits(dataclasses.replace(SPEC, first_trial=first, trials=n)) for first, n in ((0, 3), (3, 4))]
    assert torch.equal(whole, torch.cat(parts))


def test_chunks_follow_the_memory_a_trial_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    one = held_bytes(neuroemu.map(load_model("lenet5-mnist"), dataclasses.replace(SPEC, trials=1)))
    two = held_bytes(neuroemu.map(load_model("lenet5-mnist"), dataclasses.replace(SPEC, trials=2)))
    per_trial = (two - one) * point_module.PEAK_PER_HELD
    monkeypatch.setattr(point_module, "MIN_TRIALS_TO_CHUNK", 1)
    room = int(3.5 * per_trial / point_module.MEMORY_SHARE)  # three and a half trials' worth
    monkeypatch.setattr(point_module.memory, "available_memory", lambda: room)
    chunks = trial_chunks(SPEC, lambda: load_model("lenet5-mnist"))
    assert [(c.first_trial, c.trials) for c in chunks] == [(0, 3), (3, 3), (6, 1)]
    monkeypatch.setattr(point_module.memory, "available_memory", lambda: 0)
    with pytest.raises(MemoryError, match="one trial needs about"):
        trial_chunks(SPEC, lambda: load_model("lenet5-mnist"))


def test_a_chunked_point_has_the_results_of_a_whole_one(monkeypatch: pytest.MonkeyPatch) -> None:
    config = make_config("crossbar", "lenet5-mnist", SPEC, experiment="chunks", limit=12,
                         calibration_images=8)
    whole = run_point(config)["result"]
    monkeypatch.setattr(point_module, "MIN_TRIALS_TO_CHUNK", 1)
    monkeypatch.setattr(point_module, "trial_chunks", lambda spec, build: [
        dataclasses.replace(spec, first_trial=first, trials=n) for first, n in ((0, 2), (2, 2), (4, 3))])
    chunked = run_point(config)["result"]
    assert chunked["accuracy"] == whole["accuracy"]
    assert chunked["ledger"]["totals"] == whole["ledger"]["totals"]
    assert chunked["energy"]["per_inference_j"] == pytest.approx(whole["energy"]["per_inference_j"], rel=1e-9)
