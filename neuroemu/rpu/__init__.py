"""In-memory training on resistive cross-point arrays (RPU): analog tiles with stochastic pulsed updates
(Gokmen & Vlasov, Front. Neurosci. 10:333, 2016), noise / bound / update management (Gokmen et al.,
Front. Neurosci. 11:538, 2017), Tiki-Taka (Gokmen & Haensch, Front. Neurosci. 14:103, 2020), and the
784-256-128-10 network of the 2016 paper trained on them (:mod:`neuroemu.rpu.network`), and LeNet-5 with its
convolutions trained as arrays (Gokmen et al. 2017, :mod:`neuroemu.rpu.lenet`)."""

from __future__ import annotations

from neuroemu.rpu.lenet import FloatLeNet5, RpuLeNet5
from neuroemu.rpu.network import FloatMlp, RpuMlp
from neuroemu.rpu.pulses import coincidences, polarity_coincidences, pulse_constant, pulse_train
from neuroemu.rpu.tiki_taka import TikiTakaTile
from neuroemu.rpu.tile import AnalogTile, TileConfig

__all__ = ["AnalogTile", "FloatLeNet5", "FloatMlp", "RpuLeNet5", "RpuMlp", "TikiTakaTile", "TileConfig",
           "coincidences", "polarity_coincidences", "pulse_constant", "pulse_train"]
