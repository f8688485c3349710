"""Device physics: turn a device card into behaviour (program, read at time t) and stuck-at faults.

Every model is vectorised with a leading **trial** dimension: ``program(g_target, generators)`` returns one
programmed device instance per generator, and each generator comes from :func:`neuroemu.devices.rng.generator`
for a (seed, trial, label) triple, so a trial's numbers do not depend on how many trials run together.

=================  ==============  ===========================================================
card kind          model           what is modelled (source)
=================  ==============  ===========================================================
``ideal_device``   IdealModel      nothing: exact read-back (validation)
``pcm_device``     PcmModel        programming noise, per-device drift ν, 1/f read noise
                                   (Nandakumar et al., ICECS 2019; Joshi et al., Nat. Commun. 2020)
``rram_device``    RramModel       write-verify spread growing with time, d2d gain, read noise,
                                   finite levels (Wan et al., Nature 2022)
``sttram_device``  SttramModel     binary MTJ: Néel–Brown write errors, retention flips, read
                                   disturb, d2d spread of R_P, R_AP, Δ, I_c0
=================  ==============  ===========================================================

Stuck-at faults are not part of any model: every device card may give ``stuck_on_rate`` /
``stuck_off_rate`` (default 0), applied by one device-independent part, :class:`StuckAtFaults`
(:mod:`neuroemu.devices.faults`), to whatever a model programs and reads.
"""

from __future__ import annotations

from neuroemu.cards import Card, load_card
from neuroemu.devices.base import DeviceModel, Programmed, check_time
from neuroemu.devices.faults import StuckAtFaults
from neuroemu.devices.ideal import IdealModel
from neuroemu.devices.pcm import PcmModel
from neuroemu.devices.rram import RramModel
from neuroemu.devices.sttram import SttramModel

__all__ = [
    "MODELS",
    "DeviceModel",
    "IdealModel",
    "PcmModel",
    "Programmed",
    "RramModel",
    "SttramModel",
    "StuckAtFaults",
    "check_time",
    "device_model",
]

#: card kind → device model class
MODELS: dict[str, type[DeviceModel]] = {m.KIND: m for m in (IdealModel, PcmModel, RramModel, SttramModel)}


def device_model(card: Card | str) -> DeviceModel:
    """The device model for a card (or a card name / path, looked up with ``load_card``)."""
    if isinstance(card, str):
        card = load_card(card)
    try:
        cls = MODELS[card.kind]
    except KeyError:
        raise ValueError(f"card {card.name!r} is of kind {card.kind!r}, which is not a device with a model; "
                         f"device kinds: {', '.join(sorted(MODELS))}") from None
    return cls(card)
