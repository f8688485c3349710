"""Benchmark: rate-coded spiking LeNet-5 (IF neurons) on MNIST test images, ledger on.

Workload: the shipped ``lenet5-mnist`` converted with ``Spiking(timesteps=T, encoding=...)``, calibrated on
256 training images, run over the first ``--images`` test images (default 100 images × 100 steps, the
workload of the brian2 figures in /work/shared/PERFORMANCE.md). Baselines, in the same run:

- step by step: the same network with a memory budget of one step per block (chunks of 32 images), i.e.
  T small convolutions per layer instead of one over all steps (as the simulation the layer-by-layer
  redesign replaced); its logits must be identical (checked);
- the plain float forward over the same images.

Times are medians of ``--repeats`` warm runs (one warm-up first) with ``torch.set_num_threads(--threads)``
(default 1). When brian2's cython target is available, the same converted network is built in brian2
(:func:`neuroemu.spiking.brian.run_brian2`, zero-delay order, spike counts monitored) and run on the first
``--brian2-images`` images in the same process: the first run's code generation and compilation, its build
(objects and synapses) and its simulation (``Network.run``) are timed apart, then warm runs (cached code);
its logits must equal neuroemu's. The ratio compares the simulation alone with neuroemu's run on the same
images. brian2's recorded times (cython warm 1.80 s, C++ standalone 1.01 s for 100 images × 100 steps;
PERFORMANCE.md) are also printed scaled to the workload; ``--brian2-cython`` / ``--brian2-standalone``
take other figures.

    python benchmarks/bench_snn_lenet.py                         # T = 100, constant input, 100 images
    python benchmarks/bench_snn_lenet.py --threads 2 --images 1000 --timesteps 64
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import torch

import neuroemu
from neuroemu.data import load_tensors
from neuroemu.ledger import Ledger
from neuroemu.nets import load_checkpoint
from neuroemu.spiking import Spiking, SpikingNetwork, calibrate
from neuroemu.spiking.brian import run_brian2


def timed(run: Callable[[], torch.Tensor], repeats: int) -> tuple[float, torch.Tensor]:
    """Median seconds of ``repeats`` runs after one warm-up, and the last result."""
    out = run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timesteps", type=int, default=100)
    parser.add_argument("--encoding", default="constant")
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-ledger", action="store_true", help="run without recording events")
    parser.add_argument("--brian2-images", type=int, default=100,
                        help="images of the brian2 run in this process (0: none)")
    parser.add_argument("--brian2-cython", type=float, default=1.80,
                        help="brian2 cython seconds for the same workload (default: PERFORMANCE.md's 1.80)")
    parser.add_argument("--brian2-standalone", type=float, default=1.01,
                        help="brian2 C++ standalone seconds (default: PERFORMANCE.md's 1.01)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    checkpoint = load_checkpoint("lenet5-mnist")
    model = checkpoint.build()
    images, labels = load_tensors(checkpoint.dataset, "test", normalize="unit", limit=args.images)
    calibration, _ = load_tensors(checkpoint.dataset, "train", normalize="unit", limit=256)
    spec = Spiking(timesteps=args.timesteps, encoding=args.encoding)
    network: SpikingNetwork = neuroemu.map(model, spec)
    calibrate(network, calibration)
    stepwise: SpikingNetwork = neuroemu.map(model, spec)
    stepwise.scales = network.scales
    stepwise.memory_budget = 1  # one step per block
    load_before = os.getloadavg()

    def run(net: SpikingNetwork) -> Callable[[], torch.Tensor]:
        def go() -> torch.Tensor:
            net.ledger = None if args.no_ledger else Ledger()
            with torch.inference_mode():
                return net(images)
        return go

    with torch.inference_mode():
        fp_s, _ = timed(lambda: model(images), args.repeats)
    snn_s, logits = timed(run(network), args.repeats)
    step_s, step_logits = timed(run(stepwise), max(1, args.repeats // 2))
    assert torch.equal(logits, step_logits), "the layer-by-layer run differs from the step-by-step run"
    acc = float((logits.argmax(1) == labels).float().mean())
    n, steps = len(images), args.timesteps
    synops = network.ledger.count("synaptic_op") if network.ledger is not None else 0
    print(f"spiking LeNet-5: T = {steps}, {args.encoding} input, {n} images, {args.threads} thread(s), "
          f"ledger {'off' if args.no_ledger else 'on'}, median of {args.repeats} warm runs")
    print(f"  layer by layer: {snn_s:.3f} s = {n / snn_s:.0f} images/s"
          + (f", {synops / snn_s / 1e9:.2f} G synaptic ops/s" if synops else ""))
    print(f"  step by step:   {step_s:.3f} s (same logits): {step_s / snn_s:.1f}x slower")
    print(f"  float forward:  {fp_s:.4f} s; the spiking run costs {snn_s / fp_s:.0f}x a float forward")
    scale = (n * steps) / (100 * 100)  # brian2 figures are for 100 images x 100 steps
    print(f"  vs brian2 (recorded, 100 images x 100 steps, scaled to this workload x{scale:.2g}): "
          f"cython {args.brian2_cython * scale / snn_s:.1f}x, C++ standalone "
          f"{args.brian2_standalone * scale / snn_s:.1f}x")
    if args.brian2_images > 0 and args.encoding == "constant":
        brian2_comparison(network, images[:args.brian2_images], args.repeats)
    print(f"  accuracy: {acc:.4f}")
    print(f"  load average before/after: {load_before[0]:.2f} / {os.getloadavg()[0]:.2f}")


def brian2_comparison(network: SpikingNetwork, images: torch.Tensor, repeats: int) -> None:
    """The same network in brian2's cython target, timed against neuroemu on the same images."""
    try:
        import brian2
        from brian2.codegen.runtime.cython_rt import CythonCodeObject
    except ImportError:
        print("  brian2 (cython): not importable, no comparison in this run")
        return
    if not CythonCodeObject.is_available():
        print("  brian2 (cython): no compiler, no comparison in this run")
        return

    network.ledger = None
    with torch.inference_mode():
        ours_s, ours = timed(lambda: network(images), repeats)
    first = run_brian2(network, images, target="cython")
    warm = sorted((run_brian2(network, images, target="cython") for _ in range(max(1, repeats // 2))),
                  key=lambda t: t.run_s)
    median = warm[len(warm) // 2]
    assert torch.equal(median.logits, ours), "brian2's logits differ from neuroemu's"
    n = len(images)
    print(f"  brian2 {brian2.__version__} cython, {n} images (same logits): first run {first.build_s:.2f} s "
          f"build + {first.run_s:.2f} s run incl. code generation; warm: {median.build_s:.2f} s build, "
          f"{median.run_s:.3f} s run; neuroemu {ours_s:.3f} s on these images, ledger off: "
          f"{median.run_s / ours_s:.1f}x the brian2 run (build excluded)")


if __name__ == "__main__":
    main()
