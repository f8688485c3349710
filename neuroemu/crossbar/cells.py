"""The programmed devices of one crossbar layer: T chip instances of its cells, read at a time t.

The layer's target conductances (:class:`~neuroemu.crossbar.mapping.Mapped`: G⁺ and G⁻ of every pair, or
the cells and one reference column) are programmed into ``trials`` independent instances of the device, a
leading trial dimension, by the device model (:mod:`neuroemu.devices`). Every draw comes from generators of
(seed, trial, layer and what is drawn): trial k gets the same devices whatever the number of trials.
Reading at time t returns the conductances with drift and fresh read noise (one stream per read time).
"""

from __future__ import annotations

import torch

from neuroemu.crossbar.mapping import Mapped
from neuroemu.devices import DeviceModel, Programmed, rng

__all__ = ["Cells"]


class Cells:
    """The devices of one layer (see the module); ``reference_tiles``: how many column tiles each have
    their own reference column (the G⁻ cells of ``mapping="reference"``), 1 for differential pairs."""

    def __init__(self, device: DeviceModel, mapped: Mapped, *, name: str, trials: int, seed: int,
                 reference_tiles: int = 1) -> None:
        self.device = device
        self.mapped = mapped
        self.name = name
        self.trials, self.seed = trials, seed
        self.reference_tiles = reference_tiles
        self.states: tuple[Programmed, Programmed] | None = None  #: programmed (G⁺, G⁻) instances

    @property
    def devices(self) -> int:
        """Physical devices of one instance: both cells of every pair, every slice, each reference
        column once per column tile."""
        return self.mapped.g_plus.numel() + self.reference_tiles * self.mapped.g_minus.numel()

    def _generators(self, what: str) -> list[torch.Generator]:
        return rng.trial_generators(self.seed, self.trials, f"{self.name}/{what}")

    def program(self) -> None:
        """Draw ``trials`` programmed instances of every cell."""
        plus = self.device.program(self.mapped.g_plus.float(), self._generators("plus"))
        minus = self.device.program(self.mapped.g_minus.float(), self._generators("minus"))
        self.states = (plus, minus)

    def read(self, t: float) -> tuple[torch.Tensor, torch.Tensor]:
        """(G⁺, G⁻) of every instance, (T, S, out, in) and (T, S, out | 1, in), read ``t`` s after
        programming, with read noise when the device has any."""
        if self.states is None:
            raise RuntimeError(f"{self.name}: not programmed")
        plus, minus = self.states
        noisy = self.device.STOCHASTIC

        def gens(what: str) -> list[torch.Generator] | None:
            return self._generators(f"{what}@{t!r}") if noisy else None

        return self.device.read(plus, t, gens("read-plus")), self.device.read(minus, t, gens("read-minus"))
