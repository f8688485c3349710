"""Energy of a spiking run per image (mean ± CI over images) and the max-pool gate's account."""

import dataclasses
import json
from pathlib import Path

import pytest
import torch

import neuroemu
from neuroemu.cli import main
from neuroemu.cost.pricing import DigitalOps
from neuroemu.cost.rules import CircuitCards
from neuroemu.experiments.energy import measure
from neuroemu.ledger import Ledger, recording
from neuroemu.nets import load_checkpoint
from neuroemu.spiking import Spiking, calibrate


def _images(n: int, seed: int) -> torch.Tensor:
    return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed))


def _run(spec: Spiking, images: torch.Tensor, budget: int | None = None) -> Ledger:
    network = neuroemu.map(load_checkpoint("lenet5-mnist").build(), spec)
    calibrate(network, _images(8, 1))
    if budget is not None:
        network.memory_budget = budget
    ledger = Ledger()
    with torch.inference_mode(), recording(network, ledger):
        network(images)
    return ledger


@pytest.mark.parametrize("encoding", ["constant", "poisson"])
def test_per_image_ledgers_add_up_and_do_not_depend_on_the_chunking(encoding):
    images = _images(5, 2)
    spec = Spiking(timesteps=12, encoding=encoding, maxpool_gate="counted")
    whole = _run(spec, images)
    assert len(whole.images) == 5
    total = Ledger()
    for image in whole.images:
        total.merge(image)
    assert total == whole
    # one image at a time: each image's ledger is the one it had in the batch
    alone = [_run(spec, images[i:i + 1]).images[0] for i in (0, 3)]
    assert alone == [whole.images[0], whole.images[3]]
    # blocks of a few steps (a tiny memory budget): the same ledgers
    assert _run(spec, images, budget=200_000).images == whole.images
    assert len({image.count("spike_route") for image in whole.images}) > 1  # spikes differ per image


def test_energy_per_image_is_priced_by_the_same_rules_and_averages_to_the_total():
    images = _images(6, 3)
    measured = measure("spiking", load_checkpoint("lenet5-mnist").build(), images, calibration=_images(8, 1),
                       timesteps=16)
    energies = measured.per_image_j
    assert energies is not None and len(energies) == 6
    assert sum(energies) / 6 == pytest.approx(measured.report.per_inference_j, rel=1e-12)
    # each image's energy is its own ledger priced alone
    for image, energy in zip(measured.ledger.images, energies, strict=True):
        card = neuroemu.cards.load_card("loihi-davies2018")
        expected = image.count("synaptic_op") * card.energy_per_synaptic_op
        expected += image.count("neuron_update", active=True) * card.energy_per_neuron_update
        expected += image.count("neuron_update", active=False) * card.energy_per_idle_neuron_update
        expected += image.count("spike_route") * (card.energy_per_spike + card.energy_per_hop)
        assert energy == pytest.approx(expected, rel=1e-12)
    assert max(energies) > min(energies)


def test_the_max_pool_gate_is_counted_and_priced_or_listed_as_not_counted():
    images, timesteps = _images(3, 4), 10
    model, calibration = load_checkpoint("lenet5-mnist").build(), _images(8, 1)
    off = measure("spiking", model, images, calibration=calibration, timesteps=timesteps)
    assert [item["layers"] for item in off.not_counted] == [["pool1", "pool2"]]
    assert "maxpool_gate" not in off.ledger.events() and "maxpool_gate" not in off.report.breakdown_j
    on = measure("spiking", model, images, calibration=calibration, timesteps=timesteps,
                 maxpool_gate="counted")
    assert on.not_counted == ()
    # one gate evaluation per pooled output per step: LeNet-5's pools give 6·14·14 and 16·5·5 outputs
    assert on.ledger.count("maxpool_gate", layer="pool1") == 3 * timesteps * 6 * 14 * 14
    assert on.ledger.count("maxpool_gate", layer="pool2") == 3 * timesteps * 16 * 5 * 5
    # one counter increment per spike entering the pool: the spikes of the layer before it
    assert on.ledger.count("maxpool_count", layer="pool1") == on.ledger.count("spike_route", layer="conv1")
    bits = timesteps.bit_length()
    add = DigitalOps(CircuitCards.load().digital).energy("add", bits).energy_j
    gates = on.ledger.count("maxpool_gate") * 3 * add + on.ledger.count("maxpool_count") * add
    assert on.report.breakdown_j["maxpool_gate"] == pytest.approx(gates, rel=1e-12)
    # everything else is the same run
    assert on.report.total_j - gates == pytest.approx(off.report.total_j, rel=1e-12)
    assert dataclasses.replace(on.spec, maxpool_gate="uncounted") == off.spec


def test_energy_command_reports_the_spread_over_images(data_root: Path, capsys: pytest.CaptureFixture):
    args = ["energy", "--model", "lenet5-mnist", "--substrate", "spiking", "--timesteps", "8",
            "--images", "6", "--calibration-images", "16"]
    assert main([*args, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    spread = result["energy_per_image"]
    assert spread["images"] == 6 and spread["mean_j"] == pytest.approx(result["energy_per_inference_j"])
    assert spread["min_j"] < spread["ci95_j"][0] < spread["mean_j"] < spread["ci95_j"][1] < spread["max_j"]
    assert result["not_counted"][0]["what"] == "max-pool spike gate"
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "95 % CI over 6 inferences" in text and "not counted: max-pool spike gate" in text
