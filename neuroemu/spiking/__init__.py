"""Spiking execution: a trained ReLU network run as a rate-coded network of integrate-and-fire neurons::

    snn = neuroemu.map(model, Spiking(timesteps=64))
    calibrate(snn, training_images)     # per-layer scales from the ReLU outputs (Rueckauer et al. 2017)
    logits = snn(images)                # snn.ledger: synaptic_op, neuron_update, spike_route

:mod:`~neuroemu.spiking.network` has the conversion and the events; :mod:`~neuroemu.spiking.spec` the
options.
"""

from neuroemu.spiking.network import SpikingNetwork, calibrate
from neuroemu.spiking.spec import BACKENDS, ENCODINGS, INPUT_EVENTS, MAXPOOL_GATES, RESETS, Spiking

__all__ = ["BACKENDS", "ENCODINGS", "INPUT_EVENTS", "MAXPOOL_GATES", "RESETS", "Spiking", "SpikingNetwork",
           "calibrate"]
