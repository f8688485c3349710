"""The digital baseline: the float network on a multiply-accumulate datapath of a given width.

``neuroemu.map(model, Digital(bits=8))`` computes exactly what ``model`` computes and, inside
``neuroemu.ledger.recording``, records one ``mac`` event per multiply-accumulate (with the operand width) and,
with a weight memory card, the ``memory_read`` word accesses that fetch the weights: the common reference the
emerging substrates are compared against.
"""

from neuroemu.digital.macs import count_macs, layer_macs
from neuroemu.digital.spec import Digital, DigitalNetwork

__all__ = ["Digital", "DigitalNetwork", "count_macs", "layer_macs"]
