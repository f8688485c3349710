"""Benchmark: one batch-1 epoch of the 784-256-128-10 network trained with stochastic pulsed updates (RPU,
card rpu-gokmen2016, BL = 10) against a plain-torch float batch-1 SGD epoch of the same network, in one run.

Two float baselines, measured in the same run: the plain-torch loop a user writes (``nn.Sequential`` of
``nn.Linear`` / ``nn.Sigmoid``, ``nn.CrossEntropyLoss``, autograd, ``torch.optim.SGD``, one sample per step:
issue 13's baseline, "≈ 25 s" an epoch there) and the project's hand-written float loop
(:class:`neuroemu.rpu.FloatMlp`: forward, backward and a rank-1 update by hand, about half the cost, a
stricter reference). Each timing is the median of ``--repeats`` warm runs over the first ``--samples`` MNIST
training images (an epoch is 60000; the time per sample does not depend on N beyond warm-up). Prints seconds,
µs per sample, the ratios RPU / float (issue 13's goal: ≤ 1.5 against the plain-torch loop) and the load
average.

    python benchmarks/bench_rpu_mlp.py                        # 60000 samples, 1 thread
    python benchmarks/bench_rpu_mlp.py --samples 5000 --threads 2 --repeats 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

from neuroemu.cards import load_card
from neuroemu.data.loaders import load_tensors
from neuroemu.devices.updates import PulsedUpdateModel
from neuroemu.rpu import FloatMlp, RpuMlp, TileConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=60000, help="training images per timed run")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per loop (median)")
    parser.add_argument("--bl", type=int, default=10, help="pulse train length (default 10)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    images, labels = load_tensors("mnist", "train", limit=args.samples)
    card = load_card("rpu-gokmen2016")

    def torch_run(images: torch.Tensor = images, labels: torch.Tensor = labels) -> float:
        torch.manual_seed(0)
        net = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.Sigmoid(), torch.nn.Linear(256, 128),
                                  torch.nn.Sigmoid(), torch.nn.Linear(128, 10))
        optimizer = torch.optim.SGD(net.parameters(), lr=0.01)
        loss_fn = torch.nn.CrossEntropyLoss()
        flat = images.reshape(len(images), -1).float()
        start = time.perf_counter()
        for i in range(len(flat)):
            optimizer.zero_grad()
            loss_fn(net(flat[i:i + 1]), labels[i:i + 1]).backward()
            optimizer.step()
        return time.perf_counter() - start

    def float_run() -> float:
        net = FloatMlp(seed=0)
        start = time.perf_counter()
        net.train_epoch(images, labels)
        return time.perf_counter() - start

    def rpu_run() -> float:
        net = RpuMlp(PulsedUpdateModel(card), TileConfig(bl=args.bl), seed=0)
        start = time.perf_counter()
        net.train_epoch(images, labels)
        return time.perf_counter() - start

    warm = load_tensors("mnist", "train", limit=200)
    FloatMlp(seed=0).train_epoch(*warm)
    torch_run(*warm)
    RpuMlp(PulsedUpdateModel(card), TileConfig(bl=args.bl), seed=0).train_epoch(*warm)
    plain, fp, rpu = [], [], []
    for _ in range(args.repeats):  # interleaved, so load changes hit all three
        plain.append(torch_run())
        fp.append(float_run())
        rpu.append(rpu_run())
    t_plain, t_fp, t_rpu = statistics.median(plain), statistics.median(fp), statistics.median(rpu)
    n = len(images)
    print(f"{n} samples, {args.threads} thread(s), BL {args.bl}, median of {args.repeats}")
    print(f"plain torch (autograd) : {t_plain:8.2f} s  ({1e6 * t_plain / n:7.1f} µs/sample)")
    print(f"float by hand          : {t_fp:8.2f} s  ({1e6 * t_fp / n:7.1f} µs/sample)")
    print(f"RPU pulsed update      : {t_rpu:8.2f} s  ({1e6 * t_rpu / n:7.1f} µs/sample)")
    print(f"ratio RPU / plain torch: {t_rpu / t_plain:.2f}   (goal <= 1.5)")
    print(f"ratio RPU / float by hand: {t_rpu / t_fp:.2f}")
    print(f"load average      : {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
