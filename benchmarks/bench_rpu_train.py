"""Benchmark: one batch-1 epoch trained in memory with stochastic pulsed updates (RPU, card rpu-gokmen2016,
BL = 10) against plain-torch float batch-1 SGD of the same network, in one run: the 784-256-128-10 network
of Gokmen & Vlasov 2016 (``--network mlp``) or LeNet-5 with its convolutions as arrays (``--network
lenet5``, tanh and max pooling, Gokmen et al. 2017).

Two float baselines, measured in the same run: the plain-torch loop a user writes (the network as an
``nn.Module``, ``nn.CrossEntropyLoss``, autograd, ``torch.optim.SGD``, one sample per step: issue 13's
baseline, "≈ 25 s" an MLP epoch there) and the project's hand-written float loop
(:class:`neuroemu.rpu.FloatMlp` or :class:`neuroemu.rpu.FloatLeNet5`: forward, backward and update by hand, a
stricter reference for the MLP).
Each timing is the median of ``--repeats`` warm runs over the first ``--samples`` MNIST training images (an
epoch is 60000; the time per sample does not depend on N beyond warm-up), interleaved so that load changes
hit all three. Prints seconds, µs per sample, the ratios RPU / float (issue 13's goal: ≤ 1.5 against the
plain-torch loop, for the MLP) and the load average.

    python benchmarks/bench_rpu_train.py                              # MLP, 60000 samples, 1 thread
    python benchmarks/bench_rpu_train.py --samples 10000 --threads 2 --repeats 5
    python benchmarks/bench_rpu_train.py --network lenet5 --samples 1000
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import torch
from torch import nn

from neuroemu.cards import load_card
from neuroemu.data.loaders import load_tensors
from neuroemu.devices.updates import PulsedUpdateModel
from neuroemu.nets.lenet import LeNet5
from neuroemu.rpu import FloatLeNet5, FloatMlp, RpuLeNet5, RpuMlp, TileConfig


def _plain_module(network: str) -> nn.Module:
    if network == "lenet5":
        return LeNet5(activation="tanh", pooling="max")
    return nn.Sequential(nn.Linear(784, 256), nn.Sigmoid(), nn.Linear(256, 128), nn.Sigmoid(),
                         nn.Linear(128, 10))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", choices=("mlp", "lenet5"), default="mlp")
    parser.add_argument("--samples", type=int, default=60000, help="training images per timed run")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per loop (median)")
    parser.add_argument("--bl", type=int, default=10, help="pulse train length (default 10)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    images, labels = load_tensors("mnist", "train", limit=args.samples)
    model = PulsedUpdateModel(load_card("rpu-gokmen2016"))
    lenet = args.network == "lenet5"

    def plain_torch(images: torch.Tensor, labels: torch.Tensor) -> None:
        torch.manual_seed(0)
        net = _plain_module(args.network)
        optimizer = torch.optim.SGD(net.parameters(), lr=0.01)
        loss_fn = nn.CrossEntropyLoss()
        inputs = images.float() if lenet else images.reshape(len(images), -1).float()
        for i in range(len(inputs)):
            optimizer.zero_grad()
            loss_fn(net(inputs[i:i + 1]), labels[i:i + 1]).backward()
            optimizer.step()

    def by_hand(images: torch.Tensor, labels: torch.Tensor) -> None:
        (FloatLeNet5(seed=0) if lenet else FloatMlp(seed=0)).train_epoch(images, labels)

    def rpu(images: torch.Tensor, labels: torch.Tensor) -> None:
        config = TileConfig(bl=args.bl)
        net = RpuLeNet5(model, config, seed=0) if lenet else RpuMlp(model, config, seed=0)
        net.train_epoch(images, labels)

    loops: dict[str, Callable[[torch.Tensor, torch.Tensor], None]] = {
        "plain torch (autograd)": plain_torch, "float by hand": by_hand, "RPU pulsed update": rpu}
    warm = load_tensors("mnist", "train", limit=50 if lenet else 200)
    times: dict[str, list[float]] = {}
    for name, loop in loops.items():
        loop(*warm)
        times[name] = []
    for _ in range(args.repeats):
        for name, loop in loops.items():
            start = time.perf_counter()
            loop(images, labels)
            times[name].append(time.perf_counter() - start)
    median = {name: statistics.median(t) for name, t in times.items()}
    n = len(images)
    print(f"{args.network}, {n} samples, {args.threads} thread(s), BL {args.bl}, median of {args.repeats}")
    for name, t in median.items():
        print(f"{name:24s}: {t:8.2f} s  ({1e6 * t / n:8.1f} µs/sample)")
    t_rpu = median["RPU pulsed update"]
    print(f"ratio RPU / plain torch : {t_rpu / median['plain torch (autograd)']:.2f}"
          + ("   (goal <= 1.5)" if not lenet else ""))
    print(f"ratio RPU / float by hand: {t_rpu / median['float by hand']:.2f}")
    print(f"load average            : {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
