"""Benchmark: batch-1 training of LeNet-5 on RPU tiles (card rpu-gokmen2016, BL = 10; convolutions as
(k·k·c_in + 1) × c_out arrays, Gokmen et al. 2017) against the same network's plain-torch float batch-1 SGD
loop, in one run.

Both are the project's loop (:class:`neuroemu.rpu.RpuLeNet5`, :class:`neuroemu.rpu.FloatLeNet5`: forward and
backward by hand, the float step checked against autograd in the tests). Each timing is the median of
``--repeats`` warm runs over the first ``--samples`` MNIST training images. Prints seconds, µs per sample,
the ratio RPU / float and the load average.

    python benchmarks/bench_rpu_lenet.py                       # 2000 samples, 1 thread
    python benchmarks/bench_rpu_lenet.py --samples 5000 --threads 2 --repeats 3
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
from neuroemu.rpu import FloatLeNet5, RpuLeNet5, TileConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2000, help="training images per timed run")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per loop (median)")
    parser.add_argument("--bl", type=int, default=10, help="pulse train length (default 10)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    images, labels = load_tensors("mnist", "train", limit=args.samples)
    model = PulsedUpdateModel(load_card("rpu-gokmen2016"))

    def timed(net: FloatLeNet5 | RpuLeNet5) -> float:
        start = time.perf_counter()
        net.train_epoch(images, labels)
        return time.perf_counter() - start

    warm = load_tensors("mnist", "train", limit=50)
    FloatLeNet5(seed=0).train_epoch(*warm)
    RpuLeNet5(model, TileConfig(bl=args.bl), seed=0).train_epoch(*warm)
    fp, rpu = [], []
    for _ in range(args.repeats):  # interleaved, so load changes hit both
        fp.append(timed(FloatLeNet5(seed=0)))
        rpu.append(timed(RpuLeNet5(model, TileConfig(bl=args.bl), seed=0)))
    t_fp, t_rpu = statistics.median(fp), statistics.median(rpu)
    n = len(images)
    print(f"LeNet-5, {n} samples, {args.threads} thread(s), BL {args.bl}, median of {args.repeats}")
    print(f"float batch-1 SGD : {t_fp:8.2f} s  ({1e6 * t_fp / n:7.1f} µs/sample)")
    print(f"RPU pulsed update : {t_rpu:8.2f} s  ({1e6 * t_rpu / n:7.1f} µs/sample)")
    print(f"ratio RPU / float : {t_rpu / t_fp:.2f}")
    print(f"load average      : {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
