"""Benchmark: one batch-1 epoch of the 784-256-128-10 network trained with stochastic pulsed updates (RPU,
card rpu-gokmen2016, BL = 10) against a plain-torch float batch-1 SGD epoch of the same network, in one run.

Both loops are the project's (:class:`neuroemu.rpu.RpuMlp`, :class:`neuroemu.rpu.FloatMlp`: forward and
backward by hand, no autograd; the float loop is what a plain-torch batch-1 SGD loop costs). Each timing is
the median of ``--repeats`` warm runs over the first ``--samples`` MNIST training images (an epoch is 60000;
the time per sample does not depend on N beyond warm-up). Prints seconds, µs per sample, the ratio
RPU / float (issue 13's goal: ≤ 1.5) and the load average.

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
    RpuMlp(PulsedUpdateModel(card), TileConfig(bl=args.bl), seed=0).train_epoch(*warm)
    fp, rpu = [], []
    for _ in range(args.repeats):  # interleaved, so load changes hit both
        fp.append(float_run())
        rpu.append(rpu_run())
    t_fp, t_rpu = statistics.median(fp), statistics.median(rpu)
    n = len(images)
    print(f"{n} samples, {args.threads} thread(s), BL {args.bl}, median of {args.repeats}")
    print(f"float batch-1 SGD : {t_fp:8.2f} s  ({1e6 * t_fp / n:7.1f} µs/sample)")
    print(f"RPU pulsed update : {t_rpu:8.2f} s  ({1e6 * t_rpu / n:7.1f} µs/sample)")
    print(f"ratio RPU / float : {t_rpu / t_fp:.2f}   (goal <= 1.5)")
    print(f"load average      : {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
