"""Benchmark: bit-exact stochastic-computing LeNet-5 (SC-DCNN blocks) on MNIST test images.

Workload (issue 4): the shipped tanh LeNet-5 mapped with ``Stochastic(length=L, block=..., sng=...)`` in
bit-exact mode, run over the first ``--images`` test images; baseline: the plain float forward over the same
images, in the same run. Prints images/s, bit-operations/s (XNOR product terms × L per second, the
issue's measure), the projected time for the whole 10,000-image test set (goal: ≤ 10 min at L = 1024 on
2 cores), the accuracy, and the load average; times are medians of ``--repeats`` runs with
``torch.set_num_threads(--threads)`` (with more than one thread, chunks of images run on that many worker
threads). Mapping (stream generation) is timed separately: it happens once.

    python benchmarks/bench_sc_lenet.py                               # L = 1024, 256 images, 3 repeats
    python benchmarks/bench_sc_lenet.py --threads 1 --images 128      # on a busy shared machine
    python benchmarks/bench_sc_lenet.py --images 10000 --repeats 1    # the whole test set once
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

import neuroemu
from neuroemu.data import load_tensors
from neuroemu.nets import load_checkpoint
from neuroemu.nets.accuracy import accuracy
from neuroemu.stochastic import Stochastic


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--length", type=int, default=1024)
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--block", default="apc-max-btanh")
    parser.add_argument("--sng", default="sobol")
    parser.add_argument("--model", default="lenet5-mnist-tanh")
    parser.add_argument("--mux-select", default="uniform", help="MUX blocks: uniform or weighted")
    parser.add_argument("--counter", default="exact", help="APC blocks: exact or approximate")
    parser.add_argument("--cycle-budget", type=int, default=Stochastic.cycle_budget,
                        help="images × cycles clocked at once (default: the spec's)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    checkpoint = load_checkpoint(args.model)
    model = checkpoint.build()
    images, labels = load_tensors(checkpoint.dataset, "test", normalize="unit", limit=args.images)
    load_before = os.getloadavg()

    start = time.perf_counter()
    spec = Stochastic(length=args.length, block=args.block, sng=args.sng, cycle_budget=args.cycle_budget,
                      mux_select=args.mux_select, counter=args.counter)
    sc_model = neuroemu.map(model, spec)
    map_s = time.perf_counter() - start

    sc_times, fp_times, acc = [], [], 0.0
    for _ in range(args.repeats):
        start = time.perf_counter()
        acc = accuracy(sc_model, images, labels, batch_size=1000)
        sc_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        accuracy(model, images, labels, batch_size=1000)
        fp_times.append(time.perf_counter() - start)
    sc_s, fp_s = statistics.median(sc_times), statistics.median(fp_times)
    xnor = sc_model.ledger.count("sc_gate_cycle", gate="xnor") // args.repeats
    n = len(images)
    print(f"SC LeNet-5 bit-exact: block {args.block}, sng {args.sng}, L = {args.length}, {n} images, "
          f"{args.threads} threads, {args.repeats} repeats (median)")
    print(f"  mapping (stream generation, once): {map_s:.2f} s")
    print(f"  SC forward:    {sc_s:.2f} s  = {n / sc_s:.1f} images/s, {xnor / sc_s / 1e9:.2f} G bit-ops/s "
          f"({xnor / n:.3g} product bits per image)")
    print(f"  float forward: {fp_s:.3f} s  (SC / float = {sc_s / fp_s:.0f}x)")
    print(f"  projected 10,000 images: {10000 / (n / sc_s) / 60:.1f} min (goal <= 10 min at L = 1024)")
    print(f"  accuracy: {acc:.4f}")
    print(f"  load average before/after: {load_before[0]:.2f} / {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
