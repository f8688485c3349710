"""The event ledger: named hardware event counters, kept apart from physics and from prices.

The bottom floor of the flow: it imports nothing of the substrates or of pricing, so every emulated layer
can record into it and every pricing step can read it.

An emulated layer records what its hardware would do — ``ledger.record("adc_conversion", n, layer="fc1",
bits=8)`` — and a later pricing step (:mod:`neuroemu.cost`) multiplies each count by the cost its circuit
card gives for that event and those attributes. The attributes carry every quantity pricing needs (converter
bits, the conductances a read drew current from, a number generator's width and sharing), so a saved ledger
can be priced again on its own. An entry is identified by its event name, its layer (or ``None``) and its
attributes; recording the same identity again adds to the count. Ledgers from several batches or worker
processes merge by addition and round-trip through JSON.

:func:`recording` attaches one ledger to every event-recording layer (:class:`RecordsEvents`) of a model for
the duration of a block.

A ledger may also keep the same events **split by image** (:attr:`Ledger.images`): a layer whose event counts
depend on the image (spikes) records each image's counts with :meth:`Ledger.record_images`, so that the
energy of every inference, not only their mean, can be priced (a mean ± confidence interval over images).
"""

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from torch import nn

__all__ = ["AttrValue", "Ledger", "LedgerEntry", "RecordsEvents", "recording"]

AttrValue = int | float | str | bool
_Key = tuple[str, str | None, tuple[tuple[str, AttrValue], ...]]


@dataclass(frozen=True)
class LedgerEntry:
    """One counter: ``count`` events named ``event`` in ``layer`` with the given attributes."""

    event: str
    layer: str | None
    attrs: Mapping[str, AttrValue]
    count: int

    def to_dict(self) -> dict[str, Any]:
        return {"event": self.event, "layer": self.layer, "attrs": dict(self.attrs), "count": self.count}


class Ledger:
    """Counts of hardware events, keyed by (event, layer, attributes)."""

    def __init__(self) -> None:
        self._counts: dict[_Key, int] = {}
        #: one ledger per inference, in the order they were recorded, where the recording layers split their
        #: events by image (:meth:`record_images`); empty otherwise
        self.images: list[Ledger] = []

    def record(self, event: str, count: int = 1, *, layer: str | None = None, **attrs: AttrValue) -> None:
        """Add ``count`` occurrences of ``event`` (in ``layer``, with ``attrs`` such as ``bits=8``)."""
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise ValueError(f"ledger count for {event!r} must be a non-negative int, got {count!r}")
        for name, value in attrs.items():
            if not isinstance(value, AttrValue):
                raise TypeError(
                    f"ledger attribute {name!r} of {event!r} must be int, float, str or bool, "
                    f"got {type(value).__name__}"
                )
        key = (event, layer, tuple(sorted(attrs.items())))
        self._counts[key] = self._counts.get(key, 0) + count

    def record_images(self, images: Sequence["Ledger"]) -> None:
        """Add the events of a block of inferences, one ledger each (in order): their sum goes to the
        totals, each to :attr:`images`."""
        for image in images:
            self.merge(image)
            self.images.append(image)

    def count(self, event: str, *, layer: str | None = None, **attrs: AttrValue) -> int:
        """Total count of ``event``, over every entry whose layer and attributes match the filters given."""
        total = 0
        for entry in self.entries():
            if entry.event != event or (layer is not None and entry.layer != layer):
                continue
            if all(entry.attrs.get(k) == v for k, v in attrs.items()):
                total += entry.count
        return total

    def entries(self) -> Iterator[LedgerEntry]:
        """Every counter, in a stable order (event, layer, attributes)."""
        for key in sorted(self._counts, key=_sort_key):
            event, layer, attrs = key
            yield LedgerEntry(event, layer, dict(attrs), self._counts[key])

    def events(self) -> list[str]:
        """The distinct event names recorded."""
        return sorted({key[0] for key in self._counts})

    def merge(self, other: "Ledger") -> "Ledger":
        """Add every count of ``other`` into this ledger (in place) and return this ledger; ``other``'s
        per-image ledgers follow this one's."""
        for key, n in other._counts.items():
            self._counts[key] = self._counts.get(key, 0) + n
        self.images.extend(other.images)
        return self

    def __add__(self, other: "Ledger") -> "Ledger":
        return Ledger().merge(self).merge(other)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Ledger) and self._counts == other._counts

    def __len__(self) -> int:
        return len(self._counts)

    def __repr__(self) -> str:
        return f"Ledger({len(self)} counters, events={self.events()})"

    def to_list(self) -> list[dict[str, Any]]:
        """JSON-ready list of ``{"event", "layer", "attrs", "count"}``."""
        return [entry.to_dict() for entry in self.entries()]

    def to_json(self) -> str:
        return json.dumps(self.to_list())

    @classmethod
    def from_list(cls, items: list[Mapping[str, Any]]) -> "Ledger":
        """Rebuild a ledger from :meth:`to_list` output; anything else (a file edited by hand, say) is a
        ``ValueError`` naming the entry and what is wrong with it."""
        if not isinstance(items, list):
            raise ValueError("a ledger must be a list of entries")
        ledger = cls()
        for number, item in enumerate(items):
            if not (isinstance(item, dict) and set(item) <= {"event", "layer", "attrs", "count"}
                    and isinstance(item.get("event"), str) and isinstance(item.get("layer"), str | None)):
                raise ValueError(f"ledger entry {number} must be an object with a string 'event', a string "
                                 "or null 'layer', 'attrs' and 'count'")
            attrs = item.get("attrs", {})
            if not (isinstance(attrs, dict) and all(isinstance(v, AttrValue) for v in attrs.values())):
                raise ValueError(f"ledger entry {number}: 'attrs' must map names to numbers, strings or "
                                 "booleans")
            ledger.record(item["event"], item.get("count"), layer=item.get("layer"), **attrs)
        return ledger

    @classmethod
    def from_json(cls, text: str) -> "Ledger":
        return cls.from_list(json.loads(text))


def _sort_key(key: _Key) -> tuple[str, str, str]:
    event, layer, attrs = key
    return event, layer or "", repr(attrs)


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
