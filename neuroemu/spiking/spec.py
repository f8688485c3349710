"""The ``Spiking`` substrate: a trained ReLU network run as a rate-coded spiking network of IF neurons."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

ENCODINGS = ("constant", "poisson")
RESETS = ("subtract", "zero")


@dataclass(frozen=True)
class Spiking:
    """Rate-coded execution on integrate-and-fire neurons (ANN-to-SNN conversion, Rueckauer et al. 2017).

    - ``timesteps``: simulation steps per image; the spike rate approximates a ReLU output with a
      resolution of 1 / timesteps.
    - ``encoding``: ``"constant"`` applies each pixel as an input current every step (Rueckauer's analog
      input); ``"poisson"`` turns each pixel in [0, 1] into a Bernoulli spike train of that rate.
    - ``reset``: ``"subtract"`` (reset by subtraction, Rueckauer et al.: no rate lost to the threshold
      overshoot) or ``"zero"`` (reset to zero, Diehl et al. 2015).
    - ``percentile``: the per-layer normalisation scale λ is this percentile of the layer's positive ReLU
      outputs on the calibration images (Rueckauer's robust normalisation; 100 is Diehl's max-norm).
    - ``seed``: the Poisson draws (shared by every image, so results do not depend on the batch).
    - ``hops_per_spike``: mesh hops a spike travels to the next layer's core (a placement assumption,
      recorded on ``spike_route`` events for pricing).

    ``neuroemu.map(model, Spiking(...))`` returns a :class:`~neuroemu.spiking.network.SpikingNetwork`;
    :func:`~neuroemu.spiking.network.calibrate` must see training images before it runs.
    """

    timesteps: int = 64
    encoding: str = "constant"
    reset: str = "subtract"
    percentile: float = 99.9
    seed: int = 0
    hops_per_spike: int = 1

    def __post_init__(self) -> None:
        for name in ("timesteps", "seed", "hops_per_spike"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"Spiking.{name} must be an integer, got {value!r}")
        if self.timesteps < 1:
            raise ValueError(f"Spiking.timesteps must be >= 1, got {self.timesteps}")
        if self.hops_per_spike < 0:
            raise ValueError(f"Spiking.hops_per_spike must be >= 0, got {self.hops_per_spike}")
        if self.encoding not in ENCODINGS:
            raise ValueError(f"Spiking.encoding must be one of {list(ENCODINGS)}, got {self.encoding!r}")
        if self.reset not in RESETS:
            raise ValueError(f"Spiking.reset must be one of {list(RESETS)}, got {self.reset!r}")
        if isinstance(self.percentile, bool) or not isinstance(self.percentile, int | float) or not (
                0 < self.percentile <= 100):
            raise ValueError(f"Spiking.percentile must be a number in (0, 100], got {self.percentile!r}")

    def apply(self, model: nn.Module) -> nn.Module:
        from neuroemu.spiking.network import SpikingNetwork

        return SpikingNetwork.from_model(model, self)
