"""SC pooling over 2×2 windows, on time-major channels-last per-cycle tensors ``(L, B, H, W, C)``.

- Average pooling by a 4-to-1 MUX (SC-DCNN, Ren et al. ASPLOS 2017, Sec. 4.2): each cycle a select signal
  picks one of the four streams, so the output encodes their mean.
- Average pooling of APC counts: a binary adder sums the four per-cycle counts (SC-DCNN's APC-Avg block).
- SC-DCNN's hardware-oriented max pooling: the stream is cut into segments of ``segment`` cycles; a counter
  per input counts its ones (or its APC counts) in the current segment, and during the next segment the
  output copies the input whose count was largest (the first such input on ties; input 0 in the first
  segment, before any count exists).
"""

import torch

from neuroemu.ledger import Ledger
from neuroemu.stochastic import bitstream


def windows(x: torch.Tensor) -> torch.Tensor:
    """``(L, B, H, W, C)`` → ``(L, B, H//2, W//2, C, 4)``: the 2×2 windows (odd last row/column dropped)."""
    length, b, h, w, c = x.shape
    x = x[:, :, : h - h % 2, : w - w % 2]
    x = x.reshape(length, b, h // 2, 2, w // 2, 2, c)
    return x.permute(0, 1, 2, 4, 6, 3, 5).reshape(length, b, h // 2, w // 2, c, 4)


def _quads(x: torch.Tensor) -> torch.Tensor:
    """A view ``(L, B, H//2, 2, W//2, 2, C)`` of ``(L, B, H, W, C)`` (no copy when H and W are even).

    A 7-dimensional tensor is taken to be such a view already (the networks hand over a layout whose four
    window inputs are each contiguous, which elementwise kernels run much faster on)."""
    if x.dim() == 7:
        return x
    length, b, h, w, c = x.shape
    x = x[:, :, : h - h % 2, : w - w % 2]
    return x.reshape(length, b, h // 2, 2, w // 2, 2, c)


def _pick(quads: torch.Tensor, choice: torch.Tensor) -> torch.Tensor:
    """Element ``choice`` (0..3, row-major in the window) of every 2×2 window of ``quads`` ``(*lead, H//2,
    2, W//2, 2, C)``, ``choice`` broadcasting against ``(*lead, H//2, W//2, C)``: one gather.

    Whatever the windows' strides, the elements of one leading index lie within a span of the storage that
    starts at that index's first element; a view with that span as its last dimension (``as_strided``, no
    copy) lets :func:`torch.gather` read the chosen input of each window by its storage offset."""
    *lead, h2, _, w2, _, c = quads.shape
    *lead_strides, s_h2, s_dh, s_w2, s_dw, s_c = quads.stride()
    offsets = (torch.arange(h2).view(-1, 1, 1) * s_h2 + torch.arange(w2).view(-1, 1) * s_w2
               + torch.arange(c) * s_c)  # (H//2, W//2, C)
    quadrant = torch.tensor([0, s_dw, s_dh, s_dh + s_dw])  # row-major window order
    index = offsets + quadrant[choice]
    index = index.reshape(*index.shape[:-3], h2 * w2 * c).expand(*lead, h2 * w2 * c)
    span = (h2 - 1) * s_h2 + s_dh + (w2 - 1) * s_w2 + s_dw + (c - 1) * s_c + 1
    flat = quads.as_strided((*lead, span), (*lead_strides, 1), quads.storage_offset())
    return torch.gather(flat, -1, index).view(*lead, h2, w2, c)


def _segment_sums(per_segment: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Sums over dim 1 (the cycles of each segment) in ``dtype``, added cycle by cycle into a tensor that
    keeps the input's memory order (faster on CPU than a reduction over a permuted view)."""
    out = per_segment[:, 0].to(dtype, copy=True)
    for cycle in range(1, per_segment.shape[1]):
        out.add_(per_segment[:, cycle])
    return out


def mux_avg_pool(bits: torch.Tensor, select: torch.Tensor, *, ledger: Ledger | None = None,
                 layer: str | None = None) -> torch.Tensor:
    """MUX average pooling of 0/1 streams ``(L, B, H, W, C)`` (or their 2×2 windows, ``(L, B, H//2, 2,
    W//2, 2, C)``); ``select`` is ``(L,)`` in 0..3."""
    out = _pick(_quads(bits), select.view(-1, 1, 1, 1, 1))
    if ledger is not None:
        ledger.record("sc_gate_cycle", out.numel(), layer=layer, gate="mux", inputs=4)
    return out


def sum_pool(counts: torch.Tensor, *, ledger: Ledger | None = None, layer: str | None = None) -> torch.Tensor:
    """Binary-adder pooling of per-cycle counts: the sum of each 2×2 window (APC-Avg).

    Half-precision counts are summed in float32 (their sums may exceed what bfloat16 holds exactly)."""
    wide = torch.float32 if counts.dtype in (torch.bfloat16, torch.float16) else counts.dtype
    quads = _quads(counts)
    out = quads[..., 0, :, 0, :].to(wide, copy=True)  # the four window inputs added in turn (vectorises)
    for row, col in ((0, 1), (1, 0), (1, 1)):
        out.add_(quads[..., row, :, col, :])
    if ledger is not None:
        ledger.record("sc_binary_add", 3 * out.numel(), layer=layer)
    return out


def segment_max_pool(values: torch.Tensor, segment: int, *, ledger: Ledger | None = None,
                     layer: str | None = None, counter_bits: int | None = None) -> torch.Tensor:
    """SC-DCNN max pooling of per-cycle bits or counts ``(L, B, H, W, C)`` with ``segment``-cycle windows.

    Any per-cycle quantity that is an increasing function of the count (e.g. the bipolar sum ``2c - n``)
    selects the same inputs.
    """
    return segment_max_pool_block(values, segment, ledger=ledger, layer=layer, counter_bits=counter_bits)[0]


def segment_max_pool_block(values: torch.Tensor, segment: int, previous: torch.Tensor | None = None, *,
                           bound: int | None = None, ledger: Ledger | None = None,
                           layer: str | None = None,
                           counter_bits: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`segment_max_pool` on a block of cycles that starts at a segment boundary.

    ``previous`` is the winner (0..3 per window, ``(B, H//2, W//2, C)``) of the segment before the block
    (``None`` at the start of the stream: input 0). Returns the pooled block and the winner of its last
    segment, to pass to the next block: running the blocks in turn equals one call on the whole stream.
    ``bound`` (optional) is a bound on ``|values|`` that lets segment counts be summed in float32 (int32).
    ``counter_bits`` is the width the ledger's counter and compare events record (``bits``; default
    :func:`~neuroemu.stochastic.bitstream.counter_bits` of the cycles given, right for a whole stream: a
    network clocked in blocks passes its stream's width).
    """
    if isinstance(segment, bool) or not isinstance(segment, int) or segment < 1:
        raise ValueError(f"pool_segment must be a positive integer, got {segment!r}")
    length = values.shape[0]
    n_seg = -(-length // segment)
    padded = values
    if n_seg * segment != length:
        pad = torch.zeros(n_seg * segment - length, *values.shape[1:], dtype=values.dtype)
        padded = torch.cat([values, pad], dim=0)
    quads = _quads(padded)  # (also takes the windows' view, (L, B, H//2, 2, W//2, 2, C))
    per_segment = quads.view(n_seg, segment, *quads.shape[1:])
    # segment counts, exactly: float64 holds every integer sum (bfloat16 would round); float32 (int32 for
    # integer values) does when the caller bounds the per-cycle magnitudes (segment × bound < 2**24, 2**31)
    if not values.is_floating_point():
        wide = torch.int32 if bound is not None and segment * bound < 2**31 else torch.int64
    elif bound is not None and segment * bound < 2**24:
        wide = torch.float32
    else:
        wide = torch.float64
    seg = _segment_sums(per_segment, wide)
    # the first maximum of the four window inputs, in row-major order (argmax returns the first)
    choice = torch.stack([seg[:, :, :, row, :, col] for row, col in ((0, 0), (0, 1), (1, 0), (1, 1))], -1)
    choice = choice.argmax(-1)
    chosen = torch.empty_like(choice)  # each segment passes the winner of the segment before it
    chosen[1:] = choice[:-1]
    chosen[0] = 0 if previous is None else previous
    out = _pick(per_segment, chosen.unsqueeze(1)).reshape(n_seg * segment, *choice.shape[1:])[:length]
    if ledger is not None:
        bits = bitstream.counter_bits(length) if counter_bits is None else counter_bits
        ledger.record("sc_counter_update", 4 * out.numel(), layer=layer, purpose="max_pool", bits=bits)
        ledger.record("sc_compare", 3 * n_seg * out[0].numel(), layer=layer, purpose="max_pool", bits=bits)
        ledger.record("sc_gate_cycle", out.numel(), layer=layer, gate="mux", inputs=4)
    return out, choice[-1]
