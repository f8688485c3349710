"""Your own network and your own device card: train a small CNN, run it on crossbar arrays of a device
described by a card file (my-rram.toml, next to this script) and as a spiking network, and price both.

What it shows:
  1. Any torch model made of Conv2d / Linear layers maps onto a crossbar, with no neuroemu base class or
     checkpoint format: here a plain ``nn.Sequential``, trained for one short epoch on an MNIST subset
     loaded with ``neuroemu.data.load_tensors``.
  2. A device card given by path (``Crossbar(device="path/to/card.toml")``): the card is read and checked
     like the built-in ones in devices/ (edit my-rram.toml, or copy it, to model your device).
  3. The same model on the spiking substrate (``Spiking``): a plain ``nn.Sequential`` of Conv2d / Linear,
     ReLU, pooling and Flatten converts to integrate-and-fire neurons, its scales calibrated on training
     images.
  4. ``neuroemu.experiments.energy.measure`` prices each run from its ledger and the circuit cards.

What to expect (defaults): the float CNN reaches about 96 % after one epoch on 20 000 images; the
crossbar chips of my-rram (16 levels, read noise, gain spread, stuck cells) lose about a point (95 ± 1 %);
the spiking network at T = 32 matches the float accuracy. Energies: about 1e-7 J per inference on the
crossbar, 4e-5 J on Loihi-like spiking cores (the constant input current injected once per image).

How long: about 6 s on 2 cores with the defaults (training takes 2 s of it).

What to change: the layers in ``build_model`` (keep ReLU activations for the spiking conversion), the card
(``--card``), the converters and array size in ``Crossbar(...)``, ``--timesteps``, ``encoding="poisson"``.

    python examples/own_model_and_card.py [--train-images 20000] [--limit 1000] [--trials 5] [--card my.toml]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from torch import nn

import neuroemu
from neuroemu.cards import load_card
from neuroemu.crossbar import Crossbar, calibrate
from neuroemu.data import load_tensors
from neuroemu.experiments.energy import measure
from neuroemu.spiking import Spiking
from neuroemu.spiking import calibrate as calibrate_spiking

CARD = Path(__file__).with_name("my-rram.toml")


def build_model() -> nn.Sequential:
    """A tiny CNN for 1 x 28 x 28 images: 2 convolutions, 2 poolings, 1 linear layer (about 5 k weights)."""
    return nn.Sequential(
        nn.Conv2d(1, 8, 5), nn.ReLU(), nn.MaxPool2d(2),        # 8 x 12 x 12
        nn.Conv2d(8, 16, 5), nn.ReLU(), nn.MaxPool2d(2),       # 16 x 4 x 4
        nn.Flatten(), nn.Linear(16 * 4 * 4, 10),
    )


def train_one_epoch(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> None:
    optimiser = torch.optim.Adam(model.parameters(), lr=5e-3)
    model.train()
    for batch in torch.randperm(len(images)).split(64):
        optimiser.zero_grad()
        nn.functional.cross_entropy(model(images[batch]), labels[batch]).backward()
        optimiser.step()
    model.eval()


def accuracy_per_chip(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Accuracy per chip of (chips, images, classes) logits, or of the one network of (images, classes)."""
    return (logits.argmax(-1) == labels).double().mean(-1).reshape(-1)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-images", type=int, default=20000, help="MNIST training images (one epoch)")
    parser.add_argument("--limit", type=int, default=1000, help="test images")
    parser.add_argument("--trials", type=int, default=5, help="crossbar chip instances")
    parser.add_argument("--timesteps", type=int, default=32, help="spiking time steps")
    parser.add_argument("--card", default=str(CARD), help="device card: a path (or a built-in name)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    start = time.perf_counter()
    train_x, train_y = load_tensors("mnist", "train", limit=args.train_images)   # pixels in [0, 1]
    test_x, test_y = load_tensors("mnist", "test", limit=args.limit)
    calibration = train_x[:256]                   # converter ranges / neuron scales: training images only
    torch.manual_seed(args.seed)                  # the initial weights and the batch order
    model = build_model()
    train_one_epoch(model, train_x, train_y)
    with torch.inference_mode():
        fp = accuracy_per_chip(model(test_x), test_y).item()
    print(f"float model: {100 * fp:.2f} % on {len(test_x)} test images "
          f"(trained {time.perf_counter() - start:.1f} s on {len(train_x)} images)")

    # Crossbar arrays of your device card: load_card reads and checks the file like a built-in card. Give
    # the spec the Card object (not the path string): pricing then finds the card by what the spec holds.
    spec = Crossbar(device=load_card(args.card), array=(128, 128), dac_bits=8, adc_bits=8, trials=args.trials,
                    seed=args.seed)
    chip = neuroemu.map(model, spec)              # map() leaves `model` itself untouched
    calibrate(chip, calibration)
    with torch.inference_mode():
        per_chip = accuracy_per_chip(chip(test_x), test_y)
    energy = measure("crossbar", model, test_x[:100], spec, calibration=calibration)
    print(f"crossbar ({Path(args.card).stem}, {args.trials} chips): {100 * per_chip.mean():.2f} ± "
          f"{100 * per_chip.std():.2f} %, {energy.report.per_inference_j:.3e} J per inference")

    # The same model as a spiking network (integrate-and-fire, constant input current).
    snn_spec = Spiking(timesteps=args.timesteps, encoding="constant", seed=args.seed)
    snn = neuroemu.map(model, snn_spec)
    calibrate_spiking(snn, calibration)
    with torch.inference_mode():
        snn_accuracy = accuracy_per_chip(snn(test_x), test_y).item()
    energy = measure("spiking", model, test_x[:100], snn_spec, calibration=calibration)
    print(f"spiking (T = {args.timesteps}): {100 * snn_accuracy:.2f} %, "
          f"{energy.report.per_inference_j:.3e} J per inference")
    print(f"total {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
