"""The programmed devices of one crossbar layer: T chip instances of its cells, read at a time t.

The layer's target conductances (:class:`~neuroemu.crossbar.mapping.Mapped`: G⁺ and G⁻ of every pair, or
the cells and one reference column) are programmed into ``trials`` independent instances of the device, a
leading trial dimension, by the device model (:mod:`neuroemu.devices`), with the device-independent
stuck-at faults (:class:`~neuroemu.devices.faults.StuckAtFaults`) drawn after the model's own programming
draws, from the same generators. Every draw comes from generators of (seed, trial, layer and what is drawn):
trial k gets the same devices whatever the number of trials. Reading at time t returns the conductances
with drift and fresh read noise (one stream per read time), stuck cells at their stuck level.
"""

from __future__ import annotations

import torch

from neuroemu.crossbar.mapping import Mapped
from neuroemu.devices import DeviceModel, Programmed, StuckAtFaults, rng

__all__ = ["Cells"]


class Cells:
    """The devices of one layer (see the module); ``reference_tiles``: how many column tiles each have
    their own reference column (the G⁻ cells of ``mapping="reference"``), 1 for differential pairs."""

    def __init__(self, device: DeviceModel, mapped: Mapped, *, name: str, trials: int, seed: int,
                 first_trial: int = 0, reference_tiles: int = 1, faults: StuckAtFaults | None = None) -> None:
        self.device = device
        self.faults = faults if faults is not None else StuckAtFaults.of(device.card)
        self.mapped = mapped
        self.name = name
        self.trials, self.seed, self.first_trial = trials, seed, first_trial
        self.reference_tiles = reference_tiles
        self.states: tuple[Programmed, Programmed] | None = None  #: programmed (G⁺, G⁻) instances
        #: fault codes of the (G⁺, G⁻) instances (``None``: no stuck cells)
        self.stuck: tuple[torch.Tensor | None, torch.Tensor | None] = (None, None)

    @property
    def devices(self) -> int:
        """Physical devices of one instance: both cells of every pair, every slice, each reference
        column once per column tile."""
        return self.mapped.g_plus.numel() + self.reference_tiles * self.mapped.g_minus.numel()

    def _generators(self, what: str) -> list[torch.Generator]:
        indices = range(self.first_trial, self.first_trial + self.trials)
        return rng.trial_generators(self.seed, indices, f"{self.name}/{what}")

    def program(self) -> None:
        """Draw ``trials`` programmed instances of every cell: the device's draws, then the faults'."""
        states, stuck = [], []
        for what, target in (("plus", self.mapped.g_plus), ("minus", self.mapped.g_minus)):
            generators = self._generators(what)
            states.append(self.device.program(target.float(), generators))
            stuck.append(self.faults.draw(target.shape, generators))
        self.states = (states[0], states[1])
        self.stuck = (stuck[0], stuck[1])

    def read(self, t: float) -> tuple[torch.Tensor, torch.Tensor]:
        """(G⁺, G⁻) of every instance, (T, S, out, in) and (T, S, out | 1, in), read ``t`` s after
        programming, with read noise when the device has any."""
        return self._read(t, noisy=self.device.STOCHASTIC)

    def read_expected(self, t: float) -> tuple[torch.Tensor, torch.Tensor]:
        """(G⁺, G⁻) read ``t`` s after programming without read noise (drift and faults included)."""
        return self._read(t, noisy=False)

    def read_sigma(self, t: float) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """σ (S) of a fresh Gaussian read-noise draw of every (G⁺, G⁻) device at time ``t`` (stuck cells:
        0), as :meth:`read` shapes them; ``None`` where the device has no Gaussian read noise."""
        if self.states is None:
            raise RuntimeError(f"{self.name}: not programmed")
        sigmas = []
        for state, stuck in zip(self.states, self.stuck, strict=True):
            sigma = self.device.read_sigma(state, t)
            if sigma is not None and stuck is not None:
                sigma = torch.where(stuck != 0, torch.zeros_like(sigma), sigma)
            sigmas.append(sigma)
        return sigmas[0], sigmas[1]

    def _read(self, t: float, *, noisy: bool) -> tuple[torch.Tensor, torch.Tensor]:
        if self.states is None:
            raise RuntimeError(f"{self.name}: not programmed")
        g_min, g_max = self.device.g_min, self.device.g_max
        read = []
        for what, state, stuck in zip(("read-plus", "read-minus"), self.states, self.stuck, strict=True):
            generators = self._generators(f"{what}@{t!r}") if noisy else None
            read.append(self.faults.apply(self.device.read(state, t, generators), stuck, g_min, g_max))
        return read[0], read[1]

    def mean_conductance(self, g_plus: torch.Tensor, g_minus: torch.Tensor) -> float:
        """Ḡ (S): the mean conductance of (``g_plus``, ``g_minus``) over every trial and physical device —
        both cells of a pair, every slice, each reference column once per column tile — as the layer's
        ``cell_read`` events count them (sums in float64)."""
        trials = g_plus.shape[0]
        total = float(g_plus.double().sum()) + self.reference_tiles * float(g_minus.double().sum())
        return total / (trials * self.devices)

    def mean_target_conductance(self) -> float:
        """The mean target conductance (S) over the physical devices of one instance."""
        g_plus, g_minus = self.mapped.g_plus, self.mapped.g_minus
        total = float(g_plus.double().sum()) + self.reference_tiles * float(g_minus.double().sum())
        return total / self.devices
