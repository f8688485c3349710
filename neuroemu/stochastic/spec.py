"""``Stochastic(...)``: the stochastic-computing substrate spec for :func:`neuroemu.map`."""

import warnings
from dataclasses import dataclass
from typing import Any

from torch import nn

from neuroemu import memory
from neuroemu.cost.stochastic import SHARING
from neuroemu.nets.sequence import layer_sequence
from neuroemu.specs import SpecError, option, validate
from neuroemu.stochastic.design import LayerDesign, format_designs, parse_designs, resolve
from neuroemu.stochastic.network import BLOCKS, SCLayer, SCNetwork, chunking, operand_bytes
from neuroemu.stochastic.pipeline import SCNormalization, SCPipeline
from neuroemu.stochastic.sng import SOURCES, Source

#: the share of the available memory a bit-exact network's streams may take
MEMORY_SHARE = 0.5

MODES = ("bitexact", "analytic")
MUX_SELECTS = ("uniform", "weighted")
COUNTERS = ("exact", "approximate")


@dataclass(frozen=True)
class Stochastic:
    """Run a network as an SC-DCNN stochastic circuit (see :mod:`neuroemu.stochastic.network`).

    Every field is declared once below (type, default, range, help). ``mux_select="weighted"`` is an
    extension, not SC-DCNN's block: input ``i`` is selected with probability ``|w_i| / ||w||_1`` and passed
    or inverted by the weight's sign (stream value ``z / ||w||_1``, one select and one Stanh size per
    neuron); the uniform select is SC-DCNN's ``n``-to-1 MUX (stream value ``z / (g n)``). APC blocks ignore
    it. ``counter="approximate"`` is Kim et al.'s approximate parallel counter
    (:func:`~neuroemu.stochastic.adders.apc_count`: AND/OR gates on input pairs, at most ``ceil(n/4)`` off
    per cycle; recorded as ``counter="apc"`` in the ledger); MUX blocks ignore it.

    ``blocks`` gives layers their own design (SC-DCNN's per-layer choice of block, length and FSM size):
    ``"conv1=apc-max-btanh,fc3=mux-avg-stanh:length=256"`` (syntax: :mod:`neuroemu.stochastic.design`);
    layers not named take ``block`` and ``length``. It is kept in a canonical order, so the same design is
    the same spec (and the same point of a sweep).
    """

    length: int = option(1024, "bitstream length L (cycles per image)", kind=int, ge=1)
    block: str = option("apc-max-btanh", "SC-DCNN feature-extraction block", kind=str, choices=BLOCKS)
    sng: str = option("sobol", "random source of the number generators (only sobol has a price card)",
                      kind=str, choices=SOURCES)
    seed: int = option(0, "seed of every random source", kind=int, ge=0)
    mode: str = option("bitexact", "emulate every bit, or expected values plus binomial noise (an "
                       "approximation)", kind=str, choices=MODES)
    pool_segment: int = option(16, "segment length (cycles) of SC-DCNN's max pooling", kind=int, ge=1)
    cycle_budget: int = option(
        1024, "images x cycles processed at once in bit-exact mode: the circuit is clocked in blocks of 16 "
        "cycles (or whole max-pooling segments) over cycle_budget // block images at a time; a memory and "
        "speed knob, the results do not depend on it", kind=int, ge=1)
    input_shape: tuple[int, int, int] = option((1, 28, 28), "(channels, height, width) of one input image",
                                               kind="triple", ge=1, cli=False)
    mux_select: str = option("uniform", "MUX blocks' select signals: SC-DCNN's uniform n-to-1 MUX, or "
                             "|w|-weighted (an extension)", kind=str, choices=MUX_SELECTS)
    counter: str = option("exact", "APC blocks' parallel counter: exact, or Kim et al.'s approximate one",
                          kind=str, choices=COUNTERS)
    sharing: str = option(
        "shared", "number generators: one row per weight index shared by every output neuron (what is "
        "emulated), or one generator per stream (priced as such; the bits are the same)", kind=str,
        choices=SHARING, flag="--sng-sharing")
    blocks: str | None = option(
        None, "per-layer designs LAYER=ITEM[:ITEM...],... with LAYER a layer name or index and each ITEM a "
        "block, length=N or states=K, e.g. conv1=apc-max-btanh,fc3=mux-avg-stanh:length=256; layers not "
        "named take --block and the swept length", kind=str, optional=True,
        none="every layer takes block and length")

    def __post_init__(self) -> None:
        validate(self)
        # the syntax, blocks and ranges now; the layer names when a model is mapped
        object.__setattr__(self, "blocks", format_designs(parse_designs(self.blocks)))

    @property
    def adder(self) -> str:
        return self.block.split("-")[0]

    @property
    def pooling(self) -> str:
        return self.block.split("-")[1]

    def check_model(self, model: nn.Module) -> None:
        """Refuse per-layer designs that name a layer ``model`` does not have (without mapping it)."""
        if self.blocks:
            self.layer_designs([name for name, *_ in _plan(model)])

    def layer_designs(self, names: list[str]) -> list[LayerDesign]:
        """The complete design (block, length, state count or ``None``: sized for the gain) of each weighted
        layer ``names``, from ``blocks`` and the spec's ``block`` and ``length``."""
        return [LayerDesign(block=d.block or self.block, length=d.length or self.length, states=d.states)
                for d in resolve(parse_designs(self.blocks), names)]

    def _check_memory(self, plan: list[Any], designs: list[LayerDesign]) -> None:
        """Refuse a bit-exact length whose streams cannot be held, with the estimate, before drawing them.

        Each layer holds its source draw (float64, one row per input stream, per weight input and two
        selects) and its weight bits (uint8, neurons × inputs), both over its length's cycles; the first
        layer also draws one row per input pixel, and the first layer of a later segment (a new length) one
        row per input value; an APC block caches its int8 matrix-product operands per cycle
        (:func:`~neuroemu.stochastic.network.operand_bytes`). At most :data:`MEMORY_SHARE` of the memory
        available."""
        if self.mode != "bitexact":
            return
        c, h, w = self.input_shape
        need = 8 * c * (h + 4) * (w + 4) * designs[0].length  # the first layer's input rows (padding <= 2)
        previous, shape = designs[0].length, self.input_shape
        for (_, layer, pool, *_), design in zip(plan, designs, strict=True):
            outputs, inputs = layer.weight.shape[0], layer.weight[0].numel() + 1
            rows = 8 * (inputs - 1) if design.length != previous else 0  # a new segment's input rows
            operands = operand_bytes(layer, shape[2], self.counter) if design.block.startswith("apc") else 0
            need += (8 * (inputs + 2) + outputs * inputs + rows + operands) * design.length
            previous, shape = design.length, _output_shape(layer, shape, pool is not None)
        available = memory.available_memory()
        if need > MEMORY_SHARE * available:
            longest = max(d.length for d in designs)
            fits = int(MEMORY_SHARE * available // (need / longest))
            raise ValueError(f"Stochastic.length = {longest} needs about {need / 2**30:.1f} GiB for the "
                             f"streams' random numbers, weight bits and operands, "
                             f"{available / 2**30:.1f} GiB are available: at most about {fits} cycles fit "
                             f"(--length / --lengths"
                             f"{' / --blocks' if self.blocks else ''})")

    def apply(self, model: nn.Module) -> nn.Module:
        """Build the :class:`SCNetwork` of ``model`` (its children, applied in order, must be the network);
        a network with local response normalisation becomes an :class:`SCPipeline` of SC segments and
        stochastic normalisations (:mod:`neuroemu.stochastic.pipeline`).

        Each layer gets its design from ``blocks`` (else ``block`` and ``length``). Where a layer's length
        differs from the previous layer's, a new segment starts, as at a normalisation: the previous
        segment's output streams are counted back to bipolar values (``sc_counter_update``
        ``purpose="decode"``) and the new segment's input comparators generate streams of the new length
        (``sc_sng_draw`` ``operand="input"``), a binary boundary as in hybrid stochastic-binary designs."""
        plan = _plan(model)
        layer_sequence(model, self.input_shape)  # its children, applied in order, must be the network
        designs = self.layer_designs([name for name, *_ in plan])
        self._check_memory(plan, designs)
        source = Source(self.sng, self.seed)
        stages: list[SCNetwork | SCNormalization] = []
        layers: list[SCLayer] = []
        shape = self.input_shape
        segment_shape = shape
        for index, ((name, layer, pool, activation, norm), design) in enumerate(zip(plan, designs,
                                                                                    strict=True)):
            adder, pooling = design.block.split("-")[:2]
            if pool is not None and pool != pooling:
                warnings.warn(f"layer {name}: the network pools by {pool} but block {design.block!r} pools "
                              f"by {pooling}", stacklevel=2)
            n_rows = 0
            if not layers:  # the first block of a segment generates its input streams
                c, h, w = shape
                pad = int(layer.padding[0]) if isinstance(layer, nn.Conv2d) else 0
                n_rows = c * (h + 2 * pad) * (w + 2 * pad)
            elif isinstance(layer, nn.Conv2d) and layer.padding not in ((0, 0), 0):
                raise ValueError(f"layer {name}: only the first convolution of a segment may be padded")
            sc_layer = SCLayer(name, layer, adder=adder, pool=pooling if pool else None,
                               activation=activation, length=design.length, source=source, index=index,
                               pool_segment=self.pool_segment, n_input_rows=n_rows, in_width=shape[2],
                               streams=self.mode == "bitexact", mux_select=self.mux_select,
                               counter=self.counter, sharing=self.sharing)
            if design.states is not None:  # the design's FSM size instead of the one sized for the gain
                if not activation:
                    raise SpecError(f"Stochastic.blocks: layer {name} has no activation (its counters give "
                                    "the logits), so states=K does not apply to it")
                sc_layer.states = design.states
            layers.append(sc_layer)
            shape = _output_shape(layer, shape, pool is not None)
            last = index == len(plan) - 1
            if norm is not None or last or designs[index + 1].length != design.length:
                chunk_images, block_cycles = chunking(design.length, self.pool_segment, self.cycle_budget)
                stages.append(SCNetwork(layers, length=design.length, mode=self.mode,
                                        block=self._describe(), seed=self.seed,
                                        input_shape=segment_shape, images_per_chunk=chunk_images,
                                        cycles_per_block=block_cycles))
                layers, segment_shape = [], shape
            if norm is not None:
                norm_name, lrn = norm
                stages.append(SCNormalization(norm_name, lrn, shape=shape, length=design.length,
                                              index=len(plan) + index, mode=self.mode, seed=self.seed,
                                              sharing=self.sharing))
        if len(stages) == 1:
            return stages[0]
        return SCPipeline(stages, length=self.length, mode=self.mode, block=self._describe(),
                          seed=self.seed)

    def _describe(self) -> str:
        """The block (``block`` alone without per-layer designs) a network or pipeline shows."""
        if not self.blocks:
            return self.block
        return f"{self.block}; {self.blocks}"


def _output_shape(layer: nn.Module, shape: tuple[int, int, int], pooled: bool) -> tuple[int, int, int]:
    """(C, H, W) after a conv (and 2×2 pooling) layer; (n, 1, 1) after a linear one."""
    if isinstance(layer, nn.Linear):
        return (layer.out_features, 1, 1)
    _, h, w = shape
    pad, k = int(layer.padding[0]), int(layer.kernel_size[0])
    h, w = h + 2 * pad - k + 1, w + 2 * pad - k + 1
    return (layer.out_channels, h // 2, w // 2) if pooled else (layer.out_channels, h, w)


def _plan(model: nn.Module) -> list[tuple[str, nn.Module, str | None, bool, tuple[str, nn.Module] | None]]:
    """Group the children into (name, weighted layer, pooling kind or None, has activation, the
    (name, LRN) that follows or None)."""
    plan: list[list] = []
    for name, child in model.named_children():
        if isinstance(child, nn.Conv2d | nn.Linear):
            plan.append([name, child, None, False, None])
        elif isinstance(child, nn.Flatten | nn.Identity | nn.Dropout):
            continue
        elif not plan:
            raise ValueError(f"{name} ({type(child).__name__}) comes before any conv/linear layer")
        elif isinstance(child, nn.Tanh):
            plan[-1][3] = True
        elif isinstance(child, nn.LocalResponseNorm):
            if not plan[-1][3] or not isinstance(plan[-1][1], nn.Conv2d):
                raise ValueError(f"{name}: local response normalisation is mapped after a convolution's tanh")
            plan[-1][4] = (name, child)
        elif isinstance(child, nn.MaxPool2d | nn.AvgPool2d):
            if child.kernel_size not in (2, (2, 2)) or child.stride not in (2, (2, 2)):
                raise ValueError(f"{name}: only 2×2 pooling with stride 2 is mapped")
            plan[-1][2] = "max" if isinstance(child, nn.MaxPool2d) else "avg"
        else:
            raise ValueError(
                f"{name} ({type(child).__name__}) has no SC block: SC-DCNN activations approximate tanh, "
                "so map a tanh network (e.g. the shipped 'lenet5-mnist-tanh')")
    if not plan:
        raise ValueError("the model has no conv/linear layers to map")
    if plan[-1][3] or plan[-1][2] or plan[-1][4]:
        raise ValueError("the last layer must be a plain conv/linear layer (the logits)")
    if any(not act for _, _, _, act, _ in plan[:-1]):
        raise ValueError("every layer but the last must be followed by a tanh activation")
    return [tuple(p) for p in plan]

