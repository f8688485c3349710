"""Benchmark: a sweep on a local process pool vs on a local Dask cluster of as many workers, in the same run.

Workload (issue 12): LeNet-5 over ``--images`` MNIST test images; crossbar points (PCM card, 8-bit DAC and
ADC, 256×256 arrays) for every ``--trials`` × ``--times`` (chips × read times), and stochastic-computing
points (SC-DCNN apc-max-btanh, bit-exact) for every ``--lengths``, each run with ``--sc-repeats`` seeds.
Both backends get ``--workers`` single-threaded worker processes, started for each run (their start-up is
part of the wall time, as it is for a user; a run of one tiny point shows it apart). Prints each backend's
wall time (median of ``--repeats`` interleaved runs), the ratio Dask / pool, the summed time of the points
themselves, the load average, and whether both backends wrote the same results lines (``wall_s`` and
``finished`` left out).

    python benchmarks/bench_backends.py                     # the default sweep: 8 crossbar + 5 SC points
    python benchmarks/bench_backends.py --lengths 64,128 --trials 5 --repeats 1   # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from neuroemu.experiments.dask_backend import DaskBackend
from neuroemu.experiments.experiment import parse_experiment
from neuroemu.experiments.point import Point
from neuroemu.experiments.runner import Backend, PoolBackend, run_points
from neuroemu.experiments.store import ResultStore

#: what differs between two runs of one point
VOLATILE = ("wall_s", "finished")


def sweep(args: argparse.Namespace) -> list[Point]:
    """The benchmark's points (see the module)."""
    return list(parse_experiment({
        "name": "bench-backends", "limit": args.images, "calibration_images": 64, "seed": 0,
        "substrate": [
            {"name": "crossbar", "model": "lenet5-mnist", "device": "pcm-joshi2020", "array": "256x256",
             "dac_bits": 8, "adc_bits": 8, "trials": [int(t) for t in args.trials.split(",")],
             "time": args.times.split(",")},
            {"name": "stochastic", "model": "lenet5-mnist-tanh", "trials": args.sc_repeats,
             "length": [int(n) for n in args.lengths.split(",")]},
        ]}).points)


def tiny() -> list[Point]:
    """One digital point on 10 images: its wall time on a backend is mostly the backend's start-up."""
    return list(parse_experiment({"name": "bench-startup", "limit": 10, "substrate": [
        {"name": "digital", "model": "lenet5-mnist"}]}).points)


def timed_run(backend: Backend, points: list[Point]) -> tuple[float, list[dict[str, Any]]]:
    """Wall time of one run into a fresh results file, and the lines it wrote (sorted by hash)."""
    with tempfile.TemporaryDirectory() as folder:
        store = ResultStore(Path(folder) / "results.jsonl")
        start = time.perf_counter()
        records = run_points(points, store, backend=backend)
        wall = time.perf_counter() - start
        lines = [json.loads(line) for line in store.path.read_text().splitlines()]
    assert all(r["status"] == "ok" for r in records), [r["error"] for r in records if r["error"]]
    return wall, sorted(lines, key=lambda r: r["hash"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--trials", default="5,20", help="crossbar chips per point (comma-separated)")
    parser.add_argument("--times", default="1s,1h,1d,1y", help="crossbar read times (comma-separated)")
    parser.add_argument("--lengths", default="64,128,256,512,1024", help="SC bitstream lengths")
    parser.add_argument("--sc-repeats", type=int, default=2, help="seeds per SC point")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    points = sweep(args)
    backends = {"process pool": lambda: PoolBackend(args.workers),
                "Dask LocalCluster": lambda: DaskBackend(local_workers=args.workers)}
    times: dict[str, list[float]] = {name: [] for name in backends}
    startup: dict[str, list[float]] = {name: [] for name in backends}
    lines: dict[str, list[dict[str, Any]]] = {}
    load_before = os.getloadavg()
    for _ in range(args.repeats):  # interleaved, so load changes hit both alike
        for name, make in backends.items():
            startup[name].append(timed_run(make(), tiny())[0])
            wall, lines[name] = timed_run(make(), points)
            times[name].append(wall)
    load_after = os.getloadavg()

    pool, dask = (statistics.median(times[name]) for name in backends)
    work = sum(r["wall_s"] for r in lines["process pool"])
    print(f"{len(points)} points: crossbar pcm-joshi2020 trials {args.trials} x times {args.times}, SC "
          f"lengths {args.lengths} x {args.sc_repeats} seeds; {args.images} MNIST test images; "
          f"{args.workers} single-threaded workers; {os.cpu_count()} cores; median of {args.repeats}")
    for name in backends:
        print(f"{name:<18} {statistics.median(times[name]):7.2f} s   (runs: "
              f"{', '.join(f'{t:.2f}' for t in times[name])}; start-up and one tiny point: "
              f"{statistics.median(startup[name]):.2f} s)")
    print(f"ratio Dask / pool: {dask / pool:.2f}")
    print(f"the points' own time, summed: {work:.2f} s (ideal wall on {args.workers} workers: "
          f"{work / args.workers:.2f} s)")
    stable = {name: [{k: v for k, v in r.items() if k not in VOLATILE} for r in found]
              for name, found in lines.items()}
    same = stable["process pool"] == stable["Dask LocalCluster"]
    print(f"same results lines on both (without wall_s, finished): {'yes' if same else 'NO'} "
          f"({len(stable['process pool'])} lines)")
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (1-min)")


if __name__ == "__main__":
    main()
