"""``Resparc``: the spiking substrate's spec with its synapses on digital cores or on crossbar arrays."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from neuroemu.cards import Card
from neuroemu.resparc.network import ResparcNetwork
from neuroemu.specs import SpecError, option
from neuroemu.spiking import Spiking, SpikingNetwork

__all__ = ["CROSSBAR_FIELDS", "Resparc"]

#: fields that describe the crossbar synapses (refused without a device)
CROSSBAR_FIELDS = ("array", "dac_bits", "adc_bits", "trials", "time", "drift_compensation")


@dataclass(frozen=True)
class Resparc(Spiking):
    """Rate-coded integrate-and-fire execution (every field of :class:`~neuroemu.spiking.Spiking`) whose
    synapses are either a neuromorphic core's digital synapses (``device=None``: exactly
    :class:`~neuroemu.spiking.SpikingNetwork`) or memristive crossbar arrays of a device card, as in RESPARC
    (Ankit et al., "RESPARC: A Reconfigurable and Energy-Efficient Architecture with Memristive Crossbars
    for Deep Spiking Neural Networks", DAC 2017): :class:`~neuroemu.resparc.network.ResparcNetwork`.

    The crossbar fields mean what the :class:`~neuroemu.crossbar.Crossbar` fields of the same name mean
    (they are handed to it); ``seed`` seeds the chip instances' draws as well as the Poisson input.
    """

    device: str | Card | None = option(
        None, "device card of crossbar synapses (RESPARC, Ankit et al. 2017): every weight layer's scaled "
        "matrix programmed on arrays of that card, rows driven where spikes arrive", kind="card",
        optional=True, none="digital synapses of a neuromorphic core")
    array: tuple[int, int] | None = option(
        None, "crossbar synapses: rows and columns of one array; larger layers are tiled over several",
        kind="pair", ge=1, optional=True, none="one array per layer")
    dac_bits: int | None = option(None, "crossbar synapses: DAC bits of the analog (constant) input; a "
                                  "spike drives its row with a one-bit read pulse", kind=int, ge=1, le=24,
                                  optional=True, none="analog input applied exactly")
    adc_bits: int | None = option(None, "crossbar synapses: bits of the column ADCs whose outputs the "
                                  "neurons integrate", kind=int, ge=1, le=24, optional=True,
                                  none="column currents read exactly, no ADC")
    trials: int = option(1, "crossbar synapses: independent chip instances programmed at once", kind=int,
                         ge=1)
    time: float = option(0.0, "crossbar synapses: seconds after programming at which the devices are read",
                         kind=float, ge=0, unit="s")
    drift_compensation: bool = option(False, "crossbar synapses: global drift compensation (Joshi et al. "
                                      "2020)", kind=bool)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.device is not None and self.backend != "torch":
            raise SpecError(f"Resparc.backend {self.backend!r} simulates digital synapses; crossbar synapses "
                            "(device) need backend 'torch'")
        if self.device is None:
            given = [name for name in CROSSBAR_FIELDS
                     if getattr(self, name) != type(self).__dataclass_fields__[name].default]
            if given:
                raise SpecError(f"Resparc.{given[0]} describes crossbar synapses and needs a device "
                                "(e.g. device='pcm-joshi2020')")

    def apply(self, model: nn.Module) -> nn.Module:
        if self.device is None:
            return SpikingNetwork.from_model(model, self)
        return ResparcNetwork.from_model(model, self)
