"""Spiking execution on crossbar synapses (RESPARC, Ankit et al., DAC 2017), and the spiking substrate's
registration::

    snn = neuroemu.map(model, Resparc(timesteps=32, device="pcm-joshi2020", trials=20, time=86400))
    calibrate(snn, training_images)     # neuron scales, then program the crossbars, calibrate converters
    logits = snn(images)                # (trials, B, classes); snn.ledger: crossbar and neuron events

A room above :mod:`neuroemu.spiking` and :mod:`neuroemu.crossbar` (both on one floor, so neither may import
the other): it joins the spiking network's scan to the crossbar's device physics without duplicating either.
:mod:`~neuroemu.resparc.spec` has the spec (the spiking fields and the crossbar synapses' fields),
:mod:`~neuroemu.resparc.synapses` the programmed matrices and their events, :mod:`~neuroemu.resparc.network`
the network, :mod:`~neuroemu.resparc.substrate` the ``spiking`` registration.
"""

from neuroemu.resparc.network import CONVERTER_CALIBRATION_IMAGES, ResparcNetwork, calibrate
from neuroemu.resparc.spec import Resparc
from neuroemu.resparc.synapses import CrossbarSynapses, crossbar_spec

__all__ = ["CONVERTER_CALIBRATION_IMAGES", "CrossbarSynapses", "Resparc", "ResparcNetwork", "calibrate",
           "crossbar_spec"]
