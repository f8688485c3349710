"""Benchmark: the blocked counter-based normal draws vs the previous whole-tensor formula, in the same run.

Workload (issue 18, the ADC noise of a crossbar Monte Carlo): ``counter_normal_trials(0, T, "x", counters,
dim=1)`` with ``counters = arange(rows·cols).view(rows, cols)`` (default 102 × 6518, T = 10: one LeNet-5
conv layer's conversions). The baseline is the previous implementation (whole-tensor int64 splitmix64 and
float64 Box–Muller, kept below as a private reference); both must give the same bits, which is checked.
Prints ns per draw for each, their ratio and the peak resident memory, for each thread count of
``--threads`` (``torch.set_num_threads``); every time is the median of ``--repeats`` warm runs, interleaved,
as CPU time (``time.process_time``, all threads) and wall time.

    python benchmarks/bench_counter_rng.py                    # 1 thread
    python benchmarks/bench_counter_rng.py --threads 1,2      # 1 and 2 threads
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time
from collections.abc import Callable, Sequence

import torch

from neuroemu.devices import rng

_GOLDEN = 0x9E3779B97F4A7C15 - (1 << 64)
_MIX1 = 0xBF58476D1CE4E5B9 - (1 << 64)
_MIX2 = 0x94D049BB133111EB - (1 << 64)


def _shr(x: torch.Tensor, bits: int) -> torch.Tensor:
    return (x >> bits) & ((1 << (64 - bits)) - 1)


def _mix(x: torch.Tensor) -> torch.Tensor:
    x = x + _GOLDEN
    x = (x ^ _shr(x, 30)) * _MIX1
    x = (x ^ _shr(x, 27)) * _MIX2
    return x ^ _shr(x, 31)


def _mix_(x: torch.Tensor) -> torch.Tensor:
    x.add_(_GOLDEN)
    scratch = torch.empty_like(x)
    for bits, factor in ((30, _MIX1), (27, _MIX2), (31, None)):
        torch.bitwise_right_shift(x, bits, out=scratch).bitwise_and_((1 << (64 - bits)) - 1)
        x.bitwise_xor_(scratch)
        if factor is not None:
            x.mul_(factor)
    return x


def _uniform53(x: torch.Tensor, offset: int) -> torch.Tensor:
    x.bitwise_right_shift_(11).bitwise_and_((1 << 53) - 1)
    if offset:
        x.add_(offset)
    return x.double().mul_(2.0**-53)


def previous_counter_normal_trials(seed: int, trials: Sequence[int] | int, label: str, counters: torch.Tensor,
                                   *, dim: int = 1) -> torch.Tensor:
    """The previous implementation: whole-tensor int64 passes, then Box–Muller on whole float64 tensors."""
    indices = range(trials) if isinstance(trials, int) else trials
    keys = torch.tensor([rng._derive(int(seed), int(t), label) for t in indices], dtype=torch.int64)
    dim = dim % (counters.dim() + 1)
    keys = keys.view(-1, *([1] * (counters.dim() - dim)))
    c = counters.to(torch.int64).unsqueeze(dim) * 2
    u1 = _uniform53(_mix_(torch.bitwise_xor(keys, _mix(c))), 1)  # (0, 1]
    u2 = _uniform53(_mix_(torch.bitwise_xor(keys, _mix(c.add_(1)))), 0)  # [0, 1)
    return u1.log_().mul_(-2.0).sqrt_().mul_(u2.mul_(2.0 * torch.pi).cos_()).float()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=102)
    parser.add_argument("--cols", type=int, default=6518)
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", default="1", help="thread counts, comma-separated (default 1)")
    args = parser.parse_args()
    counters = torch.arange(args.rows * args.cols).view(args.rows, args.cols)
    draws = counters.numel() * args.trials
    load_before = os.getloadavg()
    print(f"counter_normal_trials: {args.rows} x {args.cols} counters x {args.trials} trials = {draws} "
          f"draws, torch {torch.__version__}, median of {args.repeats}")

    def new() -> torch.Tensor:
        return rng.counter_normal_trials(0, args.trials, "x", counters, dim=1)

    def old() -> torch.Tensor:
        return previous_counter_normal_trials(0, args.trials, "x", counters, dim=1)

    if not torch.equal(new(), old()):
        raise SystemExit("the blocked draws differ from the previous formula")

    def timed(fn: Callable[[], torch.Tensor]) -> tuple[float, float]:
        cpu, wall = time.process_time(), time.perf_counter()
        fn()
        return time.process_time() - cpu, time.perf_counter() - wall

    for threads in (int(t) for t in args.threads.split(",")):
        torch.set_num_threads(threads)
        new(), old()  # warm-up
        runs: dict[str, list[tuple[float, float]]] = {"previous": [], "blocked": []}
        for _ in range(args.repeats):  # interleaved, so load changes hit both alike
            runs["previous"].append(timed(old))
            runs["blocked"].append(timed(new))
        ns = {name: tuple(statistics.median(r[i] for r in v) / draws * 1e9 for i in (0, 1))
              for name, v in runs.items()}
        for name, (cpu, wall) in ns.items():
            print(f"{threads} thread(s)  {name:9s} {cpu:7.2f} ns/draw CPU  {wall:7.2f} ns/draw wall")
        (old_cpu, old_wall), (new_cpu, new_wall) = ns["previous"], ns["blocked"]
        print(f"{threads} thread(s)  ratio previous / blocked: CPU {old_cpu / new_cpu:.2f}, "
              f"wall {old_wall / new_wall:.2f}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    load_after = os.getloadavg()
    print(f"peak resident memory {peak:.0f} MiB (both implementations in one process)")
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (1-min)")


if __name__ == "__main__":
    main()
