"""neuroemu: emulate trained CNNs on emerging hardware substrates and compare accuracy and energy.

The flow (see ``ARCHITECTURE.md`` in the project's shared notes): a trained torch model is mapped onto a
substrate, the emulated model is evaluated on a data set while a ledger counts hardware events, and the
ledger is priced with circuit cards.
"""

__version__ = "0.1.0"

from neuroemu.mapping import Substrate, map

__all__ = ["Substrate", "__version__", "map"]
