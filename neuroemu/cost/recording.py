"""Attach a ledger to every event-recording layer of a model for the duration of a block."""

from collections.abc import Iterator
from contextlib import contextmanager

from torch import nn

from neuroemu.cost.ledger import Ledger


class RecordsEvents:
    """Mixin for emulated layers: ``self.ledger`` is the ledger to record into, or ``None``."""

    ledger: Ledger | None = None


@contextmanager
def recording(model: nn.Module, ledger: Ledger) -> Iterator[Ledger]:
    """While active, every :class:`RecordsEvents` layer of ``model`` records into ``ledger``."""
    layers = [m for m in model.modules() if isinstance(m, RecordsEvents)]
    previous = [layer.ledger for layer in layers]
    for layer in layers:
        layer.ledger = ledger
    try:
        yield ledger
    finally:
        for layer, old in zip(layers, previous, strict=True):
            layer.ledger = old
