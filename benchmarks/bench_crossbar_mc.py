"""Benchmark: vectorised crossbar Monte Carlo vs plain torch forward passes, in the same run.

Workload (issue 3): LeNet-5 over the MNIST test images, T Monte Carlo trials on the PCM card with 8-bit DAC
and ADC and 256×256 arrays, read at 1 day with global drift compensation; baseline: T plain FP32 forward
passes of the float model over the same images at the fastest batch size (each of ``--baseline-batches``,
500 … 10,000 images, is timed and the fastest kept: not a single large batch). Programming and calibration
are timed separately (they happen once per Monte Carlo, not per image). Prints both times, their ratio
(goal, issue 18: ≤ 1.2, with and without ``--adc-noise``), the peak resident memory and the load average;
every time is the median of ``--repeats`` warm runs with ``torch.set_num_threads(--threads)`` (default 1).

    python benchmarks/bench_crossbar_mc.py                      # the issue's size: 100 trials × 10,000 images
    python benchmarks/bench_crossbar_mc.py --trials 20 --images 2000 --repeats 3   # a quick look
    python benchmarks/bench_crossbar_mc.py --trials 10 --adc-noise 0.5             # with conversion noise
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time

import torch

import neuroemu
from neuroemu.crossbar import Crossbar, calibrate, set_time
from neuroemu.data import load_tensors
from neuroemu.devices import rng
from neuroemu.nets import load_checkpoint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--images", type=int, default=10000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--adc-noise", type=float, default=0.0, help="ADC input noise in LSB (default 0)")
    parser.add_argument("--device", default="pcm-joshi2020")
    parser.add_argument("--baseline-batches", default="500,1000,2000,5000,10000",
                        help="images per plain forward to try; the fastest is the baseline")
    parser.add_argument("--mc-batch", type=int,
                        help="images per emulated forward (default 1024 // trials, as neuroemu mc)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    checkpoint = load_checkpoint("lenet5-mnist")
    model = checkpoint.build()
    images, _ = load_tensors(checkpoint.dataset, "test", normalize=checkpoint.normalize, limit=args.images)
    calib, _ = load_tensors(checkpoint.dataset, "train", normalize=checkpoint.normalize, limit=256)
    trials = args.trials
    mc_batch = args.mc_batch or max(1, 1024 // trials)
    batches = sorted({min(len(images), int(b)) for b in args.baseline_batches.split(",")})
    load_before = os.getloadavg()

    def plain(batch: int) -> None:
        with torch.inference_mode():
            for s in range(0, len(images), batch):
                model(images[s:s + batch])

    def timed(fn) -> float:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start

    plain(batches[0])  # warm-up
    per_batch = {b: statistics.median(timed(lambda b=b: plain(b)) for _ in range(args.repeats))
                 for b in batches}
    base_batch = min(per_batch, key=per_batch.get)

    def baseline() -> None:
        for _ in range(trials):
            plain(base_batch)

    setup_times = []
    emulated = None

    def setup() -> None:
        nonlocal emulated
        emulated = neuroemu.map(model, Crossbar(device=args.device, array=(256, 256), dac_bits=8, adc_bits=8,
                                                adc_noise=args.adc_noise, trials=trials, seed=0))
        calibrate(emulated, calib)
        set_time(emulated, 86400.0, drift_compensation=True)

    def monte_carlo() -> None:
        with torch.inference_mode():
            for s in range(0, len(images), mc_batch):
                emulated(images[s:s + mc_batch])

    setup()
    monte_carlo()  # warm-up
    base_times, mc_times = [], []
    for _ in range(args.repeats):  # interleaved, so load changes hit both alike
        base_times.append(timed(baseline))
        setup_times.append(timed(setup))
        mc_times.append(timed(monte_carlo))
    base, mc, prog = (statistics.median(v) for v in (base_times, mc_times, setup_times))
    load_after = os.getloadavg()
    print(f"LeNet-5, {len(images)} MNIST test images, {trials} trials, device {args.device}, 8-bit DAC/ADC, "
          f"256x256 arrays, ADC noise {args.adc_noise} LSB, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, "
          f"median of {args.repeats}")
    print("plain forward, one pass, by batch: " + ", ".join(f"{b}: {t:.3f} s" for b, t in per_batch.items()))
    print(f"rows per forward: {base_batch} images (plain, fastest), {mc_batch} images x {trials} trials "
          "(Monte Carlo)")
    print(f"plain torch FP32: {trials} forward passes      {base:8.2f} s   (runs: "
          f"{', '.join(f'{t:.2f}' for t in base_times)})")
    print(f"crossbar Monte Carlo: {trials} trials forward  {mc:8.2f} s   (runs: "
          f"{', '.join(f'{t:.2f}' for t in mc_times)})")
    print(f"programming + calibration + read (once)     {prog:8.2f} s")
    print(f"per trial: Monte Carlo {mc / trials:.3f} s, plain {base / trials:.3f} s")
    print(f"ratio Monte Carlo / plain forward: {mc / base:.2f}  (with programming: {(mc + prog) / base:.2f}; "
          "goal <= 1.2)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"peak resident memory {peak:.0f} MiB")
    if args.adc_noise > 0:
        draws = _count_draws(monte_carlo)
        floor = statistics.median(timed(lambda: _plain_normals(draws)) for _ in range(args.repeats))
        print(f"noise draws: {draws / (len(images) * trials):.0f} per image and trial; torch.randn alone "
              f"(the fastest normal generator here, not counter-based) takes {floor:.2f} s for them, "
              f"{1e9 * floor / draws:.1f} ns each:")
        print(f"ratio floor {1 + floor / base:.2f} even if everything but these draws were free")
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (1-min)")


def _count_draws(monte_carlo) -> int:
    """The normal numbers one Monte Carlo pass draws (counted at the counter-based generator)."""
    drawn = 0
    original = rng.counter_normal_trials

    def counting(*args, **kwargs):
        nonlocal drawn
        out = original(*args, **kwargs)
        drawn += out.numel()
        return out

    rng.counter_normal_trials = counting
    try:
        monte_carlo()
    finally:
        rng.counter_normal_trials = original
    return drawn


def _plain_normals(count: int, block: int = 1 << 20) -> None:
    """``count`` standard normals from torch's generator, in blocks (the cost floor of the noise)."""
    out = torch.empty(block)
    for start in range(0, count, block):
        torch.randn(min(block, count - start), out=out[:min(block, count - start)])


if __name__ == "__main__":
    main()
