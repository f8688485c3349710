"""A converted spiking network whose synapses are memristive crossbar arrays (RESPARC, Ankit et al. 2017).

:class:`ResparcNetwork` is a :class:`~neuroemu.spiking.SpikingNetwork` — the same conversion, neurons,
max-pool gate, layer-by-layer scan and ledger of neurons and spikes — whose synaptic currents come from
crossbar arrays (:class:`~neuroemu.resparc.synapses.CrossbarSynapses`) instead of exact digital sums:
each block of steps of a layer is one crossbar MVM over (steps × images × chips) input rows, with the
device's programming noise, variation, drift, read noise and the converters of the spec, and ``trials``
chip instances at once (each drifts its own way, so each spikes its own way). Rows are driven only where a
spike arrives, and the crossbar events of those activations replace the core's ``synaptic_op``
(:mod:`~neuroemu.resparc.synapses`).

:func:`calibrate` sets the neuron scales (as :func:`neuroemu.spiking.calibrate`), then programs the scaled
matrices and calibrates the converters on the digital network's layer inputs for the first
:data:`CONVERTER_CALIBRATION_IMAGES` calibration images. Outputs are (trials, B, classes), or (B, classes)
for one trial, as a crossbar model's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from neuroemu.resparc.synapses import CrossbarSynapses, crossbar_spec
from neuroemu.spiking import SpikingNetwork
from neuroemu.spiking import calibrate as calibrate_scales

if TYPE_CHECKING:  # annotations only: the spec imports this module to build the network
    from neuroemu.resparc.spec import Resparc
    from neuroemu.spiking.network import _Op

__all__ = ["CONVERTER_CALIBRATION_IMAGES", "ResparcNetwork", "calibrate"]

#: calibration images whose digital spike trains set the crossbar converters' ranges
CONVERTER_CALIBRATION_IMAGES = 32


class ResparcNetwork(SpikingNetwork):
    """The spiking twin of a ReLU network on crossbar synapses (see the module)."""

    spec: Resparc

    def __init__(self, layers: list[nn.Module], ops: list[_Op], spec: Resparc) -> None:
        super().__init__(layers, ops, spec)
        #: the programmed crossbar layers (set by :meth:`program`); not a submodule, so that
        #: ``neuroemu.ledger.recording`` does not make them record their dense events as well
        self.synapses: CrossbarSynapses | None = None
        self._capture: dict[int, list[torch.Tensor]] | None = None

    def extra_repr(self) -> str:
        s = self.spec
        return (f"{super().extra_repr()}, device={getattr(s.device, 'name', s.device)!r}, trials={s.trials}, "
                f"time={s.time}, programmed={self.synapses is not None}")

    # ------------------------------------------------------------------ programming

    def program(self, images: torch.Tensor) -> None:
        """Program the scaled synaptic matrices on the crossbar (after the scales are set) and calibrate
        the converters on the digital network's layer inputs for ``images``."""
        if self.scales is None:
            raise RuntimeError("set the neuron scales first: neuroemu.resparc.calibrate(network, images)")
        weights = self._scaled_weights()
        names = [op.name for op in self.ops if op.kind == "weight"]
        synapses = CrossbarSynapses(list(self.layers), names, [w for w, _ in weights],
                                    crossbar_spec(self.spec))
        inputs = self._digital_inputs(images[:CONVERTER_CALIBRATION_IMAGES])
        synapses.calibrate(lambda i: inputs[i])
        self.synapses = synapses

    def _digital_inputs(self, images: torch.Tensor) -> list[torch.Tensor]:
        """Each weight layer's inputs (rows, ...) in the digital spiking network: the image for an analog
        first layer, every step's events for the others."""
        captured: dict[int, list[torch.Tensor]] = {}
        saved, self.ledger = self.ledger, None
        self._capture = captured
        try:
            with torch.inference_mode():
                super().forward(images)
        finally:
            self._capture, self.ledger = None, saved
        return [torch.cat(captured[i]) for i in sorted(captured)]

    # ------------------------------------------------------------------ the hooks of SpikingNetwork

    def _synapses(self) -> CrossbarSynapses:
        if self.synapses is None:
            raise RuntimeError("the crossbar synapses are not programmed: call "
                               "neuroemu.resparc.calibrate(network, training_images) first")
        return self.synapses

    def _rows(self, x0: torch.Tensor) -> torch.Tensor:
        if self._capture is not None:
            return x0
        self._synapses()
        return x0.repeat_interleave(self.spec.trials, 0)  # trial-minor: row b·T + t

    def _rows_per_image(self) -> int:
        return 1 if self._capture is not None else self.spec.trials

    def _outputs(self, logits: torch.Tensor) -> torch.Tensor:
        trials = self.spec.trials
        if self._capture is not None or trials == 1:
            return logits
        return logits.view(len(logits) // trials, trials, -1).transpose(0, 1)

    def _bytes_per_image_step(self, shape: torch.Size) -> int:
        """The digital estimate × (1 + the most partial sums a layer's MVM keeps per output)."""
        partial = max((layer.tiling.partial_sums for layer in self.synapses.layers), default=1) \
            if self.synapses is not None else 1
        return super()._bytes_per_image_step(shape) * (1 + partial)

    def _constant_current(self, op: _Op, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None
                          ) -> torch.Tensor:
        if self._capture is not None:
            self._capture.setdefault(op.index, []).append(x.float())
            return super()._constant_current(op, x, weight, bias)
        current = self._synapses().current(op.index, x).double()
        if bias is None:
            return current
        return current + (bias.view(-1, 1, 1) if current.dim() == 4 else bias)

    def _event_current(self, op: _Op, x: torch.Tensor, exact: torch.Tensor) -> torch.Tensor:
        if self._capture is not None:
            self._capture.setdefault(op.index, []).append(x.clone())
            return super()._event_current(op, x, exact)
        return self._synapses().current(op.index, x)

    def _record_synaptic(self, op: _Op, per_step: torch.Tensor, rows: int, synapses: torch.Tensor,
                         synapse_steps: int, **attrs: str) -> None:
        """Crossbar events of the rows the input events drive (not the core's synaptic_op)."""
        batch = len(per_step) // rows
        events = self._synapses().events(op.index, per_step, spikes="input" not in attrs)
        for event, (counts, event_attrs) in events.items():
            self._record(event, counts.view(rows, batch).sum(0) * synapse_steps, op.name, **event_attrs)


def calibrate(network: SpikingNetwork, images: torch.Tensor, batch_size: int = 256) -> list[float]:
    """Set the neuron scales of ``network`` from ``images`` (:func:`neuroemu.spiking.calibrate`); on a
    :class:`ResparcNetwork` also program its crossbar synapses and calibrate their converters
    (:meth:`ResparcNetwork.program`). Returns the scales."""
    scales = calibrate_scales(network, images, batch_size)
    if isinstance(network, ResparcNetwork):
        network.program(images)
    return scales
