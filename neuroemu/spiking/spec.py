"""The ``Spiking`` substrate: a trained ReLU network run as a rate-coded spiking network of IF neurons."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from neuroemu.specs import SpecError, option, validate
from neuroemu.spiking.network import SpikingNetwork

ENCODINGS = ("constant", "poisson")
RESETS = ("subtract", "zero")
INPUT_EVENTS = ("bias", "graded")
MAXPOOL_GATES = ("uncounted", "counted")
#: how the network is simulated: neuroemu's layer-by-layer scan, or brian2 (neuroemu.spiking.brian) with the
#: zero-delay order (the same spikes) or brian2's default schedule (one step of delay per layer)
BACKENDS = ("torch", "brian2", "brian2-delayed")


@dataclass(frozen=True)
class Spiking:
    """Rate-coded execution on integrate-and-fire neurons (ANN-to-SNN conversion, Rueckauer et al. 2017).

    Every field is declared once below (type, default, range, help). ``neuroemu.map(model, Spiking(...))``
    returns a :class:`~neuroemu.spiking.network.SpikingNetwork`; :func:`~neuroemu.spiking.network.calibrate`
    must see training images before it runs.
    """

    timesteps: int = option(64, "simulation steps per image; the spike rate approximates a ReLU output "
                            "to within 1 / timesteps", kind=int, ge=1)
    encoding: str = option("constant", "each pixel as an input current every step (Rueckauer's analog "
                           "input), or a Bernoulli spike train of that rate", kind=str, choices=ENCODINGS)
    input_events: str = option("bias", "how constant input is counted on the ledger: 'bias', the first "
                               "layer's input current computed once per image and injected every step as a "
                               "bias (as the emulator and Loihi-class chips do; Rueckauer et al.'s toolbox "
                               "counts analog input once), or 'graded', every non-zero pixel a graded event "
                               "across its fan-out at every step (an upper bound); Poisson input is spikes, "
                               "counted as events either way", kind=str, choices=INPUT_EVENTS)
    maxpool_gate: str = option("uncounted", "the max-pool spike gate on the ledger: 'counted' records "
                               "maxpool_gate (one gate evaluation per pooled output per step: window − 1 "
                               "comparisons of spike counters) and maxpool_count (one counter increment per "
                               "spike entering the pool), priced as digital adds of the counter width "
                               "(Horowitz 2014 cards); 'uncounted' (default, as earlier results) leaves them "
                               "off and the energy report lists the gate under not_counted", kind=str,
                               choices=MAXPOOL_GATES)
    reset: str = option("subtract", "membrane reset after a spike: by subtraction (Rueckauer et al.: no "
                        "rate lost to the overshoot) or to zero (Diehl et al. 2015)", kind=str,
                        choices=RESETS)
    percentile: float = option(99.9, "per-layer scale: this percentile of the layer's positive ReLU outputs "
                               "on calibration images (100 is Diehl's max-norm)", kind=float, gt=0, le=100)
    seed: int = option(0, "seed of the Poisson draws (shared by every image, so results do not depend on "
                       "the batch)", kind=int)
    hops_per_spike: int = option(1, "mesh hops a spike travels to the next layer's core (a placement "
                                 "assumption, recorded on spike_route events for pricing)", kind=int, ge=0)
    input_shape: tuple[int, int, int] = option((1, 28, 28), "(channels, height, width) of one input image: "
                                               "the probe that checks the model's forward is its layers in "
                                               "order (a plain nn.Sequential needs no probe)",
                                               kind="triple", ge=1, cli=False)

    backend: str = option("torch", "simulator: neuroemu's layer-by-layer scan ('torch'), the network "
                          "built in brian2 with the zero-delay order ('brian2': the same spikes; records "
                          "spike_route only) or with brian2's default schedule ('brian2-delayed': a spike "
                          "reaches the next layer one step later, a different network); brian2 runs "
                          "constant input", kind=str, choices=BACKENDS)

    def __post_init__(self) -> None:
        validate(self)
        if self.backend != "torch" and self.encoding != "constant":
            raise SpecError(f"Spiking.backend {self.backend!r} runs constant input; Poisson input needs "
                            "backend 'torch'")

    def apply(self, model: nn.Module) -> nn.Module:
        return SpikingNetwork.from_model(model, self)
