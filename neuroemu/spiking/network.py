"""A ReLU network converted to a rate-coded spiking network of integrate-and-fire (IF) neurons.

Conversion after Rueckauer et al., "Conversion of continuous-valued deep networks to efficient event-driven
networks for image classification", Front. Neurosci. 11:682 (2017), with Diehl et al.'s weight
normalisation (IJCNN 2015):

- every hidden Conv2d / Linear + ReLU becomes a layer of IF neurons with threshold 1: each step the membrane
  potential integrates the weighted input events plus the bias, and a neuron whose potential reaches 1
  spikes and is reset by subtracting 1 (or to 0). Over T steps its spike rate approximates the ReLU output
  divided by the layer's scale λ_l, to within 1 / T;
- λ_l is a percentile of the layer's positive ReLU outputs on calibration images (:func:`calibrate`);
  weights become W_l·λ_(l−1)/λ_l and biases b_l/λ_l (λ_0 = 1: inputs are pixels in [0, 1]);
- the last Conv2d / Linear does not spike: its neurons accumulate their input current, and the logits are
  the accumulated potential / T (in the original network's units, λ = 1 for that layer);
- each step's synaptic sums are exact: inputs are spikes (or average-pooled spikes) and the scaled weights
  are rounded to a 2^-q grid fine enough (q ≈ 20 for LeNet-5) that float32 holds every partial sum
  exactly, so no batch size, thread count or convolution algorithm changes a spike (the constant input
  current of the first layer is computed once, in float64);
- average pooling is linear and passes events on (each pooled unit delivers the events of its window);
  max pooling passes, each step, the spikes of the window's neuron that has fired most so far (Rueckauer
  et al.'s spike-gating max-pool; ties go to the first neuron of the window);
- every layer updates within the step (zero delay: layer l integrates layer l−1's spikes of the same
  step), so the network is simulated layer by layer over whole spike trains (:mod:`neuroemu.spiking.scan`),
  spike for spike as a step-by-step simulation.

Ledger events (per weight layer, named as in the original model), priced by
:func:`neuroemu.cost.spiking.spiking_rules`:

- ``synaptic_op``: one input event crossing one synapse (every synapse of a dense layer's fan-out counts, a
  zero weight included, as on a chip that stores the layer densely). Constant input (attribute ``input``)
  is counted as the spec's ``input_events`` says: ``bias`` (default), each non-zero pixel × fan-out once
  per image, the first layer's current being computed once and injected every step as a bias (Rueckauer et
  al.'s toolbox counts analog input operations once; NeuroBench, Yik et al. 2024, keeps such dense
  multiply-accumulates apart from spike-driven accumulates); ``graded``, once per step (an upper bound);
- ``neuron_update`` (``active`` True / False): one membrane update per neuron per step, active when at
  least one input event reached the neuron that step (the bias current alone does not count);
- ``spike_route`` (``hops``): one spike emitted by an IF neuron (or a Poisson input spike) sent to the next
  layer, ``hops_per_spike`` mesh hops away.

- ``maxpool_gate`` (``window``, ``bits``) and ``maxpool_count`` (``bits``), only with ``maxpool_gate =
  "counted"``: one gate evaluation (window − 1 comparisons of b-bit spike counters) per pooled output per
  step, one counter increment per spike entering the pool; otherwise :attr:`SpikingNetwork.not_counted`
  names the gate and why, and energy reports list it.

Every event is recorded per image (:meth:`neuroemu.ledger.Ledger.record_images`): the energy of each
inference is priced, and reports give its mean ± 95 % confidence interval over images.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from neuroemu.ledger import Ledger, RecordsEvents
from neuroemu.nets.sequence import layer_sequence
from neuroemu.spiking.brian import run_brian2
from neuroemu.spiking.scan import MEMORY_BUDGET, gate_dtype, gate_max, if_scan, plan, window_major

if TYPE_CHECKING:  # annotations only: the spec imports this module to build the network
    from neuroemu.spiking.spec import Spiking

__all__ = ["BRIAN2_CHUNK", "SpikingNetwork", "calibrate"]

#: images per brian2 network (one copy of the network per image: memory grows with it)
BRIAN2_CHUNK = 16

WEIGHT_TYPES = (nn.Conv2d, nn.Linear)
#: the layer types the conversion knows, matched exactly: a subclass (a quantised Conv2d, a ReLU with
#: another forward) computes something else and is refused rather than converted as its base class
SUPPORTED = (nn.Conv2d, nn.Linear, nn.ReLU, nn.MaxPool2d, nn.AvgPool2d, nn.Flatten)


@dataclass(frozen=True)
class _Op:
    """One step of the converted network: a weight layer (hidden or output), a pooling, or a flatten."""

    kind: str  #: "weight", "max", "avg" or "flatten"
    name: str = ""
    index: int = -1  #: weight layers: position among the weight layers
    kernel: int = 0  #: pooling: kernel = stride
    output: bool = False  #: weight layers: the last one (accumulates, does not spike)


class SpikingNetwork(RecordsEvents, nn.Module):
    """The spiking twin of a ReLU network (see the module); ``forward(images) -> logits`` after
    :func:`calibrate`. Events go to ``self.ledger`` (or the ledger of ``neuroemu.ledger.recording``)."""

    def __init__(self, layers: list[nn.Module], ops: list[_Op], spec: Spiking) -> None:
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.ops, self.spec = ops, spec
        self.scales: list[float] | None = None  #: λ per hidden weight layer, set by calibrate()
        self._fanout: dict[tuple[int, tuple[int, ...]], torch.Tensor] = {}
        self._input_grid: list[int] = []  #: per weight layer: side k of the average pooling before it
        side = 1
        for op in ops:
            if op.kind == "avg":
                side *= op.kernel
            elif op.kind == "weight":
                self._input_grid.append(side)
                side = 1
        self.ledger = Ledger()
        #: per-image event counts of the chunk being simulated, by (event, layer, attributes); None: no ledger
        self._images: dict[tuple, torch.Tensor] | None = None
        #: bytes a block of steps may take (see :func:`neuroemu.spiking.scan.plan`); any value gives the
        #: same result
        self.memory_budget = MEMORY_BUDGET

    @classmethod
    def from_model(cls, model: nn.Module, spec: Spiking) -> SpikingNetwork:
        """Convert a sequential ReLU network for ``spec``: its layers, in the order its forward applies
        them (:func:`neuroemu.nets.sequence.layer_sequence`, checked on a probe input of
        ``spec.input_shape``), must be Conv2d / Linear each followed by ReLU (but the last), max / average
        pooling with kernel = stride, and Flatten; anything else is refused, naming the layer and its type."""
        layers: list[nn.Module] = []
        ops: list[_Op] = []
        sequence = layer_sequence(model, spec.input_shape)
        for pos, (name, module) in enumerate(sequence):
            if type(module) not in SUPPORTED:
                raise ValueError(f"layer {name!r} ({type(module).__name__}) has no spiking equivalent; "
                                 f"supported: {', '.join(t.__name__ for t in SUPPORTED)}")
            if isinstance(module, WEIGHT_TYPES):
                if isinstance(module, nn.Conv2d) and (module.groups != 1 or module.dilation != (1, 1)
                                                      or module.padding_mode != "zeros"):
                    raise ValueError(f"layer {name!r}: spiking conversion supports plain convolutions "
                                     "(groups 1, dilation 1, zero padding)")
                rest = sequence[pos + 1:]
                output = not any(isinstance(m, WEIGHT_TYPES) for _, m in rest)
                if not output and type(rest[0][1]) is not nn.ReLU:
                    raise ValueError(f"layer {name!r} must be followed by ReLU to become integrate-and-fire "
                                     f"neurons, got {_named(rest[0])}")
                if output and rest:
                    raise ValueError(f"the last layer {name!r} must give the logits; found {_named(rest[0])} "
                                     "after it")
                ops.append(_Op("weight", name, len(layers), output=output))
                layers.append(module)
            elif isinstance(module, nn.ReLU):
                if not ops or ops[-1].kind != "weight":
                    raise ValueError(f"ReLU {name!r} must directly follow a Conv2d or Linear layer")
            elif isinstance(module, nn.MaxPool2d | nn.AvgPool2d):
                ops.append(_Op("max" if isinstance(module, nn.MaxPool2d) else "avg", name,
                               kernel=_pool_kernel(name, module)))
                if ops[-1].kind == "max" and (len(ops) < 2 or ops[-2].kind != "weight"):
                    raise ValueError(f"max pooling {name!r} must follow a spiking (Conv2d + ReLU) layer")
            else:
                ops.append(_Op("flatten", name))
        if not layers:
            raise ValueError("the model has no Conv2d or Linear layer to convert")
        return cls(layers, ops, spec)

    @property
    def not_counted(self) -> list[dict[str, object]]:
        """Circuits the ledger leaves out under this spec, with why (energy reports list them)."""
        weights = [op.name for op in self.ops if op.kind == "weight"]
        if self.spec.backend != "torch":
            return [{"what": "synaptic operations, neuron updates and the max-pool gate", "layers": weights,
                     "reason": f"backend {self.spec.backend!r} records only the spikes (spike_route); the "
                               "torch backend gives the same spikes as 'brian2', with every event"}]
        pools = [op.name for op in self.ops if op.kind == "max"]
        if not pools or self.spec.maxpool_gate == "counted":
            return []
        return [{"what": "max-pool spike gate", "layers": pools,
                 "reason": "maxpool_gate 'uncounted': no spiking_core card (Loihi, TrueNorth) has a max-pool "
                           "gate circuit to price it with, and leaving it off keeps results comparable with "
                           "earlier ones; '--maxpool-gate counted' counts window - 1 counter comparisons per "
                           "pooled output per step and a counter increment per spike, priced as digital adds "
                           "(Horowitz 2014, 45 nm, not the core card's node)"}]

    def extra_repr(self) -> str:
        s = self.spec
        return (f"timesteps={s.timesteps}, encoding={s.encoding!r}, reset={s.reset!r}, "
                f"percentile={s.percentile}, calibrated={self.scales is not None}")

    # ------------------------------------------------------------------ the float network (calibration)

    def ann_forward(self, images: torch.Tensor, hidden: list[list[torch.Tensor]] | None = None
                    ) -> torch.Tensor:
        """The original ReLU network (float64); appends each hidden layer's ReLU output to ``hidden``."""
        x = images.to(torch.float64)
        for op in self.ops:
            if op.kind == "weight":
                layer = self.layers[op.index]
                bias = None if layer.bias is None else layer.bias.double()
                x = _apply(layer, x, layer.weight.double(), bias)
                if not op.output:
                    x = x.clamp(min=0)
                    if hidden is not None:
                        hidden[op.index].append(x)
            else:
                x = self._pool_or_flatten(op, x)
        return x

    def _pool_or_flatten(self, op: _Op, x: torch.Tensor) -> torch.Tensor:
        if op.kind == "max":
            return F.max_pool2d(x, op.kernel)
        if op.kind == "avg":
            return F.avg_pool2d(x, op.kernel)
        return x.flatten(1)

    # ------------------------------------------------------------------ the spiking network

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Logits (B, classes): the output layer's accumulated potential / timesteps.

        Simulated layer by layer over whole spike trains (:mod:`neuroemu.spiking.scan`), in chunks of
        images and blocks of steps that fit :data:`~neuroemu.spiking.scan.MEMORY_BUDGET`; every spike is
        the one a step-by-step simulation in the zero-delay order gives."""
        if self.scales is None:
            raise RuntimeError("the spiking network is not calibrated: call "
                               "neuroemu.spiking.calibrate(network, training_images) first")
        spec = self.spec
        self._check_shape(images)
        x0 = images.to(torch.float64)
        if torch.isnan(x0).any():
            raise ValueError("images contain NaN")
        if spec.encoding == "poisson" and ((x0 < 0).any() or (x0 > 1).any()):
            raise ValueError("Poisson encoding needs pixels in [0, 1] (the 'unit' normalisation)")
        if spec.backend != "torch":
            return self._brian2(images)
        weights = self._scaled_weights()
        exact = self._exact_weights(weights)
        x0 = self._rows(x0)
        group = self._rows_per_image()
        per_step = group * self._bytes_per_image_step(x0.shape[1:])
        chunk, block = plan(len(x0) // group, spec.timesteps, per_step, self.memory_budget)
        chunk *= group
        logits = [self._simulate(x0[start:start + chunk], weights, exact, block)
                  for start in range(0, len(x0), chunk)]
        if not logits:
            logits = [self._simulate(x0, weights, exact, block)]
        return self._outputs(torch.cat(logits) / spec.timesteps).to(torch.float32)

    def _brian2(self, images: torch.Tensor) -> torch.Tensor:
        """The network built and run in brian2 (:mod:`neuroemu.spiking.brian`), :data:`BRIAN2_CHUNK`
        images per brian2 network; records each IF layer's spikes (spike_route) per image."""
        schedule = "zero-delay" if self.spec.backend == "brian2" else "delayed"
        logits = []
        for start in range(0, len(images), BRIAN2_CHUNK):
            run = run_brian2(self, images[start:start + BRIAN2_CHUNK], schedule=schedule)
            if self.ledger is not None:
                ledgers = [Ledger() for _ in range(len(run.logits))]
                for op in (o for o in self.ops if o.kind == "weight" and not o.output):
                    for ledger, count in zip(ledgers, run.counts[op.name].sum(1).tolist(), strict=True):
                        if count:
                            ledger.record("spike_route", int(count), layer=op.name,
                                          hops=self.spec.hops_per_spike)
                self.ledger.record_images(ledgers)
            logits.append(run.logits)
        return torch.cat(logits)

    # hooks for synapses other than the exact digital ones (crossbar synapses, neuroemu.resparc)

    def _rows(self, x0: torch.Tensor) -> torch.Tensor:
        """The simulated rows of a batch of images (here: the images themselves)."""
        return x0

    def _rows_per_image(self) -> int:
        """Simulated rows per image (chip instances), kept together in a chunk."""
        return 1

    def _outputs(self, logits: torch.Tensor) -> torch.Tensor:
        """The returned logits of the simulated rows' logits."""
        return logits

    def _constant_current(self, op: _Op, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None
                          ) -> torch.Tensor:
        """The input current of a layer whose input ``x`` (B, ...) is the same every step (float64)."""
        return _apply(self.layers[op.index], x, weight, bias)

    def _event_current(self, op: _Op, x: torch.Tensor, exact: torch.Tensor) -> torch.Tensor:
        """The synaptic current of input events ``x`` (steps·B, ...) without the bias: an exact float32 sum
        on the weight grid (see :meth:`_exact_weights`)."""
        return _apply(self.layers[op.index], x, exact, None)

    def _bytes_per_image_step(self, shape: torch.Size) -> int:
        """Bytes one image's step takes in the largest layer: its input events (float32, and a float64
        Poisson draw for the first), its float64 current and its float32 spikes."""
        x = torch.zeros(1, *shape)
        largest = 0
        for op in self.ops:
            if op.kind == "weight":
                layer = self.layers[op.index]
                out = _apply(layer, x, layer.weight.detach().float(), None)
                largest = max(largest, 12 * x.numel() + 16 * out.numel())
                x = out
            else:
                x = self._pool_or_flatten(op, x)
        return largest

    def _simulate(self, x0: torch.Tensor, weights: list[tuple[torch.Tensor, torch.Tensor | None]],
                  exact: list[torch.Tensor], block: int) -> torch.Tensor:
        """The accumulated output potential (B, classes) of one chunk of images, ``block`` steps at a time."""
        spec = self.spec
        batch = len(x0)
        potentials: dict[int, torch.Tensor] = {}
        counts: dict[str, torch.Tensor] = {}  # max pooling: spikes so far per window input
        generator = torch.Generator().manual_seed(spec.seed) if spec.encoding == "poisson" else None
        first_current: torch.Tensor | None = None
        logits = torch.zeros(batch, dtype=torch.float64)
        layouts = self._spike_layouts()
        self._images = {} if self.ledger is not None else None
        for begin in range(0, spec.timesteps, block):
            steps = min(block, spec.timesteps - begin)
            # x: the next layer's input values, events: its input events; (steps, B, ...) or, while the
            # input is the constant image, (B, ...) for every step
            constant = generator is None
            if constant:
                x, events = x0, (x0 != 0).to(torch.float32)
            else:  # the draws of these steps, shared by every image
                uniform = torch.rand(steps, *x0.shape[1:], generator=generator, dtype=torch.float64)
                x = events = (uniform.unsqueeze(1) < x0).to(torch.float32)
                self._record("spike_route", _per_image(x), "input", hops=spec.hops_per_spike)
            for op in self.ops:
                if op.kind != "weight":
                    x, events = self._pass(op, x, events, constant, counts)
                    continue
                layer, (w, b) = self.layers[op.index], weights[op.index]
                if constant:  # the same current every step, computed once (float64), in the gate's layout
                    if first_current is None:
                        first_current = _gate_layout(self._constant_current(op, x, w, b),
                                                     layouts.get(op.index)).contiguous()
                    current = first_current
                else:  # events on a grid: an exact float32 sum (see _exact_weights); bias added per step
                    current = self._event_current(op, x.flatten(0, 1), exact[op.index])
                    current = current.view(steps, batch, *current.shape[1:])
                    if b is not None:
                        b = b.view(-1, 1, 1) if current.dim() == 5 else b
                if not constant:
                    self._record_synapses(op, layer, events, steps, constant)
                elif begin > 0:  # the same input every step: recorded for the whole run with the first block
                    pass
                elif spec.input_events == "graded":  # every non-zero pixel an event at every step
                    self._record_synapses(op, layer, events, spec.timesteps, constant, spec.timesteps,
                                          input="graded")
                else:  # the current computed once per image, injected as a bias every step
                    self._record_synapses(op, layer, events, spec.timesteps, constant, 1, input="bias")
                shape = current.shape if constant else current.shape[1:]
                v = potentials.get(op.index)
                if v is None:
                    v = potentials[op.index] = torch.zeros(shape, dtype=torch.float64)
                if op.output:  # accumulates step by step (every step's current + bias at once: small)
                    every = current if constant else current.double() if b is None else current + b
                    for t in range(steps):
                        v = v + (every if constant else every[t])
                    logits = potentials[op.index] = v
                    continue
                x = events = if_scan(current, v, steps, spec.reset, None if constant else b,
                                     layouts[op.index][0])
                constant = False
                self._record("spike_route", _per_image(x), op.name, hops=spec.hops_per_spike)
        if self.ledger is not None and self._images is not None:
            self.ledger.record_images(_image_ledgers(self._images, batch))
        self._images = None
        return logits

    def _spike_layouts(self) -> dict[int, tuple[torch.dtype, int]]:
        """Each hidden weight layer's spikes: (dtype, gate kernel). Where the layer feeds a max-pool gate
        (and spike counts) only: the gate's integer dtype (:func:`~neuroemu.spiking.scan.gate_dtype`), or
        float32, and the gate's kernel (a constant current is laid out for the gate, see
        :func:`_gate_layout`); otherwise float32 (the next layer's input) and 0."""
        layouts = {}
        for op, following in zip(self.ops, [*self.ops[1:], None], strict=True):
            if op.kind != "weight" or op.output:
                continue
            if following is None or following.kind != "max":
                layouts[op.index] = (torch.float32, 0)
                continue
            gate = gate_dtype(following.kernel, self.spec.timesteps)
            layouts[op.index] = (torch.float32 if gate.is_floating_point else gate, following.kernel)
        return layouts

    def _check_shape(self, images: torch.Tensor) -> None:
        """Refuse images that the first weight layer cannot take (after the pooling / flatten before it)."""
        first = self.layers[0]
        expected = ((4, first.in_channels) if isinstance(first, nn.Conv2d) else (2, first.in_features))
        before = self.ops[:next(i for i, op in enumerate(self.ops) if op.kind == "weight")]
        if not before:
            if images.dim() != expected[0] or images.shape[1] != expected[1]:
                raise ValueError(f"images must have {expected[0]} dimensions with {expected[1]} "
                                 f"{'channels' if expected[0] == 4 else 'features'} in dimension 1, "
                                 f"got shape {tuple(images.shape)}")
            return
        reached: tuple[int, ...] | None = None
        try:  # the ops before the first weight layer, on one blank image of that shape
            x = torch.zeros(1, *images.shape[1:])
            for op in before:
                x = self._pool_or_flatten(op, x)
            reached = tuple(x.shape)
        except RuntimeError:
            pass
        names, first_name = ", ".join(repr(op.name) for op in before), self.ops[len(before)].name
        needs = (f"the first weight layer {first_name!r} needs {expected[0]} dimensions with {expected[1]} "
                 f"{'channels' if expected[0] == 4 else 'features'} in dimension 1")
        if reached is None:
            raise ValueError(f"images of shape {tuple(images.shape)} cannot pass {names}; {needs}")
        if len(reached) != expected[0] or reached[1] != expected[1]:
            raise ValueError(f"images of shape {tuple(images.shape)} become shape "
                             f"{(len(images), *reached[1:])} after {names}, but {needs}")

    def _pass(self, op: _Op, x: torch.Tensor, events: torch.Tensor, constant: bool,
              counts: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Pooling / flatten of a block's input values and events: (steps, B, ...), or (B, ...) while
        ``constant`` (the constant input image; max pooling is refused there by :meth:`from_model`)."""
        lead = 1 if constant else 2
        if op.kind == "flatten":
            return x.flatten(lead), events.flatten(lead)
        k = op.kernel
        if op.kind == "avg":  # a pooled unit delivers every event of its window
            return _pooled(x, k, lead), _pooled(events, k, lead) * (k * k)
        # 7 dimensions: the spikes laid out window position by position (_gate_layout)
        gated, counts[op.name] = gate_max(x, k, counts.get(op.name), self.spec.timesteps, x.dim() == 7)
        if self.spec.maxpool_gate == "counted":
            bits = int(self.spec.timesteps).bit_length()  # a spike counter holds 0 … timesteps
            outputs = gated[:, 0].numel()  # pooled outputs × steps of one image
            self._record("maxpool_gate", torch.full((x.shape[1],), outputs, dtype=torch.int64), op.name,
                         window=k * k, bits=bits)
            self._record("maxpool_count", _per_image(x), op.name, bits=bits)
        return gated, gated

    def _scaled_weights(self) -> list[tuple[torch.Tensor, torch.Tensor | None]]:
        """W_l·λ_(l−1)/λ_l and b_l/λ_l (the output layer: λ = 1)."""
        assert self.scales is not None
        scaled = []
        for op in (o for o in self.ops if o.kind == "weight"):
            layer = self.layers[op.index]
            lam_in = 1.0 if op.index == 0 else self.scales[op.index - 1]
            lam_out = 1.0 if op.output else self.scales[op.index]
            bias = None if layer.bias is None else layer.bias.detach().double() / lam_out
            scaled.append((layer.weight.detach().double() * (lam_in / lam_out), bias))
        return scaled

    def _exact_weights(self, weights: list[tuple[torch.Tensor, torch.Tensor | None]]) -> list[torch.Tensor]:
        """Float32 weights whose every partial sum over a step's input events is exact.

        A layer's inputs are spikes (0 or 1) or average-pooled spikes (multiples of 1/k²), so with the
        scaled weights rounded to multiples of 2^-q every partial sum is a whole number of 2^-q/k² steps;
        q is the largest that keeps the largest possible sum (the largest row sum of |w|) below 2^24 such
        steps, so float32 represents every partial sum exactly whatever the summation order: the result
        cannot depend on the batch size, the thread count or the convolution algorithm. q is about 20 for
        LeNet-5, a change of the weights below 1e-6.
        """
        exact = []
        for op in (o for o in self.ops if o.kind == "weight"):
            w = weights[op.index][0]
            largest = float(w.abs().flatten(1).sum(1).max())
            grid_bits = 2 * max(0, int(np.ceil(np.log2(self._input_grid[op.index]))))
            q = 23 - grid_bits - (int(np.ceil(np.log2(largest))) if largest > 0 else 0)
            exact.append((torch.round(w * 2.0**q) / 2.0**q).float())
        return exact

    # ------------------------------------------------------------------ ledger

    def _record(self, event: str, counts: torch.Tensor, layer: str, **attrs: int | bool | str) -> None:
        """``counts[i]`` events of image i of the chunk (whole numbers), on that image's ledger."""
        if self._images is None:
            return
        key = (event, layer, tuple(sorted(attrs.items())))
        total = self._images.get(key)
        self._images[key] = counts.to(torch.int64, copy=True) if total is None else total.add_(counts)

    def _record_synapses(self, op: _Op, layer: nn.Module, events: torch.Tensor, steps: int, constant: bool,
                         synapse_steps: int = 1, **attrs: str) -> None:
        """synaptic_op and neuron_update of ``steps`` steps of input ``events`` (steps, B, ...), or (B, ...)
        the same every step if ``constant``, whose synaptic operations are then counted ``synapse_steps``
        times; ``attrs`` go on synaptic_op."""
        if self._images is None:
            return
        per_step = events if constant else events.flatten(0, 1)
        repeat, rows = (steps, 1) if constant else (1, steps)  # rows: steps of an image in per_step
        batch = len(per_step) // rows
        # the events at each input position, over its channels (a dense layer's fan-out is the same for every
        # channel of a position); whole numbers below 2^24: exact in float32, then in float64 over the steps
        arriving = per_step.sum(1)
        if isinstance(layer, nn.Conv2d):
            fanout = self._fanout_of(op.index, layer, tuple(arriving.shape[1:])).flatten()
            reached = _reached(arriving, layer)
            active = reached.view(rows, batch, -1).sum((0, 2)) * layer.out_channels
            neurons = layer.out_channels * reached.shape[-2] * reached.shape[-1]
        else:
            fanout = layer.out_features
            active = (arriving > 0).view(rows, batch).sum(0) * layer.out_features
            neurons = layer.out_features
        over_steps = arriving.view(rows, batch, -1).sum(0, dtype=torch.float64)
        synapses = (over_steps * fanout).sum(1).round().long()
        self._record_synaptic(op, per_step, rows, synapses * synapse_steps, synapse_steps, **attrs)
        self._record("neuron_update", repeat * active, op.name, active=True)
        self._record("neuron_update", repeat * (rows * neurons - active), op.name, active=False)

    def _record_synaptic(self, op: _Op, per_step: torch.Tensor, rows: int, synapses: torch.Tensor,
                         synapse_steps: int, **attrs: str) -> None:
        """The synapses' events of input events ``per_step`` (rows·B, ...) ordered (step, image), counted
        ``synapse_steps`` times: ``synapses`` (B,) synaptic operations on a neuromorphic core."""
        self._record("synaptic_op", synapses, op.name, **attrs)

    def _fanout_of(self, index: int, layer: nn.Conv2d, in_shape: tuple[int, int]) -> torch.Tensor:
        """Synapses leaving a channel of each input position (H, W) of convolution ``index`` (its dense
        fan-out: every output it reaches, on every output channel; the same for every input channel)."""
        key = (index, in_shape)
        if key not in self._fanout:  # a transposed convolution of ones
            h, w = in_shape
            (kh, kw), (sh, sw), (ph, pw) = layer.kernel_size, layer.stride, layer.padding
            ho, wo = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
            extra = (h - ((ho - 1) * sh - 2 * ph + kh), w - ((wo - 1) * sw - 2 * pw + kw))
            outputs = torch.ones(1, layer.out_channels, ho, wo)
            synapses = torch.ones(layer.out_channels, 1, kh, kw)
            self._fanout[key] = F.conv_transpose2d(outputs, synapses, stride=layer.stride,
                                                   padding=layer.padding, output_padding=extra)[0, 0]
        return self._fanout[key]


def calibrate(network: SpikingNetwork, images: torch.Tensor, batch_size: int = 256) -> list[float]:
    """Set each hidden layer's scale λ to the ``percentile`` of its positive ReLU outputs on ``images``
    (training images, not the test set), rounded to float32 so that the batch size cannot change it;
    returns the scales."""
    if not isinstance(network, SpikingNetwork):
        raise TypeError(f"calibrate needs a SpikingNetwork (neuroemu.map(model, Spiking(...))), "
                        f"got {type(network).__name__}")
    if len(images) == 0:
        raise ValueError("calibration needs at least one image")
    hidden_count = sum(1 for op in network.ops if op.kind == "weight" and not op.output)
    hidden: list[list[torch.Tensor]] = [[] for _ in range(hidden_count)]
    with torch.inference_mode():
        for start in range(0, len(images), batch_size):
            network.ann_forward(images[start:start + batch_size], hidden)
    names = [op.name for op in network.ops if op.kind == "weight" and not op.output]
    scales = []
    for name, outputs in zip(names, hidden, strict=True):
        values = torch.cat([o.flatten() for o in outputs])
        positive = values[values > 0].numpy()
        if positive.size == 0:
            raise ValueError(f"layer {name!r} has no positive output on the calibration images")
        # at float32 precision: a float64 convolution's last bit depends on the batch, the scale must not
        scales.append(float(np.float32(np.percentile(positive, network.spec.percentile))))
    network.scales = scales
    return scales


def _named(layer: tuple[str, nn.Module]) -> str:
    return f"{layer[0]!r} ({type(layer[1]).__name__})"


def _pool_kernel(name: str, pool: nn.Module) -> int:
    kernel, stride, padding = pool.kernel_size, pool.stride, pool.padding
    if (not isinstance(kernel, int) or stride not in (kernel, None) or padding != 0
            or getattr(pool, "ceil_mode", False)):
        raise ValueError(f"pooling {name!r}: spiking conversion supports square pools with kernel = stride "
                         f"and no padding, got kernel {kernel}, stride {stride}, padding {padding}")
    return kernel


def _image_ledgers(counts: dict[tuple, torch.Tensor], batch: int) -> list[Ledger]:
    """One ledger per image from per-image counts by (event, layer, attributes)."""
    ledgers = [Ledger() for _ in range(batch)]
    for (event, layer, attrs), values in counts.items():
        for ledger, count in zip(ledgers, values.tolist(), strict=True):
            if count:
                ledger.record(event, count, layer=layer, **dict(attrs))
    return ledgers


def _per_image(spikes: torch.Tensor) -> torch.Tensor:
    """The spikes (0 / 1, float32 or an integer dtype) of each image of a block (steps, batch, ...): int64
    (batch,), counted exactly with no transposed copy of the block: integer spikes per neuron over the steps
    in their own dtype (it holds the step count), then over the neurons; float32 spikes per step and image
    (a float32 sum, exact below 2^24 neurons), then whole numbers over the steps."""
    per_step = spikes.flatten(2)
    if not spikes.is_floating_point():
        over_steps = spikes.dtype if len(spikes) <= torch.iinfo(spikes.dtype).max else torch.int64
        return per_step.sum(0, dtype=over_steps).sum(1, dtype=torch.int64)
    counts = per_step.sum(2) if per_step.shape[2] < 2**24 else torch.count_nonzero(per_step, dim=2)
    return counts.long().sum(0)


def _gate_layout(current: torch.Tensor, layout: tuple[torch.dtype, int] | None) -> torch.Tensor:
    """A constant current (B, C, H, W), laid out window position by position
    (:func:`~neuroemu.spiking.scan.window_major`) where the layer's spikes feed a max-pool gate whose windows
    tile them, else as it is: its neurons' potentials and spikes follow that layout (the gate's window
    maxima then run over whole planes; a current of every step is left as it is: its scan reading a
    strided view costs more than the gate gains)."""
    kernel = 0 if layout is None else layout[1]
    if kernel > 1 and current.dim() == 4 and current.shape[-2] % kernel == 0 == current.shape[-1] % kernel:
        return window_major(current, kernel)
    return current


def _reached(arriving: torch.Tensor, layer: nn.Conv2d) -> torch.Tensor:
    """Whether an input event reaches each output position of convolution ``layer``: (N, ho, wo) bool of the
    events per input position (N, H, W) (non-negative), the maximum over each output's window (zero
    padding), columns then rows."""
    (kh, kw), (sh, sw), (ph, pw) = layer.kernel_size, layer.stride, layer.padding
    if ph or pw:
        arriving = F.pad(arriving, (pw, pw, ph, ph))
    h, w = arriving.shape[-2:]
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    cols = arriving[..., :, 0:(wo - 1) * sw + 1:sw]
    for j in range(1, kw):
        cols = torch.maximum(cols, arriving[..., :, j:j + (wo - 1) * sw + 1:sw])
    rows = cols[..., 0:(ho - 1) * sh + 1:sh, :]
    for i in range(1, kh):
        rows = torch.maximum(rows, cols[..., i:i + (ho - 1) * sh + 1:sh, :])
    return rows > 0


def _pooled(x: torch.Tensor, kernel: int, lead: int) -> torch.Tensor:
    """Average pooling of (B, C, H, W) (``lead`` 1) or (steps, B, C, H, W) (``lead`` 2)."""
    if lead == 1:
        return F.avg_pool2d(x, kernel)
    pooled = F.avg_pool2d(x.flatten(0, 1), kernel)
    return pooled.view(*x.shape[:2], *pooled.shape[1:])


def _apply(layer: nn.Module, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None
           ) -> torch.Tensor:
    if isinstance(layer, nn.Conv2d):
        return F.conv2d(x, weight, bias, stride=layer.stride, padding=layer.padding)
    return F.linear(x, weight, bias)
