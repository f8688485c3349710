"""A slow, cycle-by-cycle reference of :class:`~neuroemu.stochastic.network.SCNetwork` (for tests).

It clocks the whole circuit one cycle at a time, the way the hardware runs: per cycle it forms every
XNOR product explicitly (im2col of that cycle's input bits), counts them (exact parallel counter, or
:func:`~neuroemu.stochastic.adders.apc_count` for the approximate one) or passes the selected one (MUX),
updates the pooling counters and the saturating counters, and hands the output bits to the next layer in
the same cycle. It shares only the generated streams (input comparator rows, weight bits, select signals)
and the state counts with the fast path, none of its arithmetic.
"""

import torch
import torch.nn.functional as F

from neuroemu.stochastic.adders import apc_count
from neuroemu.stochastic.network import SCLayer, SCNetwork


class _LayerState:
    def __init__(self, layer: SCLayer) -> None:
        self.layer = layer
        self.fsm: torch.Tensor | None = None
        self.segment_counts: torch.Tensor | None = None
        self.choice: torch.Tensor | None = None
        self.output_sum: torch.Tensor | None = None


def reference_forward(net: SCNetwork, images: torch.Tensor) -> torch.Tensor:
    """Logits of ``net`` on ``images``, simulated cycle by cycle (slow: use a few images, short streams)."""
    first = net.layers[0]
    pad = first.padding if first.is_conv else 0
    x = F.pad(images.to(torch.float64), (pad,) * 4) if pad else images.to(torch.float64)
    p_in = (x + 1) / 2
    randoms = first.input_randoms.view(*x.shape[1:], net.length)
    states = [_LayerState(layer) for layer in net.layers]
    for t in range(net.length):
        bits = (randoms[..., t].unsqueeze(0) < p_in).to(torch.int64)  # (B, C, H, W) this cycle
        for st in states:
            bits = _clock(st, bits, t)
    last = states[-1]
    return last.output_sum.to(torch.float32)


def _clock(st: _LayerState, bits: torch.Tensor, t: int) -> torch.Tensor:
    layer = st.layer
    b = bits.shape[0]
    wbits = layer.weight_bits[t].to(torch.int64)  # (O, n)
    if layer.is_conv:
        h_out = bits.shape[2] - layer.kernel + 1
        cols = F.unfold(bits.to(torch.float64), layer.kernel).to(torch.int64)  # (B, n', P)
        ones = torch.ones(b, 1, cols.shape[-1], dtype=torch.int64)
        inputs = torch.cat([cols, ones], dim=1)  # the bias input is a constant 1
    else:
        inputs = torch.cat([bits.reshape(b, -1), torch.ones(b, 1, dtype=torch.int64)], dim=1).unsqueeze(-1)
    products = 1 - (inputs.unsqueeze(1) ^ wbits.view(1, *wbits.shape, 1))  # XNOR: (B, O, n, P)
    if layer.adder == "apc":  # exact parallel counter, or Kim et al.'s approximate one: (B, O, P)
        value = products.sum(dim=2) if layer.counter == "exact" else apc_count(products, dim=2)
        n_in = layer.n_inputs
    else:  # the MUX passes the selected product: one select for all neurons, or one per neuron (weighted)
        sel = layer.ip_select[t]
        if sel.dim() == 0:
            value = products[:, :, int(sel)]
        else:
            index = sel.view(1, -1, 1, 1).expand(b, -1, 1, products.shape[-1])
            value = torch.gather(products, 2, index).squeeze(2)
        n_in = 1
    value = value.view(b, -1, h_out, h_out) if layer.is_conv else value.squeeze(-1)
    if not layer.activation:
        bipolar = 2 * value - n_in
        st.output_sum = bipolar if st.output_sum is None else st.output_sum + bipolar
        if t == layer.length - 1:
            decoded = st.output_sum.to(torch.float64) / layer.length
            if layer.adder == "apc":
                st.output_sum = layer.gain * decoded
            elif layer.mux_select == "uniform":
                st.output_sum = layer.gain * layer.n_inputs * decoded
            else:
                st.output_sum = layer.mux_scale * decoded
        return value
    if layer.pool is not None:
        win = F.unfold(value.to(torch.float64), 2, stride=2).to(torch.int64)  # (B, O*4, P')
        win = win.view(b, value.shape[1], 4, -1)
        if layer.pool == "max":
            if t % layer.pool_segment == 0:
                if st.segment_counts is None:
                    st.choice = torch.zeros(b, value.shape[1], win.shape[-1], dtype=torch.int64)
                else:  # the first largest count of the finished segment wins the next one
                    best = st.segment_counts.max(dim=2, keepdim=True).values
                    is_best = st.segment_counts == best
                    rank = torch.arange(4, 0, -1).view(1, 1, 4, 1)  # earlier inputs win ties
                    st.choice = torch.argmax(is_best.to(torch.int64) * rank, dim=2)
                st.segment_counts = torch.zeros_like(win)
            st.segment_counts = st.segment_counts + win
            value = torch.gather(win, 2, st.choice.unsqueeze(2)).squeeze(2)
            n_pool = n_in
        elif layer.adder == "apc":
            value = win.sum(dim=2)
            n_pool = 4 * n_in
        else:
            value = win[:, :, int(layer.pool_select[t])]
            n_pool = n_in
        side = value.shape[-1]
        hw = round(side ** 0.5)
        value = value.view(b, -1, hw, hw)
    else:
        n_pool = n_in
    states = torch.as_tensor(layer.states)
    if states.dim():  # one Stanh size per neuron (the channel dimension)
        states = states.view(1, -1, *([1] * (value.dim() - 2)))
    if st.fsm is None:
        st.fsm = (states // 2).expand(value.shape).clone()
    st.fsm = torch.minimum(torch.clamp(st.fsm + 2 * value - n_pool, min=0), states - 1)
    return (st.fsm >= states // 2).to(torch.int64)
