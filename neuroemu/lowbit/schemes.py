"""Low-bit schemes: which quantiser each layer's weights and activations get, and where they are kept float.

| scheme | weights | activations | first / last layer |
| --- | --- | --- | --- |
| ``binaryconnect`` | sign(W) | float ReLU | all layers binary (Courbariaux et al. 2015) |
| ``bnn`` | sign(W) | sign(x) | all weights binary; the first layer sees real pixels (Hubara et al. 2016) |
| ``xnor`` | α_c·sign(W_c) | sign(x) | first and last layers float (Rastegari et al. 2016) |
| ``ternary`` | α·t, t ∈ {−1, 0, 1} | float ReLU | all layers ternary (Li et al. 2016) |
| ``dorefa:W,A`` | W-bit DoReFa | A-bit DoReFa | first and last layers float (Zhou et al. 2016) |

Every scheme puts batch normalisation between each hidden layer and its activation, as all five papers
do; binary weights keep latent float copies clipped to [−1, 1] after each update (BinaryConnect).
"""

import re
from dataclasses import dataclass
from typing import Literal

WeightKind = Literal["float", "binary", "xnor", "ternary", "dorefa"]
ActivationKind = Literal["relu", "sign", "dorefa"]
SCHEMES = ("binaryconnect", "bnn", "xnor", "ternary", "dorefa:W,A")
MAX_BITS = 16


@dataclass(frozen=True)
class QuantScheme:
    """How a network's layers are quantised (parse one with :func:`parse_scheme`)."""

    name: str
    weights: WeightKind
    activations: ActivationKind
    float_first: bool
    float_last: bool
    weight_bits: int = 1
    activation_bits: int = 1

    def weight_kind(self, position: Literal["first", "hidden", "last"]) -> WeightKind:
        """The weight quantiser of a layer at ``position`` in the network."""
        if (position == "first" and self.float_first) or (position == "last" and self.float_last):
            return "float"
        return self.weights


def parse_scheme(text: str) -> QuantScheme:
    """``binaryconnect``, ``bnn``, ``xnor``, ``ternary`` or ``dorefa:W,A`` (bit widths 1..16)."""
    if text == "binaryconnect":
        return QuantScheme(text, "binary", "relu", float_first=False, float_last=False)
    if text == "bnn":
        return QuantScheme(text, "binary", "sign", float_first=False, float_last=False)
    if text == "xnor":
        return QuantScheme(text, "xnor", "sign", float_first=True, float_last=True)
    if text == "ternary":
        return QuantScheme(text, "ternary", "relu", float_first=False, float_last=False, weight_bits=2)
    match = re.fullmatch(r"dorefa:(\d+),(\d+)", text)
    if match:
        w_bits, a_bits = int(match[1]), int(match[2])
        for field, bits in (("weight bits", w_bits), ("activation bits", a_bits)):
            if not 1 <= bits <= MAX_BITS:
                raise ValueError(f"quant {text!r}: {field} must be in 1..{MAX_BITS}, got {bits}")
        return QuantScheme(text, "dorefa", "dorefa", float_first=True, float_last=True,
                           weight_bits=w_bits, activation_bits=a_bits)
    raise ValueError(f"quant must be one of {', '.join(SCHEMES)}, got {text!r}")
