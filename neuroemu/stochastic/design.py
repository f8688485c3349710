"""Per-layer SC-DCNN designs: which feature-extraction block, stream length and FSM size each layer gets.

SC-DCNN (Ren et al., ASPLOS 2017, Sec. 6) does not build a network from one block: its designs pick a
feature-extraction block per layer (an accurate APC block where errors hurt, a cheap MUX block where they do
not) and a bitstream length per layer. ``Stochastic.blocks`` holds such a design as text, one entry per
named layer, separated by commas::

    conv1=apc-max-btanh,fc3=mux-avg-stanh            # blocks
    conv2=apc-max-btanh:length=256                   # block and length
    1=mux-max-stanh:length=2048:states=64            # a layer by index (0 = the first weighted layer)
    fc1=length=512                                   # only the length

A layer is named by its module name (``conv1``) or its index among the weighted (conv/linear) layers; each
entry is ``LAYER=ITEM[:ITEM...]`` with items a block name (:data:`~neuroemu.stochastic.network.BLOCKS`),
``length=N`` (the layer's stream length, 1..:data:`MAX_LENGTH`) or ``states=K`` (its Stanh/Btanh state
count, an even number in 2..:data:`MAX_STATES`). Layers not named take the spec's ``block`` and ``length``
and the state count sized for their gain. A layer whose length differs from the one before it starts a new
SC segment: the streams are counted back to binary and generated again at the new length (see
:meth:`neuroemu.stochastic.spec.Stochastic.apply`).

:func:`parse_designs` checks the text (syntax, blocks, ranges) when the spec is built; :func:`resolve`
checks the layer names against the model when it is mapped. Both raise :class:`~neuroemu.specs.SpecError`
naming ``Stochastic.blocks`` and the allowed values.
"""

from __future__ import annotations

from dataclasses import dataclass

from neuroemu.specs import SpecError
from neuroemu.stochastic.network import BLOCKS

__all__ = ["MAX_LENGTH", "MAX_STATES", "LayerDesign", "format_designs", "parse_designs", "resolve"]

#: longest per-layer stream length accepted (2**20 cycles; the spec's own ``length`` has no upper bound, but
#: a bit-exact run also refuses a length whose streams do not fit in memory)
MAX_LENGTH = 1 << 20
#: largest per-layer FSM state count accepted
MAX_STATES = 1 << 16
_FIELD = "Stochastic.blocks"
_SYNTAX = ("comma-separated LAYER=ITEM[:ITEM...] entries, LAYER a layer name or index, each ITEM a block "
           f"({', '.join(BLOCKS)}), length=N or states=K")


@dataclass(frozen=True)
class LayerDesign:
    """One layer's design: its block, stream length and state count (``None``: the spec's default)."""

    block: str | None = None
    length: int | None = None
    states: int | None = None


def _int_item(key: str, text: str, entry: str, low: int, high: int, even: bool = False) -> int:
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not low <= value <= high or (even and value % 2):
        kind = "an even integer" if even else "an integer"
        raise SpecError(f"{_FIELD}: {key} in {entry!r} must be {kind} in {low}..{high}, got {text!r}")
    return value


def parse_designs(text: str | None) -> dict[str, LayerDesign]:
    """The designs of ``text`` (see the module): layer key (name or index as text) → :class:`LayerDesign`.

    Raises :class:`~neuroemu.specs.SpecError` for bad syntax, an unknown block, a layer named twice or a
    length / state count out of range."""
    if text is None:
        return {}
    designs: dict[str, LayerDesign] = {}
    entries = [e.strip() for e in text.split(",")]
    if not any(entries):
        raise SpecError(f"{_FIELD} must be {_SYNTAX}, got {text!r}")
    for entry in entries:
        layer, sep, rest = entry.partition("=")
        layer = layer.strip()
        if not sep or not layer or not rest.strip():
            raise SpecError(f"{_FIELD} must be {_SYNTAX}; entry {entry!r} is not LAYER=ITEM[:ITEM...]")
        if layer in designs:
            raise SpecError(f"{_FIELD}: layer {layer!r} is given twice")
        values: dict[str, object] = {}
        for item in (i.strip() for i in rest.split(":")):
            key, is_pair, value = item.partition("=")
            if not is_pair:
                if item not in BLOCKS:
                    raise SpecError(f"{_FIELD}: block {item!r} of layer {layer!r} is not one of "
                                    f"{list(BLOCKS)}")
                key, parsed = "block", item
            elif key.strip() == "length":
                key, parsed = "length", _int_item("length", value.strip(), entry, 1, MAX_LENGTH)
            elif key.strip() == "states":
                key, parsed = "states", _int_item("states", value.strip(), entry, 2, MAX_STATES, even=True)
            else:
                raise SpecError(f"{_FIELD}: item {item!r} of layer {layer!r} must be a block "
                                f"({', '.join(BLOCKS)}), length=N or states=K")
            if key in values:
                raise SpecError(f"{_FIELD}: layer {layer!r} gives its {key} twice")
            values[key] = parsed
        designs[layer] = LayerDesign(**values)  # type: ignore[arg-type]
    return designs


def format_designs(designs: dict[str, LayerDesign]) -> str | None:
    """The canonical text of ``designs`` (entries sorted by layer, items in block, length, states order),
    which :func:`parse_designs` reads back; ``None`` for no designs."""
    if not designs:
        return None
    entries = []
    for layer in sorted(designs):
        d = designs[layer]
        items = [d.block] if d.block else []
        items += [f"length={d.length}"] if d.length is not None else []
        items += [f"states={d.states}"] if d.states is not None else []
        entries.append(f"{layer}={':'.join(items)}")
    return ",".join(entries)


def resolve(designs: dict[str, LayerDesign], names: list[str]) -> list[LayerDesign]:
    """One :class:`LayerDesign` per weighted layer ``names`` (in order): the design given for its name or
    index, else an empty one. Raises :class:`~neuroemu.specs.SpecError` for a name or index the model does
    not have, or a layer given both by name and by index."""
    out: list[LayerDesign | None] = [None] * len(names)
    for key, design in designs.items():
        if key in names:
            index = names.index(key)
        elif key.isdigit() and int(key) < len(names):
            index = int(key)
        else:
            allowed = ", ".join(names)
            raise SpecError(f"{_FIELD}: the model has no layer {key!r}; its weighted layers are {allowed} "
                            f"(or their indices 0..{len(names) - 1})")
        if out[index] is not None:
            raise SpecError(f"{_FIELD}: layer {names[index]!r} is given twice (by name and by index)")
        out[index] = design
    return [d if d is not None else LayerDesign() for d in out]
