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

from neuroemu.cost import Ledger


def windows(x: torch.Tensor) -> torch.Tensor:
    """``(L, B, H, W, C)`` → ``(L, B, H//2, W//2, C, 4)``: the 2×2 windows (odd last row/column dropped)."""
    length, b, h, w, c = x.shape
    x = x[:, :, : h - h % 2, : w - w % 2]
    x = x.reshape(length, b, h // 2, 2, w // 2, 2, c)
    return x.permute(0, 1, 2, 4, 6, 3, 5).reshape(length, b, h // 2, w // 2, c, 4)


def _quads(x: torch.Tensor) -> torch.Tensor:
    """A view ``(L, B, H//2, 2, W//2, 2, C)`` of ``(L, B, H, W, C)`` (no copy when H and W are even)."""
    length, b, h, w, c = x.shape
    x = x[:, :, : h - h % 2, : w - w % 2]
    return x.reshape(length, b, h // 2, 2, w // 2, 2, c)


def _pick(quads: torch.Tensor, choice: torch.Tensor) -> torch.Tensor:
    """Element ``choice`` (0..3, row-major in the window) of every 2×2 window, ``choice`` broadcasting
    against ``(..., H//2, W//2, C)``; reads the four strided views instead of copying the windows."""
    left, upper = choice % 2 == 0, choice < 2
    top = torch.where(left, quads[..., 0, :, 0, :], quads[..., 0, :, 1, :])
    bottom = torch.where(left, quads[..., 1, :, 0, :], quads[..., 1, :, 1, :])
    return torch.where(upper, top, bottom)


def mux_avg_pool(bits: torch.Tensor, select: torch.Tensor, *, ledger: Ledger | None = None,
                 layer: str | None = None) -> torch.Tensor:
    """MUX average pooling of 0/1 streams ``(L, B, H, W, C)``; ``select`` is ``(L,)`` in 0..3."""
    out = _pick(_quads(bits), select.view(-1, 1, 1, 1, 1))
    if ledger is not None:
        ledger.record("sc_gate_cycle", out.numel(), layer=layer, gate="mux", inputs=4)
    return out


def sum_pool(counts: torch.Tensor, *, ledger: Ledger | None = None, layer: str | None = None) -> torch.Tensor:
    """Binary-adder pooling of per-cycle counts: the sum of each 2×2 window (APC-Avg)."""
    out = _quads(counts).sum(dim=(3, 5))
    if ledger is not None:
        ledger.record("sc_binary_add", 3 * out.numel(), layer=layer)
    return out


def segment_max_pool(values: torch.Tensor, segment: int, *, ledger: Ledger | None = None,
                     layer: str | None = None) -> torch.Tensor:
    """SC-DCNN max pooling of per-cycle bits or counts ``(L, B, H, W, C)`` with ``segment``-cycle windows.

    Any per-cycle quantity that is an increasing function of the count (e.g. the bipolar sum ``2c - n``)
    selects the same inputs.
    """
    if isinstance(segment, bool) or not isinstance(segment, int) or segment < 1:
        raise ValueError(f"pool_segment must be a positive integer, got {segment!r}")
    length = values.shape[0]
    n_seg = -(-length // segment)
    padded = values
    if n_seg * segment != length:
        pad = torch.zeros(n_seg * segment - length, *values.shape[1:], dtype=values.dtype)
        padded = torch.cat([values, pad], dim=0)
    quads = _quads(padded)
    seg = quads.reshape(n_seg, segment, *quads.shape[1:]).sum(dim=1)  # exact: small integers
    n, b, h2, _, w2, _, c = seg.shape
    seg = seg.permute(0, 1, 2, 4, 6, 3, 5).reshape(n, b, h2, w2, c, 4)
    # first maximum: argmax over a tie-broken key (sum * 4 + (3 - index))
    key = seg.to(torch.int64) * 4 + torch.arange(3, -1, -1, dtype=torch.int64)
    choice = key.argmax(dim=-1)  # (n_seg, B, H2, W2, C): the winner of each segment
    chosen = torch.zeros_like(choice)
    chosen[1:] = choice[:-1]  # used during the next segment
    per_segment = quads.view(n_seg, segment, *quads.shape[1:])
    out = _pick(per_segment, chosen.unsqueeze(1)).reshape(n_seg * segment, *choice.shape[1:])[:length]
    if ledger is not None:
        ledger.record("sc_counter_update", 4 * out.numel(), layer=layer, purpose="max_pool")
        ledger.record("sc_compare", 3 * n_seg * out[0].numel(), layer=layer, purpose="max_pool")
        ledger.record("sc_gate_cycle", out.numel(), layer=layer, gate="mux", inputs=4)
    return out
