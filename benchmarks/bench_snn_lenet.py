"""Benchmark: rate-coded spiking LeNet-5 (IF neurons) on MNIST test images.

Workload: the shipped ``lenet5-mnist`` converted with ``Spiking(timesteps=T, encoding=...)``, calibrated on
256 training images, run over the first ``--images`` test images; baseline: the plain float forward over
the same images, in the same run. A spiking forward is T time steps, each a float64 pass with event
counting, so the ratio to report is per time step: (spiking time / T) / float time. Prints images/s, the
ratio, synaptic operations per second, the accuracy and the load average; times are medians of
``--repeats`` runs with ``torch.set_num_threads(--threads)``.

    python benchmarks/bench_snn_lenet.py                        # T = 64, constant input, 1000 images
    python benchmarks/bench_snn_lenet.py --encoding poisson --timesteps 16
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

import neuroemu
from neuroemu.data import load_tensors
from neuroemu.ledger import Ledger
from neuroemu.nets import load_checkpoint
from neuroemu.nets.accuracy import accuracy
from neuroemu.spiking import Spiking, calibrate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timesteps", type=int, default=64)
    parser.add_argument("--encoding", default="constant")
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    checkpoint = load_checkpoint("lenet5-mnist")
    model = checkpoint.build()
    images, labels = load_tensors(checkpoint.dataset, "test", normalize="unit", limit=args.images)
    calibration, _ = load_tensors(checkpoint.dataset, "train", normalize="unit", limit=256)
    network = neuroemu.map(model, Spiking(timesteps=args.timesteps, encoding=args.encoding))
    calibrate(network, calibration)
    load_before = os.getloadavg()

    snn_times, fp_times, acc = [], [], 0.0
    for _ in range(args.repeats):
        network.ledger = Ledger()
        start = time.perf_counter()
        acc = accuracy(network, images, labels, batch_size=500)
        snn_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        accuracy(model, images, labels, batch_size=500)
        fp_times.append(time.perf_counter() - start)
    snn_s, fp_s = statistics.median(snn_times), statistics.median(fp_times)
    synops = network.ledger.count("synaptic_op")
    n, steps = len(images), args.timesteps
    print(f"spiking LeNet-5: T = {steps}, {args.encoding} input, {n} images, {args.threads} threads, "
          f"{args.repeats} repeats (median)")
    print(f"  spiking forward: {snn_s:.2f} s = {n / snn_s:.1f} images/s, "
          f"{synops / snn_s / 1e9:.2f} G synaptic ops/s ({synops / n:.3g} per image)")
    print(f"  float forward:   {fp_s:.3f} s; per time step the spiking network costs "
          f"{snn_s / steps / fp_s:.1f}x a float forward ({snn_s / fp_s:.0f}x in all)")
    print(f"  accuracy: {acc:.4f}")
    print(f"  load average before/after: {load_before[0]:.2f} / {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
