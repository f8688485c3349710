"""Binary, ternary and k-bit networks: quantisers with straight-through training, bit-exact execution.

Train with ``neuroemu train lenet5 --quant binaryconnect|bnn|xnor|ternary|dorefa:W,A`` (schemes in
:mod:`neuroemu.lowbit.schemes`), run bit-exactly with ``neuroemu.map(model, LowBit())``.
"""

from neuroemu.lowbit.schemes import SCHEMES, QuantScheme, parse_scheme
from neuroemu.lowbit.spec import LowBit

__all__ = ["SCHEMES", "LowBit", "QuantScheme", "parse_scheme"]
