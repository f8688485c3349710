"""``Stochastic(...)``: the stochastic-computing substrate spec for :func:`neuroemu.map`."""

import warnings
from dataclasses import dataclass

import torch
from torch import nn

from neuroemu.stochastic.network import BLOCKS, SCLayer, SCNetwork, chunking
from neuroemu.stochastic.pipeline import SCNormalization, SCPipeline
from neuroemu.stochastic.sng import SOURCES, Source

MODES = ("bitexact", "analytic")
MUX_SELECTS = ("uniform", "weighted")
COUNTERS = ("exact", "approximate")


@dataclass(frozen=True)
class Stochastic:
    """Run a network as an SC-DCNN stochastic circuit (see :mod:`neuroemu.stochastic.network`).

    - ``length``: bitstream length ``L`` (cycles per image), >= 1.
    - ``block``: SC-DCNN feature-extraction block, one of :data:`BLOCKS`.
    - ``sng``: random source of the number generators, one of :data:`~neuroemu.stochastic.sng.SOURCES`.
    - ``seed``: seed of every source (non-negative int).
    - ``mode``: ``"bitexact"`` (emulate every bit) or ``"analytic"`` (expected values plus binomial noise;
      an approximation).
    - ``pool_segment``: segment length (cycles) of SC-DCNN's max pooling, >= 1.
    - ``cycle_budget``: images × cycles processed at once in bit-exact mode, >= 1 (a memory and speed knob:
      the circuit is clocked in blocks of 16 cycles, or a whole number of max-pooling segments, over
      ``cycle_budget // block`` images at a time; the results do not depend on it).
    - ``input_shape``: (channels, height, width) of one input image.
    - ``mux_select``: select signals of the MUX blocks' inner-product MUX: ``"uniform"`` (SC-DCNN's
      ``n``-to-1 MUX, stream value ``z / (g n)``) or ``"weighted"`` (an extension, not SC-DCNN's block:
      input ``i`` is selected with probability ``|w_i| / ||w||_1`` and passed or inverted by the weight's
      sign, stream value ``z / ||w||_1``, one select and one Stanh size per neuron). APC blocks ignore it.
    - ``counter``: the APC blocks' parallel counter: ``"exact"`` or ``"approximate"`` (Kim et al.'s
      approximate parallel counter, :func:`~neuroemu.stochastic.adders.apc_count`: AND/OR gates on input
      pairs, at most ``ceil(n/4)`` off per cycle; recorded as ``counter="apc"`` in the ledger). MUX blocks
      ignore it.
    """

    length: int = 1024
    block: str = "apc-max-btanh"
    sng: str = "sobol"
    seed: int = 0
    mode: str = "bitexact"
    pool_segment: int = 16
    cycle_budget: int = 512
    input_shape: tuple[int, int, int] = (1, 28, 28)
    mux_select: str = "uniform"
    counter: str = "exact"

    def __post_init__(self) -> None:
        for name in ("length", "pool_segment", "cycle_budget"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if self.block not in BLOCKS:
            raise ValueError(f"block must be one of {list(BLOCKS)}, got {self.block!r}")
        if self.sng not in SOURCES:
            raise ValueError(f"sng must be one of {list(SOURCES)}, got {self.sng!r}")
        if self.mux_select not in MUX_SELECTS:
            raise ValueError(f"mux_select must be one of {list(MUX_SELECTS)}, got {self.mux_select!r}")
        if self.counter not in COUNTERS:
            raise ValueError(f"counter must be one of {list(COUNTERS)}, got {self.counter!r}")
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {list(MODES)}, got {self.mode!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be an integer >= 0, got {self.seed!r}")
        shape = self.input_shape
        if (not isinstance(shape, tuple) or len(shape) != 3
                or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in shape)):
            raise ValueError(f"input_shape must be a tuple of 3 positive ints (C, H, W), got {shape!r}")

    @property
    def adder(self) -> str:
        return self.block.split("-")[0]

    @property
    def pooling(self) -> str:
        return self.block.split("-")[1]

    def apply(self, model: nn.Module) -> nn.Module:
        """Build the :class:`SCNetwork` of ``model`` (its children, applied in order, must be the network);
        a network with local response normalisation becomes an :class:`SCPipeline` of SC segments and
        stochastic normalisations (:mod:`neuroemu.stochastic.pipeline`)."""
        plan = _plan(model)
        _check_sequential(model, self.input_shape)
        source = Source(self.sng, self.seed)
        chunk_images, block_cycles = chunking(self.length, self.pool_segment, self.cycle_budget)
        stages: list[SCNetwork | SCNormalization] = []
        layers: list[SCLayer] = []
        shape = self.input_shape
        segment_shape = shape
        for index, (name, layer, pool, activation, norm) in enumerate(plan):
            if pool is not None and pool != self.pooling:
                warnings.warn(f"layer {name}: the network pools by {pool} but block {self.block!r} pools by "
                              f"{self.pooling}", stacklevel=2)
            n_rows = 0
            if not layers:  # the first block of a segment generates its input streams
                c, h, w = shape
                pad = int(layer.padding[0]) if isinstance(layer, nn.Conv2d) else 0
                n_rows = c * (h + 2 * pad) * (w + 2 * pad)
            elif isinstance(layer, nn.Conv2d) and layer.padding not in ((0, 0), 0):
                raise ValueError(f"layer {name}: only the first convolution of a segment may be padded")
            layers.append(SCLayer(name, layer, adder=self.adder, pool=self.pooling if pool else None,
                                  activation=activation, length=self.length, source=source, index=index,
                                  pool_segment=self.pool_segment, n_input_rows=n_rows, in_width=shape[2],
                                  streams=self.mode == "bitexact", mux_select=self.mux_select,
                                  counter=self.counter))
            shape = _output_shape(layer, shape, pool is not None)
            if norm is not None or index == len(plan) - 1:
                stages.append(SCNetwork(layers, length=self.length, mode=self.mode, block=self.block,
                                        seed=self.seed, input_shape=segment_shape,
                                        images_per_chunk=chunk_images, cycles_per_block=block_cycles))
                layers, segment_shape = [], shape
            if norm is not None:
                norm_name, lrn = norm
                stages.append(SCNormalization(norm_name, lrn, shape=shape, length=self.length,
                                              index=len(plan) + index, mode=self.mode, seed=self.seed))
        if len(stages) == 1:
            return stages[0]
        return SCPipeline(stages, length=self.length, mode=self.mode, block=self.block, seed=self.seed)


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


def _check_sequential(model: nn.Module, input_shape: tuple[int, int, int]) -> None:
    """The children applied in order must reproduce ``model`` (the SC network is built from that chain)."""
    x = torch.rand(2, *input_shape, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = model(x)
        y = x
        for child in model.children():
            y = child(y)
    if y.shape != expected.shape or not torch.allclose(y, expected, atol=1e-5):
        raise ValueError("the model's forward is not its children applied in order; cannot map it")
