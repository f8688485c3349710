"""The low-bit substrate as neuroemu registers it (see :mod:`neuroemu.registration`).

A network trained with a binary / ternary / k-bit scheme (``neuroemu train lenet5 --quant ...``) run
bit-exactly by :class:`~neuroemu.lowbit.LowBit` (XNOR-popcount where weights and inputs are ±1); its
events are digital and priced by the standard book alone.
"""

from __future__ import annotations

from neuroemu.lowbit.spec import LowBit
from neuroemu.registration import DemoBlock, Registration

__all__ = ["REGISTRATION"]

REGISTRATION = Registration(
    name="lowbit",
    spec=LowBit,
    summary="binary / ternary / k-bit network run bit-exactly on digital low-bit arithmetic "
            "(XNOR-popcount where weights and inputs are ±1)",
    demo=(DemoBlock({"zip": {"model": ["lenet5-mnist-ternary", "lenet5-mnist-bnn", "lenet5-mnist-xnor"]}}),),
)
