"""A converted spiking network's synaptic matrices programmed on crossbar arrays; what a spike costs there.

Every weight layer's scaled matrix (W_l·λ_(l−1)/λ_l, as
:meth:`~neuroemu.spiking.SpikingNetwork._scaled_weights` gives it) becomes a
:class:`~neuroemu.crossbar.CrossbarLayer` of the spec's device card, built by the crossbar package
itself (:class:`~neuroemu.crossbar.Crossbar` ``apply``: the same weight mapping, tiling, programming noise,
device-to-device variation, drift, converters and trial dimension as crossbar inference; the layers keep
their names, which key their random streams). The bias is not
programmed: the neuron adds it every step, as on the digital core.

Converter ranges are calibrated on the inputs each layer sees in the digital spiking network
(:meth:`CrossbarSynapses.calibrate`): the analog image for the first layer, spike trains for the others.

Events (RESPARC, Ankit et al., DAC 2017: a spike drives its crossbar row; an array is activated only where a
spike arrives), per layer, counted per image and chip instance — the crossbar's events with the crossbar's
meaning (:mod:`neuroemu.crossbar`), for event-driven activations:

- ``crossbar_mvm``: one array activated (an output position's MVM in one row tile with at least one driven
  row) × column tiles × slices;
- ``cell_read`` (``device``, ``conductance_s``): every device of every driven row of an activated array;
- ``dac_conversion`` (``bits``): a driven row per column tile and slice: ``bits = 1`` for a spike (a read
  pulse), the DAC's width for the analog first-layer input;
- ``adc_conversion`` (``bits``, ``device``, ``column_conductance_s``): every column of an activated array
  (with an ADC);
- ``output_scale``, ``shift_add``, ``tile_partial_sum_add``: the digital recombination of the activated
  arrays' outputs.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

import neuroemu
from neuroemu.crossbar import Crossbar, CrossbarLayer, crossbar_layers, set_time, state_of
from neuroemu.crossbar.spec import default_slicing

__all__ = ["CrossbarSynapses", "crossbar_spec"]


def crossbar_spec(spec: object) -> Crossbar:
    """The :class:`~neuroemu.crossbar.Crossbar` of a :class:`~neuroemu.resparc.Resparc` spec's crossbar
    fields (a two-level device stores each weight over eight one-bit cells, as the crossbar commands do)."""
    fields = {name: getattr(spec, name) for name in ("device", "array", "dac_bits", "adc_bits", "trials",
                                                        "seed", "time", "drift_compensation")}
    return Crossbar(**fields, slicing=default_slicing(fields["device"]))


class CrossbarSynapses:
    """The crossbar layers of a converted network's weight layers (see the module).

    ``layers``: the converted network's weight layers (Conv2d / Linear) and ``names``; ``weights``: their
    scaled float64 matrices. Rows of every input are trial-minor (row b·T + t: image b on chip t)."""

    def __init__(self, layers: Sequence[nn.Module], names: Sequence[str], weights: Sequence[torch.Tensor],
                 spec: Crossbar) -> None:
        root = nn.Module()
        for layer, name, weight in zip(layers, names, weights, strict=True):
            copied = copy.deepcopy(layer)
            copied.weight = nn.Parameter(weight.float(), requires_grad=False)
            copied.bias = None  # the neuron adds the bias every step
            _attach(root, name, copied)
        self.spec = spec
        self.model = neuroemu.map(root, spec)
        by_name = {layer.name: layer for layer in crossbar_layers(self.model)}
        self.layers = [by_name[name] for name in names]

    def calibrate(self, inputs: Callable[[int], torch.Tensor]) -> None:
        """Calibrate every DAC and ADC range (a ``calibrated`` range, see :func:`neuroemu.crossbar.calibrate`)
        on ``inputs(i)``, the inputs of weight layer i (rows × its input shape)."""
        state = state_of(self.model)
        saved = state.phase
        try:
            with torch.inference_mode():
                for i, layer in enumerate(self.layers):
                    x = inputs(i)
                    state.phase = "calibrate-dac"
                    layer(x)
                    layer.finish_dac_calibration()
                    state.phase = "calibrate-adc"
                    layer(x)
                    layer.finish_adc_calibration()
        finally:
            state.phase = saved
        state.calibrated = True

    def read_at(self, t: float, drift_compensation: bool | None = None) -> None:
        """Read the programmed devices ``t`` s after programming (:func:`neuroemu.crossbar.set_time`)."""
        set_time(self.model, t, drift_compensation)

    def current(self, index: int, x: torch.Tensor) -> torch.Tensor:
        """The column outputs of weight layer ``index`` for inputs ``x`` (rows, ...), rows trial-minor."""
        return self.layers[index](x.float())

    def events(self, index: int, driven: torch.Tensor, spikes: bool) -> dict[str, tuple[torch.Tensor, dict]]:
        """Event counts per input row of weight layer ``index`` whose driven rows are ``driven`` (rows, ...;
        non-zero where an input arrives): event name → (counts (rows,) int64, attributes); ``spikes``: the
        inputs are spikes (one-bit row drives) rather than the analog first-layer input."""
        layer = self.layers[index]
        tiling = layer.tiling
        n_rt, n_ct, slices = len(tiling.row_tiles), len(tiling.col_tiles), tiling.slices
        out = layer.out_features
        drives, tiles, mvms = _activations(layer, (driven != 0).float())
        per_row_devices = layer.devices / layer.in_features
        device = layer.device.card.name
        events: dict[str, tuple[torch.Tensor, dict]] = {
            "crossbar_mvm": (tiles * (n_ct * slices), {}),
            "cell_read": ((drives.double() * per_row_devices).round().long(),
                          {"device": device, "conductance_s": layer.conductance_s}),
        }
        bits = 1 if spikes else layer.dac.event_bits
        if bits is not None:
            events["dac_conversion"] = (drives * (n_ct * slices), {"bits": bits})
        if layer.adc.bits is not None:
            events["adc_conversion"] = (tiles * (layer.conversions_per_mvm // n_rt),
                                        {"bits": layer.adc.bits, "device": device,
                                         "column_conductance_s": layer.column_conductance_s})
        if slices > 1:
            events["shift_add"] = (tiles * (out * (slices - 1)), {})
        if n_rt > 1:
            events["tile_partial_sum_add"] = ((tiles - mvms) * out, {})
        events["output_scale"] = (tiles * (out * slices), {})
        return events


def _activations(layer: CrossbarLayer, driven: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Per input row (int64): driven rows summed over the output positions, activated (position, row tile)
    pairs and activated positions (MVMs with at least one driven row)."""
    tiles = layer.tiling.row_tiles
    conv = layer.mvm.conv
    if conv is None:  # a linear layer: one MVM per input row
        per_tile = torch.stack([driven[:, a:b].sum(1) for a, b in tiles], 1)
    else:  # a convolution: the kernel's rows (in_channels · kh · kw, row-major) cut into row tiles
        kernel = layer.weight.shape[1:]
        masks = torch.zeros(len(tiles), kernel.numel())
        for r, (a, b) in enumerate(tiles):
            masks[r, a:b] = 1.0
        per_tile = F.conv2d(driven, masks.view(len(tiles), *kernel), **conv).flatten(2)  # rows, tiles, pos
    drives = per_tile.flatten(1).sum(1)
    active = per_tile > 0
    if conv is None:
        return drives.long(), active.sum(1).long(), active.any(1).long()
    return drives.long(), active.flatten(1).sum(1).long(), active.any(1).sum(1).long()


def _attach(root: nn.Module, name: str, module: nn.Module) -> None:
    """Put ``module`` at the dotted path ``name`` under ``root`` (creating empty parents)."""
    *parents, leaf = name.split(".")
    node = root
    for part in parents:
        if not hasattr(node, part):
            node.add_module(part, nn.Module())
        node = getattr(node, part)
    node.add_module(leaf, module)
