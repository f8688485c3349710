"""``neuroemu demo``: the shipped networks on their test sets, then every registered substrate's section and
the energy of LeNet-5 on every substrate side by side."""

from __future__ import annotations

import argparse
from typing import Any

from neuroemu.commands import energy
from neuroemu.commands.evaluate import evaluate
from neuroemu.nets import load_checkpoint, shipped_models
from neuroemu.report import format_table
from neuroemu.substrates import registrations
from neuroemu.usage import positive_int

__all__ = ["DEMO_EMULATION_IMAGES", "register"]

DEMO_EMULATION_IMAGES = 1000


def register(subparsers: Any) -> None:
    """Add the ``demo`` command to the ``neuroemu`` command line."""
    p = subparsers.add_parser("demo", help="the shipped networks on every substrate: accuracy tables")
    p.add_argument("--limit", type=positive_int,
                   help=f"use only the first N test images (emulated sections default to "
                        f"{DEMO_EMULATION_IMAGES})")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print the digital accuracy table, each substrate's demo section, then the energy table."""
    rows = []
    for model in shipped_models():
        result = evaluate(model, None, args.limit)
        weights = load_checkpoint(model).config.get("quant", "fp32")
        rows.append([model, weights, result["dataset"], result["n_images"],
                     f"{100 * result['accuracy']:.2f} %", result["macs_per_image"], result["wall_s"]])
    print("Shipped networks on their test sets (digital execution)\n")
    print(format_table(["model", "weights", "dataset", "images", "accuracy", "MACs/image", "wall s"], rows),
          flush=True)
    limit = args.limit or DEMO_EMULATION_IMAGES
    for registration in registrations():
        if registration.demo_table is not None:
            print("\n" + registration.demo_table(limit), flush=True)
    print("\n" + energy.demo_table(limit=limit), flush=True)
    return 0
