"""Spiking on crossbar synapses (RESPARC): the crossbar's physics under the spiking scan, and its events."""

import json
from pathlib import Path

import pytest
import torch
from torch import nn

import neuroemu
from neuroemu.cli import main
from neuroemu.crossbar import crossbar_layers
from neuroemu.experiments.experiment import parse_experiment
from neuroemu.ledger import Ledger, recording
from neuroemu.nets import load_checkpoint
from neuroemu.resparc import Resparc, ResparcNetwork, calibrate
from neuroemu.specs import SpecError
from neuroemu.spiking import Spiking, SpikingNetwork


def _images(n: int, seed: int, shape: tuple[int, ...] = (1, 28, 28)) -> torch.Tensor:
    return torch.rand(n, *shape, generator=torch.Generator().manual_seed(seed))


def _run(network: nn.Module, images: torch.Tensor) -> tuple[torch.Tensor, Ledger]:
    ledger = Ledger()
    with torch.inference_mode(), recording(network, ledger):
        return network(images), ledger


def _lenet(spec: Spiking) -> SpikingNetwork:
    network = neuroemu.map(load_checkpoint("lenet5-mnist").build(), spec)
    calibrate(network, _images(8, 1))
    return network


def test_without_a_device_the_spec_is_the_digital_spiking_network():
    network = neuroemu.map(load_checkpoint("lenet5-mnist").build(), Resparc(timesteps=4))
    assert type(network) is SpikingNetwork
    with pytest.raises(SpecError, match=r"Resparc\.trials describes crossbar synapses and needs a device"):
        Resparc(trials=3)


def test_an_ideal_crossbar_without_converters_spikes_as_the_digital_synapses():
    """Exact conductances, no converters: only float32 rounding separates the crossbar's currents from the
    digital sums, so (almost) every spike and every class is the same."""
    images = _images(6, 2)
    digital, d_ledger = _run(_lenet(Spiking(timesteps=12)), images)
    crossbar = _lenet(Resparc(timesteps=12, device="ideal"))
    assert isinstance(crossbar, ResparcNetwork)
    logits, ledger = _run(crossbar, images)
    assert torch.equal(logits.argmax(-1), digital.argmax(-1))
    same = ((logits - digital).abs().amax(1) < 1e-4).sum()  # images on which no spike changed
    assert same >= 4 and (logits - digital).abs().max() < 0.2
    for layer in ("conv1", "conv2", "fc1", "fc2"):
        ours, theirs = ledger.count("spike_route", layer=layer), d_ledger.count("spike_route", layer=layer)
        assert abs(ours - theirs) <= 1e-3 * theirs
    # the crossbar's events replace the core's synaptic operations; neurons stay on the core
    assert ledger.count("synaptic_op") == 0 and ledger.count("cell_read") > 0
    assert ledger.count("neuron_update") == d_ledger.count("neuron_update")


