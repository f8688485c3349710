"""The converted network built and run in brian2 (Stimberg et al., eLife 2019), as a whole-network backend.

:func:`run_brian2` builds a calibrated :class:`~neuroemu.spiking.SpikingNetwork` (any sequential Conv2d /
Linear / pooling / Flatten network it converts) as brian2 objects, one copy per image, and runs it for
``timesteps`` steps of ``dt`` = 1 ms:

- each integrate-and-fire layer is a ``NeuronGroup`` with ``v`` (membrane), ``I`` (synaptic input of the
  step) and ``b`` (its bias, or for an analog first layer its whole constant input current, computed once in
  float64 as the torch backend does); each step ``v = v + (I + b); I = 0``, threshold ``v >= 1``, reset by
  subtraction or to zero; the output layer only integrates (logits = v / timesteps);
- the synapses of a layer are ``Synapses`` with ``on_pre: I_post += w`` from the previous spiking group, the
  weights being the layer's exact grid weights composed with the average pooling and flattening between
  the groups (a pooled unit delivers its window's events), so every partial sum is exact and the order of
  the additions cannot change a spike;
- a max pooling is the spike-gating max-pool of Rueckauer et al. (2017): each neuron counts its spikes and
  carries the key 2k²·count + 2(k² − 1 − position); gate synapses within each window sum, per neuron, how
  many neighbours hold a larger key (a summed variable), and relay synapses pass a spike to the pooled unit
  (a ``NeuronGroup`` that fires when reached) only from the neuron nobody beats.

Schedules: ``"zero-delay"`` orders every object explicitly (``when``/``order``) so that within one step
layer l integrates layer l−1's spikes of the same step, as the torch backend does: the spikes are the same,
neuron for neuron. ``"delayed"`` keeps brian2's default schedule (groups, thresholds, synapses, resets), where
a spike reaches the next layer one step later: a different network, with its own (lower at small T)
accuracy.

brian2 is imported here only (locally), so neuroemu runs without it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F

if TYPE_CHECKING:
    from neuroemu.spiking.network import SpikingNetwork

__all__ = ["SCHEDULES", "BrianRun", "run_brian2"]

SCHEDULES = ("zero-delay", "delayed")


@dataclass(frozen=True)
class BrianRun:
    """The result of a brian2 run: logits (B, classes) and each spiking group's spike counts (B, neurons)
    by layer name (IF layers by their weight layer's name, max-pool relays by the pooling's name); seconds
    spent building the objects and in ``Network.run`` (code generation included on a first run)."""

    logits: torch.Tensor
    counts: dict[str, torch.Tensor]
    build_s: float = 0.0
    run_s: float = 0.0


def run_brian2(network: SpikingNetwork, images: torch.Tensor, *, schedule: str = "zero-delay",
               target: str | None = None) -> BrianRun:
    """Build ``network`` (calibrated, constant input) for ``images`` in brian2 and run it (see the module).

    ``target``: brian2's code-generation target (``"numpy"``, ``"cython"``; ``None``: brian2's own
    preference)."""
    import brian2 as b2  # local: brian2 is optional at run time and slow to import

    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, got {schedule!r}")
    if network.scales is None:
        raise RuntimeError("the spiking network is not calibrated: call neuroemu.spiking.calibrate first")
    spec = network.spec
    if spec.encoding != "constant":
        raise ValueError("the brian2 backend runs constant (analog) input; Poisson input: the torch backend")
    start = time.perf_counter()
    b2.start_scope()
    if target is not None:
        b2.prefs.codegen.target = target
    builder = _Builder(b2, network, images.to(torch.float64), zero_delay=schedule == "zero-delay")
    builder.build()
    net = b2.Network(*builder.objects)
    built = time.perf_counter()
    net.run(spec.timesteps * builder.dt)
    ran = time.perf_counter()
    counts = {name: torch.from_numpy(np.asarray(monitor.count, dtype=np.int64)).view(len(images), -1)
              for name, monitor in builder.monitors.items()}
    v = np.asarray(builder.output.v[:], dtype=np.float64)
    logits = (torch.from_numpy(v).view(len(images), -1) / spec.timesteps).to(torch.float32)
    return BrianRun(logits, counts, built - start, ran - built)


class _Builder:
    """Creates the brian2 objects of one network for a batch of images, in the step order."""

    def __init__(self, b2: Any, network: SpikingNetwork, x0: torch.Tensor, zero_delay: bool) -> None:
        self.b2, self.network, self.x0, self.zero_delay = b2, network, x0, zero_delay
        self.batch = len(x0)
        self.dt = b2.ms
        self.objects: list[Any] = []
        self.monitors: dict[str, Any] = {}
        self.output: Any = None
        self.sizes: dict[str, int] = {}  #: neurons per image of each group, by group name
        self._order = 0

    def _place(self, obj: Any) -> None:
        """Zero delay: every object in one slot, in creation order."""
        if self.zero_delay:
            obj.when, obj.order = "start", self._order
            self._order += 1

    def build(self) -> None:
        network = self.network
        weights = network._scaled_weights()
        exact = network._exact_weights(weights)
        source: Any = None  # the spiking group feeding the next weight layer
        shape: tuple[int, ...] = tuple(self.x0.shape[1:])  # one image's shape at this point
        linear: list[Any] = []  # pooling / flatten ops since the source
        x = self.x0  # the constant input, until the first weight layer
        for op in network.ops:
            if op.kind != "weight":
                if source is None:  # before the first weight layer: the constant image passes
                    x = network._pool_or_flatten(op, x)
                    shape = tuple(x.shape[1:])
                elif op.kind == "max":
                    source, shape = self._max_gate(op, source, shape)
                else:  # composed into the next layer's synapses
                    linear.append(op)
                continue
            layer = network.layers[op.index]
            w, b = weights[op.index]
            if source is None:  # analog input: its current, computed once (float64), is the group's bias
                current = F.conv2d(x, w, b, stride=layer.stride, padding=layer.padding) \
                    if isinstance(layer, torch.nn.Conv2d) else F.linear(x, w, b)
                group = self._group(op, current[0].numel(), current.flatten(1))
            else:
                matrix, out_shape = _effective_matrix(network, op, linear, shape, exact[op.index])
                bias = torch.zeros(matrix.shape[0], dtype=torch.float64) if b is None else \
                    (b.view(-1, 1).expand(-1, matrix.shape[0] // len(b)).reshape(-1))
                group = self._group(op, matrix.shape[0], bias.expand(self.batch, -1))
                self._synapses(source, group, matrix)
                current = torch.empty(1, *out_shape)
            self._integrate(op, group)
            if op.output:
                self.output = group
            source, shape, linear = group, tuple(current.shape[1:]), []

    # ------------------------------------------------------------------ objects

    def _group(self, op: Any, neurons: int, bias: torch.Tensor) -> Any:
        """The IF (or output) NeuronGroup of weight layer ``op``, one copy per image."""
        b2 = self.b2
        model = "v : 1\nI : 1\nb : 1 (constant)\ncount : 1\npos : 1\nbeaten : 1"
        if op.output:
            group = b2.NeuronGroup(self.batch * neurons, model, dt=self.dt, name=f"out_{op.index}")
        else:
            reset = "v -= 1" if self.network.spec.reset == "subtract" else "v = 0"
            group = b2.NeuronGroup(self.batch * neurons, model, threshold="v >= 1",
                                   reset=reset + "\ncount += 1", dt=self.dt, name=f"if_{op.index}")
        group.b = bias.reshape(-1).numpy()
        self.sizes[group.name] = neurons
        self.objects.append(group)
        return group

    def _integrate(self, op: Any, group: Any) -> None:
        """The step's update, threshold and reset of ``group``, in that order."""
        update = group.run_regularly("v = v + (I + b)\nI = 0", dt=self.dt)
        self._place(update)
        if not op.output:
            self._place(group.thresholder["spike"])
            self._place(group.resetter["spike"])
            monitor = self.b2.SpikeMonitor(group, record=False)
            self.monitors[op.name] = monitor
            self.objects.append(monitor)

    def _synapses(self, source: Any, target: Any, matrix: torch.Tensor) -> None:
        """I_post += w from every source neuron to every target neuron of the same image."""
        rows, cols = torch.nonzero(matrix, as_tuple=True)  # target, source within one image
        w = matrix[rows, cols].numpy()
        n_src, n_tgt = self.sizes[source.name], self.sizes[target.name]
        offsets = np.arange(self.batch)
        i = (cols.numpy()[None, :] + offsets[:, None] * n_src).reshape(-1)
        j = (rows.numpy()[None, :] + offsets[:, None] * n_tgt).reshape(-1)
        synapses = self.b2.Synapses(source, target, "w : 1 (constant)", on_pre="I_post += w", dt=self.dt)
        synapses.connect(i=i, j=j)
        synapses.w = np.tile(w, self.batch)
        self._place(synapses.pre)
        self.objects.append(synapses)

    def _max_gate(self, op: Any, source: Any, shape: tuple[int, ...]) -> tuple[Any, tuple[int, ...]]:
        """The spike-gating max pool after ``source`` (C, H, W): gate and relay synapses, the pooled group."""
        b2 = self.b2
        k = op.kernel
        c, h, w = shape
        hk, wk = h // k, w // k
        index = torch.arange(c * h * w).view(c, h, w)[:, :hk * k, :wk * k]
        windows = index.reshape(c, hk, k, wk, k).permute(0, 1, 3, 2, 4).reshape(c * hk * wk, k * k)
        position = torch.arange(k * k).expand_as(windows)
        pos = torch.full((c * h * w,), float(k * k - 1))  # cut-off edge neurons never win a window
        pos[windows.reshape(-1)] = position.reshape(-1).double().float()
        source.pos = np.tile(pos.numpy(), self.batch)
        n_src, pooled = c * h * w, c * hk * wk
        members = windows.reshape(-1).numpy()  # window-major: k² members of each window
        window_of = np.repeat(np.arange(pooled), k * k)
        # gate: every ordered pair of a window's members; beaten = how many hold a larger key
        pre = windows[:, :, None].expand(-1, -1, k * k).reshape(-1).numpy()
        post = windows[:, None, :].expand(-1, k * k, -1).reshape(-1).numpy()
        offsets = np.arange(self.batch)[:, None]
        key = f"2 * {k * k} * count_{{side}} + 2 * ({k * k} - 1 - pos_{{side}})"
        gate = b2.Synapses(source, source,
                           f"beaten_post = int({key.format(side='pre')} > {key.format(side='post')}) : 1 "
                           "(summed)", dt=self.dt, name=f"gate_{op.name.replace('.', '_')}")
        gate.connect(i=(pre[None, :] + offsets * n_src).reshape(-1),
                     j=(post[None, :] + offsets * n_src).reshape(-1))
        self._place(gate.summed_updaters["beaten_post"])
        self.objects.append(gate)
        relay_group = b2.NeuronGroup(self.batch * pooled, "g : 1", threshold="g > 0.5", reset="g = 0",
                                     dt=self.dt, name=f"pool_{op.name.replace('.', '_')}")
        self.sizes[relay_group.name] = pooled
        relay = b2.Synapses(source, relay_group, on_pre="g_post += int(beaten_pre == 0)", dt=self.dt)
        relay.connect(i=(members[None, :] + offsets * n_src).reshape(-1),
                      j=(window_of[None, :] + offsets * pooled).reshape(-1))
        self._place(relay.pre)
        self._place(relay_group.thresholder["spike"])
        self._place(relay_group.resetter["spike"])
        monitor = b2.SpikeMonitor(relay_group, record=False)
        self.monitors[op.name] = monitor
        self.objects += [relay_group, relay, monitor]
        return relay_group, (c, hk, wk)


def _effective_matrix(network: SpikingNetwork, op: Any, linear: list[Any], shape: tuple[int, ...],
                      exact: torch.Tensor) -> tuple[torch.Tensor, tuple[int, ...]]:
    """(targets × sources) float64: weight layer ``op``'s exact weights composed with the average pooling
    and flattening ``linear`` between its source group (one image's ``shape``) and it; and its output
    shape. Each column is the layer's current for one source spike (every partial sum exact)."""
    sources = int(np.prod(shape))
    basis = torch.eye(sources, dtype=torch.float64).view(sources, *shape)
    x = basis
    for step in linear:  # a pooled unit delivers every event of its window, as the torch backend does
        x = x.flatten(1) if step.kind == "flatten" else F.avg_pool2d(x, step.kernel)
    layer = network.layers[op.index]
    weight = exact.double()
    out = F.conv2d(x, weight, stride=layer.stride, padding=layer.padding) \
        if isinstance(layer, torch.nn.Conv2d) else F.linear(x, weight)
    return out.flatten(1).T.contiguous(), tuple(out.shape[1:])
