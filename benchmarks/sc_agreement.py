"""Agreement of the SC analytic mode with the bit-exact mode, per block and bitstream length.

    nice python benchmarks/sc_agreement.py --limit 500 --lengths 64,256,1024 --out /tmp/sc-agreement.jsonl

Each block runs on its pooling's shipped tanh network (``neuroemu.stochastic.models.default_model``), both
modes on the same first ``--limit`` MNIST test images (Sobol sources, ``--seed``). One JSON line per
(block, length) goes to ``--out`` (:func:`neuroemu.stochastic.agreement.measure_agreement` plus ``model``
and ``wall_s``), a table to stdout, and the :data:`~neuroemu.stochastic.agreement.MEASURED` entries to
paste into ``neuroemu/stochastic/agreement.py``.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import torch

from neuroemu.data import load_tensors
from neuroemu.nets import load_checkpoint
from neuroemu.report import format_table
from neuroemu.stochastic import BLOCKS, Stochastic
from neuroemu.stochastic.agreement import measure_agreement
from neuroemu.stochastic.models import default_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=500, help="test images")
    parser.add_argument("--lengths", default="64,256,1024")
    parser.add_argument("--blocks", default=",".join(BLOCKS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("sc-agreement.jsonl"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows, entries = [], []
    for block in args.blocks.split(","):
        name = default_model(block)
        checkpoint = load_checkpoint(name)
        images, labels = load_tensors(checkpoint.dataset, "test", normalize=checkpoint.normalize,
                                      limit=args.limit)
        for length in (int(v) for v in args.lengths.split(",")):
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = measure_agreement(checkpoint.build(), images, labels,
                                           Stochastic(length=length, block=block, seed=args.seed))
            result.update(model=name, wall_s=round(time.perf_counter() - start, 1))
            with args.out.open("a") as f:
                f.write(json.dumps(result) + "\n")
            diff = result["analytic_accuracy"] - result["bitexact_accuracy"]
            rows.append([block, length, f"{100 * result['bitexact_accuracy']:.1f}",
                         f"{100 * result['analytic_accuracy']:.1f}", f"{100 * diff:+.1f}",
                         f"{100 * result['error']:.1f}", "yes" if result["disagree"] else "no",
                         f"{100 * result['prediction_agreement']:.1f}", result["wall_s"]])
            entries.append(f'    ("{block}", {length}): {{"model": "{name}", "n_images": {len(images)}, '
                           f'"bitexact": {result["bitexact_accuracy"]!r}, '
                           f'"analytic": {result["analytic_accuracy"]!r}, "error": {result["error"]:.4f}}},')
            print(format_table(["block", "L", "bit-exact %", "analytic %", "Δ pp", "σ pp", "disagree",
                                "same class %", "s"], rows[-1:]), flush=True)
    print(format_table(["block", "L", "bit-exact %", "analytic %", "Δ pp", "σ pp", "disagree", "same class %",
                        "s"], rows))
    print("\n".join(entries))


if __name__ == "__main__":
    main()
