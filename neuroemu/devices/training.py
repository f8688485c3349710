"""The pulsed-update (in-memory training) model of a training device card, by card kind.

=====================  ==================  ======================================================
card kind              model               what is modelled (source)
=====================  ==================  ======================================================
``rpu_device``         PulsedUpdateModel   constant or soft-bounds step, asymmetry, d2d, c2c
                                           (Gokmen & Vlasov, Front. Neurosci. 2016)
``rpu_rram_device``    RramUpdateModel     nonlinear, asymmetric LTP/LTD, c2c (NeuroSim, Chen,
                                           Peng & Yu, IEEE TCAD 2018)
``rpu_pcm_pair``       PcmPairModel        SET-only pair with saturating steps, c2c and refresh
                                           (Nandakumar et al. 2020; Boybat et al. 2018)
=====================  ==================  ======================================================

Every model offers ``dw_min`` (nominal weight step for the pulse constant), ``sample`` (an array's devices),
``program`` (set weights), ``apply`` (move weights by signed pulse counts; a model may return event counts
such as refreshes), ``apply_counts`` (move weights by separate up and down counts, for devices that see both
polarities in one update: the convolution tiles of :mod:`neuroemu.rpu.lenet`) and ``stateful`` (its
gathered devices must be written back after ``apply``).
"""

from __future__ import annotations

from neuroemu.cards import Card
from neuroemu.cards.rpu_devices import PcmPairDevice, RpuDevice, RramUpdateDevice
from neuroemu.devices.nonlinear_updates import RramUpdateModel
from neuroemu.devices.pcm_pair import PcmPairModel
from neuroemu.devices.updates import PulsedUpdateModel

__all__ = ["TRAINING_KINDS", "UpdateModel", "update_model"]

UpdateModel = PulsedUpdateModel | RramUpdateModel | PcmPairModel

#: card class → update model class
_MODELS: dict[type[Card], type] = {RpuDevice: PulsedUpdateModel, RramUpdateDevice: RramUpdateModel,
                                   PcmPairDevice: PcmPairModel}
TRAINING_KINDS = tuple(sorted(cls.KIND for cls in _MODELS))


def update_model(card: Card) -> UpdateModel:
    """The pulsed-update model of a training device card (kinds: :data:`TRAINING_KINDS`)."""
    for cls, model in _MODELS.items():
        if isinstance(card, cls):
            return model(card)
    raise TypeError(f"card {card.name!r} is of kind {card.kind!r}, not a training device; training kinds: "
                    f"{', '.join(TRAINING_KINDS)}")
