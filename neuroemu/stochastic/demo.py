"""The stochastic-computing section of ``neuroemu demo``: bit-exact SC LeNet-5 accuracy against length.

Runs the shipped tanh LeNet-5 (the max- or average-pooling one, as the block pools) as SC-DCNN APC blocks
with Sobol sources at a few bitstream lengths, on the first test images.
"""

import warnings

import neuroemu
from neuroemu.data import load_tensors
from neuroemu.nets import accuracy, load_checkpoint
from neuroemu.report import format_table
from neuroemu.stochastic.models import default_model
from neuroemu.stochastic.spec import Stochastic

__all__ = ["DEMO_BLOCKS", "DEMO_IMAGES", "DEMO_LENGTHS", "demo_table"]

DEMO_BLOCKS = ("apc-max-btanh", "apc-avg-btanh")
DEMO_LENGTHS = (64, 256, 1024)
DEMO_IMAGES = 100  # bit-exact SC runs ~45 images/s at L = 1024 on one busy core: a short look for the demo


def demo_table(limit: int | None = None) -> str:
    """Bit-exact SC LeNet-5 accuracy at a few bitstream lengths, for ``neuroemu demo``."""
    n = min(limit or DEMO_IMAGES, DEMO_IMAGES)
    rows = []
    for block in DEMO_BLOCKS:
        name = default_model(block)
        checkpoint = load_checkpoint(name)
        images, labels = load_tensors(checkpoint.dataset, "test", normalize="unit", limit=n)
        model = checkpoint.build()
        row: list[object] = [block, name, f"{100 * accuracy(model, images, labels):.1f}"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for length in DEMO_LENGTHS:
                sc_model = neuroemu.map(model, Stochastic(length=length, block=block, sng="sobol", seed=0))
                row.append(f"{100 * accuracy(sc_model, images, labels, batch_size=1000):.1f}")
        rows.append(row)
    head = f"Stochastic computing, bit-exact, Sobol sources, first {n} test images (accuracy %)"
    return head + "\n\n" + format_table(["block", "model", "float", *(f"L={v}" for v in DEMO_LENGTHS)], rows)
