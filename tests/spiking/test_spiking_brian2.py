"""The brian2 backend: the converted network built in brian2 spikes as the torch scan does (zero-delay
order), layer for layer and image for image; brian2's default schedule is another network."""

import pytest
import torch
from torch import nn

import neuroemu
from neuroemu.ledger import Ledger, recording
from neuroemu.nets import load_checkpoint
from neuroemu.specs import SpecError
from neuroemu.spiking import Spiking, calibrate

pytest.importorskip("brian2")

from neuroemu.spiking.brian import run_brian2


def _torch_run(network: nn.Module, images: torch.Tensor) -> tuple[torch.Tensor, Ledger]:
    ledger = Ledger()
    with torch.inference_mode(), recording(network, ledger):
        return network(images), ledger


def _check_same_spikes(network, images: torch.Tensor) -> None:
    logits, ledger = _torch_run(network, images)
    run = run_brian2(network, images, schedule="zero-delay", target="numpy")
    assert torch.equal(run.logits, logits)  # the output potentials, bit for bit
    layers = [op.name for op in network.ops if op.kind == "weight" and not op.output]
    for name in layers:
        per_image = [image.count("spike_route", layer=name) for image in ledger.images]
        assert run.counts[name].sum(1).tolist() == per_image, name
    assert sum(run.counts[layers[0]].sum(1).tolist()) > 0


def test_lenet5_spikes_the_same_in_brian2_in_every_layer():
    network = neuroemu.map(load_checkpoint("lenet5-mnist").build(), Spiking(timesteps=5))
    generator = torch.Generator().manual_seed(3)
    calibrate(network, torch.rand(16, 1, 28, 28, generator=generator))
    _check_same_spikes(network, torch.rand(2, 1, 28, 28, generator=generator))


@pytest.mark.parametrize("reset", ["subtract", "zero"])
def test_any_sequential_network_average_pooling_and_reset_to_zero(reset: str):
    torch.manual_seed(1)
    model = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2), nn.Conv2d(3, 4, 3),
                          nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4, 5), nn.ReLU(),
                          nn.Linear(5, 3))
    network = neuroemu.map(model, Spiking(timesteps=9, reset=reset, input_shape=(2, 8, 8)))
    generator = torch.Generator().manual_seed(4)
    calibrate(network, torch.rand(16, 2, 8, 8, generator=generator))
    _check_same_spikes(network, torch.rand(3, 2, 8, 8, generator=generator))


def test_the_default_schedule_delays_every_layer_by_a_step():
    network = neuroemu.map(load_checkpoint("lenet5-mnist").build(), Spiking(timesteps=4))
    generator = torch.Generator().manual_seed(5)
    calibrate(network, torch.rand(16, 1, 28, 28, generator=generator))
    images = torch.rand(1, 1, 28, 28, generator=generator)
    zero = run_brian2(network, images, schedule="zero-delay", target="numpy")
    delayed = run_brian2(network, images, schedule="delayed", target="numpy")
    # the first layer sees the analog input either way; the next ones see their input a step later
    assert torch.equal(zero.counts["conv1"], delayed.counts["conv1"])
    assert delayed.counts["conv2"].sum() < zero.counts["conv2"].sum()
    with pytest.raises(ValueError, match="schedule must be one of"):
        run_brian2(network, images, schedule="soon")
    with pytest.raises(SpecError, match="Poisson input needs backend 'torch'"):
        Spiking(backend="brian2", encoding="poisson")
