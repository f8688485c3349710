"""Benchmark: vectorised crossbar Monte Carlo vs plain torch forward passes, in the same run.

Workload (issue 3): LeNet-5 over the MNIST test images, T Monte Carlo trials on the PCM card with 8-bit DAC
and ADC and 256×256 arrays, read at 1 day with global drift compensation; baseline: T plain FP32 forward
passes of the float model over the same images. Programming and calibration are timed separately (they
happen once per Monte Carlo, not per image). Prints both times, their ratio (goal: ≤ 2) and the load
average; every time is the median of ``--repeats`` runs with ``torch.set_num_threads(--threads)``.

    python benchmarks/bench_crossbar_mc.py                      # the issue's size: 100 trials × 10,000 images
    python benchmarks/bench_crossbar_mc.py --trials 20 --images 2000 --repeats 3   # a quick look
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

import neuroemu
from neuroemu.crossbar import Crossbar, calibrate, set_time
from neuroemu.data import load_tensors
from neuroemu.nets import load_checkpoint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--images", type=int, default=10000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="pcm-joshi2020")
    parser.add_argument("--baseline-batch", type=int,
                        help="images per plain forward (default: the rows of one Monte Carlo forward, "
                             "trials x images per forward, so both run matrices of the same height)")
    parser.add_argument("--mc-batch", type=int, help="images per emulated forward (default 8192 // trials)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    checkpoint = load_checkpoint("lenet5-mnist")
    model = checkpoint.build()
    images, _ = load_tensors(checkpoint.dataset, "test", normalize=checkpoint.normalize, limit=args.images)
    calib, _ = load_tensors(checkpoint.dataset, "train", normalize=checkpoint.normalize, limit=256)
    trials = args.trials
    mc_batch = args.mc_batch or max(1, 8192 // trials)
    base_batch = args.baseline_batch or min(len(images), mc_batch * trials)
    load_before = os.getloadavg()

    def baseline() -> None:
        with torch.inference_mode():
            for _ in range(trials):
                for s in range(0, len(images), base_batch):
                    model(images[s:s + base_batch])

    setup_times = []
    emulated = None

    def setup() -> None:
        nonlocal emulated
        emulated = neuroemu.map(model, Crossbar(device=args.device, array=(256, 256), dac_bits=8, adc_bits=8,
                                                trials=trials, seed=0))
        calibrate(emulated, calib)
        set_time(emulated, 86400.0, drift_compensation=True)

    def monte_carlo() -> None:
        with torch.inference_mode():
            for s in range(0, len(images), mc_batch):
                emulated(images[s:s + mc_batch])

    def timed(fn) -> float:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start

    base_times, mc_times = [], []
    for _ in range(args.repeats):  # interleaved, so load changes hit both alike
        base_times.append(timed(baseline))
        setup_times.append(timed(setup))
        mc_times.append(timed(monte_carlo))
    base, mc, prog = (statistics.median(v) for v in (base_times, mc_times, setup_times))
    load_after = os.getloadavg()
    print(f"LeNet-5, {len(images)} MNIST test images, {trials} trials, device {args.device}, 8-bit DAC/ADC, "
          f"256x256 arrays, torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"median of {args.repeats}")
    print(f"rows per forward: {base_batch} images (plain), {mc_batch} images x {trials} trials (Monte Carlo)")
    print(f"plain torch FP32: {trials} forward passes      {base:8.2f} s   (runs: "
          f"{', '.join(f'{t:.2f}' for t in base_times)})")
    print(f"crossbar Monte Carlo: {trials} trials forward  {mc:8.2f} s   (runs: "
          f"{', '.join(f'{t:.2f}' for t in mc_times)})")
    print(f"programming + calibration + read (once)     {prog:8.2f} s")
    print(f"ratio Monte Carlo / plain forward: {mc / base:.2f}  (with programming: {(mc + prog) / base:.2f}; "
          "goal <= 2)")
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (1-min)")


if __name__ == "__main__":
    main()
