"""The substrate registry: every substrate neuroemu can run a model on, by name, in a stable order.

Each substrate package registers one :class:`~neuroemu.registration.Registration` (its ``substrate.py``); the
command line, the energy command, the demo and the sweeps loop over :func:`registrations` and never switch
on a substrate's name. Adding a built-in substrate is one line in :data:`BUILT_IN` (and its import); a user's
own substrate calls :func:`register`.
"""

from __future__ import annotations

from neuroemu.crossbar.substrate import REGISTRATION as CROSSBAR
from neuroemu.digital.substrate import REGISTRATION as DIGITAL
from neuroemu.lowbit.substrate import REGISTRATION as LOWBIT
from neuroemu.registration import Registration
from neuroemu.resparc.substrate import REGISTRATION as SPIKING
from neuroemu.stochastic.substrate import REGISTRATION as STOCHASTIC

__all__ = ["BUILT_IN", "UnknownSubstrateError", "get", "names", "register", "registrations", "unregister"]

#: the built-in substrates, in the order tables and the demo show them
BUILT_IN: tuple[Registration, ...] = (DIGITAL, LOWBIT, CROSSBAR, STOCHASTIC, SPIKING)

_REGISTRY: dict[str, Registration] = {}


class UnknownSubstrateError(KeyError):
    """No substrate of that name; the message lists the registered ones."""

    def __str__(self) -> str:
        return str(self.args[0])


def register(registration: Registration) -> Registration:
    """Add a substrate (a name registered twice is an error) and return it."""
    if not isinstance(registration, Registration):
        raise TypeError(f"register() takes a Registration, got {type(registration).__name__}")
    if registration.name in _REGISTRY:
        raise ValueError(f"a substrate named {registration.name!r} is already registered")
    _REGISTRY[registration.name] = registration
    return registration


def unregister(name: str) -> None:
    """Remove a substrate registered with :func:`register` (tests; a built-in one too)."""
    _REGISTRY.pop(name, None)


def get(name: str) -> Registration:
    """The registration of ``name``; :class:`UnknownSubstrateError` lists the known ones."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownSubstrateError(f"unknown substrate {name!r}; available substrates: "
                                    f"{', '.join(_REGISTRY)}") from None


def names() -> list[str]:
    """Registered substrate names, in registration order."""
    return list(_REGISTRY)


def registrations() -> list[Registration]:
    """Registered substrates, in registration order."""
    return list(_REGISTRY.values())


for _builtin in BUILT_IN:
    register(_builtin)
