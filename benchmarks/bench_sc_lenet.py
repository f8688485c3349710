"""Benchmark: bit-exact stochastic-computing LeNet-5 (SC-DCNN blocks) on MNIST test images.

Workload (issues 4 and 16): the shipped tanh LeNet-5 mapped with ``Stochastic(length=L, block=..., sng=...)``
in bit-exact mode, run over the first ``--images`` test images; baselines measured in the same run: the plain
float forward over the same images, and a UnarySim-style SC layer (per-cycle float tensors: comparators,
XNOR products and a parallel count, one cycle at a time) on fc2's shape. Prints, for each thread count in
``--threads``: images/s, bit-operations/s (XNOR product terms × L per second, the issue's measure), the
projected time for the whole 10,000-image test set (goal, issue 16: ≤ 2 min at L = 1024 on 2 cores, ≥ 60 G
bit-ops/s), the ratio to the UnarySim-style loop, and per layer (one thread) the useful and executed
multiply-accumulate rates of the int8 matrix products with each layer's share of the time. Times are
medians of ``--repeats`` warm runs with ``torch.set_num_threads(n)`` (with more than one thread, chunks of
images run on that many worker threads); the load average is printed before and after. Mapping (stream
generation) is timed separately: it happens once.

    python benchmarks/bench_sc_lenet.py                               # L = 1024, 256 images, 1 and 2 threads
    python benchmarks/bench_sc_lenet.py --threads 1 --images 128      # on a busy shared machine
    python benchmarks/bench_sc_lenet.py --images 10000 --repeats 1 --threads 2   # the whole test set once
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections import defaultdict

import torch

import neuroemu
from neuroemu.data import load_tensors
from neuroemu.ledger import Ledger, recording
from neuroemu.nets import load_checkpoint
from neuroemu.nets.accuracy import accuracy
from neuroemu.stochastic import SCNetwork, Stochastic


def unarysim_style_rate(batch: int, n: int, out: int, length: int) -> float:
    """XNOR bit-ops/s of a per-cycle float SC layer (the way UnarySim's modules run): each cycle, float 0/1
    input and weight streams from comparators, XNOR products as float arithmetic and their count."""
    gen = torch.Generator().manual_seed(0)
    p_x, p_w = torch.rand(batch, 1, n, generator=gen), torch.rand(1, out, n, generator=gen)
    r_x, r_w = torch.rand(length, 1, 1, n, generator=gen), torch.rand(length, 1, out, n, generator=gen)
    count = torch.zeros(batch, out)
    start = time.perf_counter()
    for t in range(length):
        x = (r_x[t] < p_x).float()
        w = (r_w[t] < p_w).float()
        count += (1 - (x - w).abs()).sum(-1)  # XNOR of 0/1 values, counted over the fan-in
    return batch * out * n * length / (time.perf_counter() - start)


def layer_times(sc_model: SCNetwork, images: torch.Tensor) -> dict[str, float]:
    """Seconds each SC block spends in one pass over ``images`` (one thread: blocks run in turn)."""
    spent: dict[str, float] = defaultdict(float)
    for layer in sc_model.layers:
        def timed(*args, _layer=layer, _inner=layer.forward_block, **kwargs):
            start = time.perf_counter()
            result = _inner(*args, **kwargs)
            spent[_layer.name] += time.perf_counter() - start
            return result
        layer.forward_block = timed
    try:
        sc_model(images)
    finally:
        for layer in sc_model.layers:
            del layer.forward_block
    return dict(spent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--length", type=int, default=1024)
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", default="1,2", help="comma-separated thread counts (default 1,2)")
    parser.add_argument("--block", default="apc-max-btanh")
    parser.add_argument("--sng", default="sobol")
    parser.add_argument("--model", default="lenet5-mnist-tanh")
    parser.add_argument("--mux-select", default="uniform", help="MUX blocks: uniform or weighted")
    parser.add_argument("--counter", default="exact", help="APC blocks: exact or approximate")
    parser.add_argument("--cycle-budget", type=int, default=Stochastic.cycle_budget,
                        help="images × cycles clocked at once (default: the spec's)")
    args = parser.parse_args()
    thread_counts = [int(t) for t in args.threads.split(",")]

    checkpoint = load_checkpoint(args.model)
    model = checkpoint.build()
    images, labels = load_tensors(checkpoint.dataset, "test", normalize="unit", limit=args.images)
    load_before = os.getloadavg()
    start = time.perf_counter()
    spec = Stochastic(length=args.length, block=args.block, sng=args.sng, cycle_budget=args.cycle_budget,
                      mux_select=args.mux_select, counter=args.counter)
    sc_model = neuroemu.map(model, spec)
    map_s = time.perf_counter() - start
    n = len(images)
    print(f"SC LeNet-5 bit-exact: block {args.block}, sng {args.sng}, L = {args.length}, {n} images, "
          f"{args.repeats} repeats (median of warm runs)")
    print(f"  mapping (stream generation, once): {map_s:.2f} s")
    threads_before = torch.get_num_threads()
    for threads in thread_counts:
        torch.set_num_threads(threads)
        sc_model(images[:8])  # warm: caches of the weight operands and input rows
        sc_times, fp_times, acc = [], [], 0.0
        for _ in range(args.repeats):
            with recording(sc_model, Ledger()) as ledger:
                start = time.perf_counter()
                acc = accuracy(sc_model, images, labels, batch_size=1000)
                sc_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            accuracy(model, images, labels, batch_size=1000)
            fp_times.append(time.perf_counter() - start)
        sc_s, fp_s = statistics.median(sc_times), statistics.median(fp_times)
        xnor_per_image = ledger.count("sc_gate_cycle", gate="xnor") // n
        rate = xnor_per_image * n / sc_s
        print(f"  {threads} thread(s): SC forward {sc_s:.2f} s = {n / sc_s:.1f} images/s, {rate / 1e9:.1f} G "
              f"bit-ops/s; float forward {fp_s:.3f} s (SC / float = {sc_s / fp_s:.0f}x); projected 10,000 "
              f"images: {10000 * sc_s / n:.0f} s; accuracy {acc:.4f}")
    torch.set_num_threads(1)
    fc2 = next(layer for layer in sc_model.layers if layer.name == "fc2")
    baseline = unarysim_style_rate(64, fc2.n_inputs, fc2.out_features, min(args.length, 256))
    print(f"  UnarySim-style per-cycle float loop (fc2's shape, 64 images, 1 thread): "
          f"{baseline / 1e9:.3f} G bit-ops/s; neuroemu at {thread_counts[-1]} thread(s) = "
          f"{rate / baseline:.0f}x")
    spent = layer_times(sc_model, images[:64])
    total = sum(spent.values())
    print("  per layer (1 thread, 64 images): useful = positions x O x n MACs, executed = int8 GEMM MACs")
    print(f"    {'layer':6} {'share':>6} {'useful/img':>11} {'exec/img':>11} {'useful G/s':>11} "
          f"{'exec G/s':>9}")
    for layer in sc_model.layers:
        positions = 1
        if layer.is_conv:
            positions = (layer.in_width - layer.kernel + 1) ** 2
        useful = positions * layer.out_features * layer.n_inputs * args.length
        rows, k, cols = layer.matrix_shape() if layer.adder == "apc" else (0, 0, 0)
        executed = rows * k * cols * args.length
        seconds = spent[layer.name] / 64
        print(f"    {layer.name:6} {spent[layer.name] / total:6.1%} {useful:11.3g} {executed:11.3g} "
              f"{useful / seconds / 1e9:11.1f} {executed / seconds / 1e9:9.1f}")
    torch.set_num_threads(threads_before)
    print(f"  load average before/after: {load_before[0]:.2f} / {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
