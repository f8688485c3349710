"""Btanh's gain: its exact steady state against ``tanh(t)`` and ``tanh(t · n / sum_i (1 - x_i^2))``.

    python benchmarks/btanh_gain.py --draws 200 --fan-ins 4,8,16,32,64

For each fan-in ``n``, ``--draws`` input vectors ``x`` uniform in [-1, 1] (seed 0) feed an exact parallel
counter and a ``2n``-state Btanh (Kim et al.'s ``r`` for ``s = 1``); its exact steady-state output
(:func:`neuroemu.stochastic.activations.btanh_steady_state`) is compared with ``tanh(t)``, ``t = sum_i x_i``
(what Btanh is said to approximate) and with ``tanh(t n / sum_i (1 - x_i^2))`` (the random walk's gain).
"""

from __future__ import annotations

import argparse

import torch

from neuroemu.report import format_table
from neuroemu.stochastic.activations import btanh_states, btanh_steady_state


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=200)
    parser.add_argument("--fan-ins", default="4,8,16,32,64")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows = []
    for n in (int(v) for v in args.fan_ins.split(",")):
        g = torch.Generator().manual_seed(args.seed + n)
        x = 2 * torch.rand(args.draws, n, generator=g, dtype=torch.float64) - 1
        states = btanh_states(n, 1.0)
        y = btanh_steady_state(x, states)
        t = x.sum(-1)
        gain = n / (1 - x * x).sum(-1)
        plain, corrected = (y - torch.tanh(t)).abs(), (y - torch.tanh(t * gain)).abs()
        rows.append([n, states, f"{float(gain.mean()):.3f}", f"{float(plain.max()):.3f}",
                     f"{float(plain.mean()):.3f}", f"{float(corrected.max()):.3f}",
                     f"{float(corrected.mean()):.3f}"])
    print(format_table(["n", "states", "mean gain", "max |y - tanh t|", "mean", "max |y - tanh(gain t)|",
                        "mean"], rows))


if __name__ == "__main__":
    main()