def test_events_are_counted_per_spike_that_drives_a_row():
    """A two-layer linear network on 4×3 arrays: every spike drives its row in each column tile; an array
    is activated only in row tiles that received a spike."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(10, 7), nn.ReLU(), nn.Linear(7, 3))
    spec = Resparc(timesteps=6, device="ideal", array=(4, 3), adc_bits=6, input_shape=(1, 2, 5))
    network = neuroemu.map(model, spec)
    calibrate(network, _images(16, 3, (1, 2, 5)))
    images = _images(5, 4, (1, 2, 5))
    hidden = network.synapses.layers[1]  # fc 7 → 3 on arrays of 4 rows: row tiles [0, 4), [4, 7)
    assert hidden.tiling.row_tiles == [(0, 4), (4, 7)] and len(hidden.tiling.col_tiles) == 1
    seen: list[torch.Tensor] = []  # the spikes the hidden layer's crossbar is driven with
    hook = hidden.register_forward_hook(lambda _m, args, _out: seen.append(args[0].clone()))
    _, ledger = _run(network, images)
    hook.remove()
    spikes = torch.cat(seen)  # (steps · images, 7)
    name = "3"
    drives = ledger.count("dac_conversion", layer=name, bits=1)
    assert drives == int(spikes.sum()) > 0
    activations = ledger.count("crossbar_mvm", layer=name)
    assert activations == int((spikes[:, :4].sum(1) > 0).sum() + (spikes[:, 4:].sum(1) > 0).sum())
    assert ledger.count("adc_conversion", layer=name) == activations * 3  # 3 columns per activation
    assert ledger.count("cell_read", layer=name) == drives * hidden.devices // hidden.in_features
    # per image ledgers add up to the whole
    total = Ledger()
    for image in ledger.images:
        total.merge(image)
    assert total == ledger and len(ledger.images) == 5


def test_trials_are_chips_that_drift_apart_and_repeat_with_the_seed():
    images = _images(3, 5)
    spec = Resparc(timesteps=6, device="pcm-joshi2020", trials=3, time=86400.0, drift_compensation=True,
                   seed=4)
    network = _lenet(spec)
    first, ledger = _run(network, images)
    assert first.shape == (3, 3, 10) and len(ledger.images) == 9
    assert not torch.equal(first[0], first[1])  # each chip its own devices
    again, _ = _run(_lenet(spec), images)
    assert torch.equal(first, again)
    # one image at a time: the same chips, the same outputs (to float32 rounding of the crossbar's sums)
    alone = torch.cat([network(images[i:i + 1]) for i in range(3)], 1)
    assert torch.allclose(alone, first, rtol=0, atol=1e-5)
    # the chips are the crossbar package's layers, named as the model's
    layers = crossbar_layers(network.synapses.model)
    assert [layer.name for layer in layers] == ["conv1", "conv2", "fc1", "fc2", "fc3"]


def test_snn_sweep_on_crossbar_synapses(data_root: Path, capsys: pytest.CaptureFixture):
    assert main(["snn-sweep", "--device", "pcm-joshi2020", "--trials", "2", "--time", "1s,1d", "--timesteps",
                 "4", "--limit", "6", "--calibration-images", "16", "--drift-compensation", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["device"] == "pcm-joshi2020" and result["trials"] == 2
    assert [p["time_s"] for p in result["points"]] == [1.0, 86400.0]
    for point in result["points"]:
        assert len(point["per_trial"]) == 2
        low, high = point["accuracy_ci95"]
        assert low <= point["accuracy"] <= high
        assert point["ledger"]["totals"]["cell_read"] > 0


def test_energy_on_crossbar_synapses_prices_the_device_and_converters(data_root: Path,
                                                                     capsys: pytest.CaptureFixture):
    assert main(["energy", "--model", "lenet5-mnist", "--substrate", "spiking", "--device", "rram-wan2022",
                 "--adc-bits", "8", "--timesteps", "4", "--images", "3", "--calibration-images", "16",
                 "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert {"cell_read", "adc", "neuron", "routing"} <= set(result["breakdown_j"])
    assert "synapse" not in result["breakdown_j"] and result["unpriced"] == []
    assert "rram-wan2022" in result["cards"] and result["programming_j"] > 0
    assert result["energy_per_image"]["images"] == 3
    assert main(["energy", "--model", "lenet5-mnist", "--substrate", "spiking", "--trials", "2"]) == 2
    assert "needs a device" in capsys.readouterr().err


def test_experiment_file_trials_are_chips_only_on_crossbar_synapses():
    experiment = parse_experiment({"model": "lenet5-mnist", "limit": 4, "trials": 3, "substrate": [
        {"name": "spiking", "encoding": "poisson", "timesteps": 4},
        {"name": "spiking", "timesteps": 4, "device": "pcm-joshi2020", "time": "1d"}]})
    digital, crossbar = (point.config for point in experiment.points)
    assert digital["repeats"] == 3 and digital["spec"]["trials"] == 1  # runs with seeds seed, seed + 1, ...
    assert crossbar["repeats"] == 1 and crossbar["spec"]["trials"] == 3  # three chips
    assert crossbar["spec"]["time"] == 86400.0
