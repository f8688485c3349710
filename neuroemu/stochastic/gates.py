"""SC gates on packed bitstreams, each recording its gate-cycles in an optional ledger.

AND multiplies unipolar numbers (``p_a p_b``), XNOR multiplies bipolar ones (``x_a x_b``), both exactly
in expectation when the inputs are uncorrelated (SCC = 0); OR adds approximately
(``p_a + p_b - p_a p_b``); NOT negates a bipolar number. One 64-bit word operation is 64 gate-cycles.
"""

from neuroemu.ledger import Ledger
from neuroemu.stochastic.bitstream import Bitstream, tail_mask


def _record(ledger: Ledger | None, gate: str, out: Bitstream, layer: str | None) -> None:
    if ledger is not None:
        ledger.record("sc_gate_cycle", int(out.shape.numel()) * out.length, layer=layer, gate=gate)


def sc_and(a: Bitstream, b: Bitstream, *, ledger: Ledger | None = None,
           layer: str | None = None) -> Bitstream:
    """AND gate: the unipolar product ``p_a p_b`` for uncorrelated inputs."""
    out = a & b
    _record(ledger, "and", out, layer)
    return out


def sc_xnor(a: Bitstream, b: Bitstream, *, ledger: Ledger | None = None,
            layer: str | None = None) -> Bitstream:
    """XNOR gate: the bipolar product ``x_a x_b`` for uncorrelated inputs."""
    out = Bitstream(~(a.words ^ b.words) & tail_mask(a.length), a.length, a.encoding)
    a._check(b)
    _record(ledger, "xnor", out, layer)
    return out


def sc_or(a: Bitstream, b: Bitstream, *, ledger: Ledger | None = None,
          layer: str | None = None) -> Bitstream:
    """OR gate: approximate unipolar addition ``p_a + p_b - p_a p_b``."""
    out = a | b
    _record(ledger, "or", out, layer)
    return out


def sc_not(a: Bitstream, *, ledger: Ledger | None = None, layer: str | None = None) -> Bitstream:
    """NOT gate: ``1 - p`` (unipolar), ``-x`` (bipolar)."""
    out = ~a
    _record(ledger, "not", out, layer)
    return out
