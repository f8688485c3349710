"""SC-DCNN networks: a trained conv/linear/tanh/pooling network as a bit-exact stochastic circuit.

Each weighted layer becomes one SC-DCNN feature-extraction block (Ren et al., ASPLOS 2017, Sec. 4):

- inner product: bipolar XNOR multipliers, summed by a parallel counter (``apc-*`` blocks, whose binary
  counts feed a Btanh; Kim et al., DAC 2016) or by an ``n``-to-1 MUX (``mux-*`` blocks, whose stream feeds
  a Stanh; Brown & Card 2001). The network's counter is the *exact* parallel counter: the per-cycle
  counts over a fan-in are one batched 0/1 matrix product over the cycle axis. Kim et al.'s approximate
  first layer (:func:`~neuroemu.stochastic.adders.apc_count`, at most ``ceil(n/4)`` off per cycle) is
  modelled as a component but not used in the networks;
- pooling (where the float network pools after this layer): average (binary adder for counts, MUX for
  streams) or SC-DCNN's segment max pooling (:mod:`neuroemu.stochastic.pooling`);
- activation: Btanh / Stanh with the state count that makes it approximate the network's tanh.

Weights and biases of a layer are divided by their largest magnitude ``g`` so that they fit the bipolar
range; the block then computes ``sum = z / g`` and its activation is set to ``tanh(g · sum)`` (Btanh scale
``s = 1/g`` in Kim et al.'s state rule; Stanh ``K ≈ 2 g n``), which restores the scale. The last layer has
no activation: its counts are accumulated into binary and the logits are ``g · decoded sum``.

Every stream comes from the layer's number generator (:mod:`neuroemu.stochastic.sng`): one source draw
per layer supplies the input comparators (first layer only), one row per weight input index (shared by all
output neurons), and the MUX select signals; so the circuit, like hardware whose generators restart for
each image, is the same for every image and the result does not depend on batching.

In ``mode="analytic"`` (a labelled approximation, not an emulation) each block instead returns the value
its hardware converges to — ``tanh(g · pooled sum)`` for Btanh, the exact Stanh steady state for Stanh —
plus binomial noise of an ``L``-bit stream, drawn from a generator seeded by (seed, layer).
"""

import warnings

import torch
import torch.nn.functional as F
from torch import nn

from neuroemu.cost import Ledger
from neuroemu.stochastic.activations import btanh_states, saturating_counter, stanh_states, stanh_steady_state
from neuroemu.stochastic.pooling import mux_avg_pool, segment_max_pool, sum_pool
from neuroemu.stochastic.sng import Source, compare

BLOCKS = ("apc-max-btanh", "apc-avg-btanh", "mux-max-stanh", "mux-avg-stanh")


class SCLayer(nn.Module):
    """One SC-DCNN block: XNOR inner product, optional 2×2 pooling, Btanh/Stanh (or output counters)."""

    def __init__(self, name: str, layer: nn.Conv2d | nn.Linear, *, adder: str, pool: str | None,
                 activation: bool, length: int, source: Source, index: int, pool_segment: int,
                 n_input_rows: int = 0, in_width: int = 0, streams: bool = True) -> None:
        super().__init__()
        weight = layer.weight.detach().to(torch.float64)
        bias = (layer.bias.detach().to(torch.float64) if layer.bias is not None
                else torch.zeros(weight.shape[0], dtype=torch.float64))
        if not torch.isfinite(weight).all() or not torch.isfinite(bias).all():
            raise ValueError(f"layer {name}: weights must be finite (no NaN/inf)")
        self.name, self.adder, self.pool, self.activation = name, adder, pool, activation
        self.length, self.pool_segment = length, pool_segment
        self.is_conv = isinstance(layer, nn.Conv2d)
        if self.is_conv:
            if layer.stride != (1, 1) or layer.dilation != (1, 1) or layer.groups != 1:
                raise ValueError(f"layer {name}: only stride 1, dilation 1, groups 1 convolutions are mapped")
            if isinstance(layer.padding, str) or layer.padding[0] != layer.padding[1]:
                raise ValueError(f"layer {name}: only symmetric numeric padding is mapped")
            self.padding = int(layer.padding[0])
            self.kernel = int(layer.kernel_size[0])
            if layer.kernel_size[0] != layer.kernel_size[1]:
                raise ValueError(f"layer {name}: only square kernels are mapped")
            self.in_width = in_width + 2 * self.padding
        self.out_features = weight.shape[0]
        flat = weight.reshape(self.out_features, -1)
        self.n_weights = flat.shape[1]          # n' (without the bias input)
        self.n_inputs = self.n_weights + 1       # n: the bias is one more XNOR input fed a constant 1
        scale = float(max(flat.abs().max(), bias.abs().max()))
        self.gain = scale if scale > 0 else 1.0
        w_tilde = torch.cat([flat, bias[:, None]], dim=1) / self.gain  # (O, n) in [-1, 1]
        self.register_buffer("w_tilde", w_tilde.to(torch.float32))
        # one source draw: [first-layer input rows | one row per weight input | IP select | pool select];
        # the analytic approximation needs no streams (a one-cycle draw keeps the buffers' shapes simple)
        rows = source.draw(n_input_rows + self.n_inputs + 2, length if streams else 1, stream=index)
        self.register_buffer("input_randoms", rows[:n_input_rows].clone())
        wrows = rows[n_input_rows:n_input_rows + self.n_inputs]  # (n, L)
        wbits = compare((w_tilde.clamp(-1, 1) + 1) / 2, wrows.unsqueeze(0))  # (O, n, L)
        self.register_buffer("weight_bits", wbits.permute(2, 0, 1).contiguous())  # (L, O, n) uint8
        ip_select = torch.clamp((rows[-2] * self.n_inputs).long(), max=self.n_inputs - 1)
        self.register_buffer("ip_select", ip_select)
        self.register_buffer("pool_select", torch.clamp((rows[-1] * 4).long(), max=3))
        self.sng = source.kind
        pooled_inputs = 4 * self.n_inputs if pool == "avg" and adder == "apc" else self.n_inputs
        if adder == "apc":
            scale_s = (4.0 if pool == "avg" and adder == "apc" else 1.0) / self.gain
            try:
                self.states = btanh_states(pooled_inputs, scale_s)
            except ValueError:  # a gain so small that the rule leaves no states: the smallest counter
                warnings.warn(f"layer {name}: gain {self.gain:.3g} is below what Kim et al.'s state rule "
                              "covers; using a 2-state Btanh", stacklevel=3)
                self.states = 2
        else:
            self.states = stanh_states(self.gain * self.n_inputs)
        self.pooled_inputs = pooled_inputs
        self._weight_cache: tuple[torch.Tensor, torch.Tensor] | None = None
        self.ledger: Ledger | None = None
        self.has_streams = streams
        # bf16 matrix products are exact here when every partial sum is an integer of magnitude <= 256
        self.low_precision = self.n_weights <= 256

    def extra_repr(self) -> str:
        return (f"{self.name}: {self.adder} n={self.n_inputs} pool={self.pool} "
                f"act={'btanh' if self.adder == 'apc' else 'stanh'}({self.states}) gain={self.gain:.4g}"
                if self.activation else f"{self.name}: {self.adder} n={self.n_inputs} output counters")

    # ---- bit-exact -------------------------------------------------------------------------------
    def _signed_weights(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-cycle XNOR-sum operands: weights ``4 w_t - 2`` and constants (cached).

        With the exact parallel counter, ``c_t = sum_i xnor(x_i, w_i) = n' - sum x - sum w + 2 sum x w
        + w_bias`` (the bias input is a constant 1), so the bipolar sum ``d_t = 2 c_t - n`` is
        ``sum_i x_i (4 w_i - 2) + (2 n' - 2 sum_i w_i + 2 w_bias - n)``: one batched matrix product over the
        cycle axis with a per-cycle bias. Exact in float32 (all terms are small integers); when
        ``n' <= 256`` the product ``u = sum_i x_i (2 w_i - 1)`` runs in bfloat16 (fp32 accumulation, and
        ``|u| <= n'`` is an integer that bfloat16 holds exactly) and ``d = 2 u + const``.
        """
        cached = self._weight_cache
        if cached is not None:
            return cached
        wb = self.weight_bits.to(torch.float32)  # (L, O, n)
        const = 2 * self.n_weights - 2 * wb[:, :, : self.n_weights].sum(-1) + 2 * wb[:, :, -1] - self.n_inputs
        if self.low_precision:  # d = 2 u + const with u = sum_i x_i (2 w_i - 1), |u| <= n' <= 256
            signed = (2 * wb[:, :, : self.n_weights] - 1).to(torch.bfloat16)
        else:
            signed = 4 * wb[:, :, : self.n_weights] - 2
        if self.is_conv:
            signed, const = self._row_toeplitz(signed, const)
        else:
            signed = signed.transpose(1, 2).contiguous()  # (L, n', O)
            const = const.unsqueeze(1)  # (L, 1, O)
        self._weight_cache = (signed, const)
        return signed, const

    def _row_toeplitz(self, signed: torch.Tensor, const: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Convolution as a matrix product per cycle: ``(C k W_in) × (W_out O)`` banded weight matrices.

        Output row ``h`` of every channel is ``[x rows h..h+k-1 of every channel] @ T``, so a batch of
        images and all output rows form the matrix rows: a large batched product instead of a grouped
        convolution with few channels per group.
        """
        k, o = self.kernel, self.out_features
        c_in = self.n_weights // (k * k)
        w_in = self.in_width
        w_out = w_in - k + 1
        wt = signed.view(self.length, o, c_in, k, k).permute(0, 3, 4, 2, 1)  # (L, kh, kw, C, O)
        t = torch.zeros(self.length, k, w_in, c_in, w_out, o, dtype=signed.dtype)
        for kw in range(k):
            for w in range(w_out):
                t[:, :, w + kw, :, w, :] = wt[:, :, kw, :, :]
        bias = const.unsqueeze(1).expand(self.length, w_out, o).reshape(self.length, 1, w_out * o)
        return t.view(self.length, k * w_in * c_in, w_out * o), bias.contiguous()

    def _apc_sums(self, x: torch.Tensor) -> torch.Tensor:
        """Per-cycle bipolar sums ``2 c - n`` of the exact parallel counter, time-major float32.

        ``x`` is channels-last ``(L, B, H, W, C)`` or ``(L, B, n')`` 0/1 float32; the result is
        ``(L, B, H', W', O)`` or ``(L, B, O)``.
        """
        length, b = x.shape[:2]
        if self.is_conv and x.shape[-2] != self.in_width:
            raise ValueError(f"layer {self.name}: input width {x.shape[-2]}, mapped for {self.in_width}")
        signed, const = self._signed_weights()
        x = x.to(signed.dtype)
        if self.is_conv:
            k = self.kernel
            h, w, c_in = x.shape[2:]
            h_out, w_out = h - k + 1, w - k + 1
            rows = x.unfold(2, k, 1).permute(0, 1, 2, 5, 3, 4).reshape(length, b * h_out, k * w * c_in)
            shape = (length, b, h_out, w_out, self.out_features)
        else:
            rows, shape = x, (length, b, self.out_features)
        if not self.low_precision:
            return torch.baddbmm(const, rows, signed).view(shape)
        # bf16 operands, fp32 accumulation; |u| <= n' <= 256 integers are exact in the bf16 result
        u = torch.bmm(rows, signed).to(torch.float32)
        return u.mul_(2).add_(const).view(shape)

    def _mux_bits(self, x: torch.Tensor) -> torch.Tensor:
        """MUX inner product: each cycle, the XNOR product of the selected input: ``(L, B[, H', W'], O)``."""
        length = x.shape[0]
        sel = self.ip_select
        t = torch.arange(length)
        wsel = self.weight_bits[t, :, sel].to(x.dtype)  # (L, O)
        is_bias = sel == self.n_weights
        sel_w = torch.clamp(sel, max=self.n_weights - 1)
        if self.is_conv:
            k = self.kernel
            c_idx, rest = sel_w // (k * k), sel_w % (k * k)
            kh, kw = rest // k, rest % k
            h_out, w_out = x.shape[2] - k + 1, x.shape[3] - k + 1
            rows = kh.view(-1, 1, 1) + torch.arange(h_out).view(1, -1, 1)
            cols = kw.view(-1, 1, 1) + torch.arange(w_out).view(1, 1, -1)
            xsel = x[t.view(-1, 1, 1), :, rows, cols, c_idx.view(-1, 1, 1)].permute(0, 3, 1, 2)  # (L,B,H',W')
            xsel = torch.where(is_bias.view(-1, 1, 1, 1), 1.0, xsel).unsqueeze(-1)
            wsel = wsel.view(length, 1, 1, 1, -1)
        else:
            xsel = x[t, :, sel_w]  # (L, B)
            xsel = torch.where(is_bias.view(-1, 1), 1.0, xsel).unsqueeze(2)
            wsel = wsel.unsqueeze(1)
        return (xsel == wsel).to(torch.float32)

    def forward_bits(self, x: torch.Tensor) -> torch.Tensor:
        """Bit-exact block on time-major 0/1 float32 streams ``(L, B, ...)`` (channels last).

        Returns the next streams ``(L, B, ...)``, or the logits ``(B, O)`` for the output layer. A padded
        convolution must be the first layer, whose input streams are generated already padded.
        """
        if not self.has_streams:
            raise RuntimeError(f"layer {self.name} was mapped for the analytic mode: it has no streams")
        ledger = self.ledger
        per_cycle = self._apc_sums(x) if self.adder == "apc" else self._mux_bits(x)
        self._record_inner(x, per_cycle)
        if not self.activation:
            if ledger is not None:
                ledger.record("sc_counter_update", int(per_cycle.numel()), layer=self.name, purpose="output")
            decoded = per_cycle.sum(dim=0, dtype=torch.float64) / self.length
            if self.adder == "apc":
                return (self.gain * decoded).to(torch.float32)
            return (self.gain * self.n_inputs * (2 * decoded - 1)).to(torch.float32)
        if self.pool == "max":
            per_cycle = segment_max_pool(per_cycle, self.pool_segment, ledger=ledger, layer=self.name)
        elif self.pool == "avg":
            per_cycle = (sum_pool(per_cycle, ledger=ledger, layer=self.name) if self.adder == "apc"
                         else mux_avg_pool(per_cycle, self.pool_select, ledger=ledger, layer=self.name))
        steps = per_cycle if self.adder == "apc" else 2 * per_cycle - 1
        kind = "btanh" if self.adder == "apc" else "stanh"
        return saturating_counter(steps, self.states, ledger=ledger, layer=self.name, kind=kind)

    def _record_inner(self, x: torch.Tensor, per_cycle: torch.Tensor) -> None:
        ledger = self.ledger
        if ledger is None:
            return
        b = x.shape[1]
        neurons_cycles = int(per_cycle.numel())
        ledger.record("sc_gate_cycle", neurons_cycles * self.n_inputs, layer=self.name, gate="xnor")
        ledger.record("sc_sng_draw", b * self.out_features * self.n_inputs * self.length, layer=self.name,
                      sng=self.sng, operand="weight")
        if self.adder == "apc":
            ledger.record("sc_counter_op", neurons_cycles, layer=self.name, counter="exact",
                          inputs=self.n_inputs)
        else:
            ledger.record("sc_gate_cycle", neurons_cycles, layer=self.name, gate="mux", inputs=self.n_inputs)
            ledger.record("sc_sng_draw", b * self.length, layer=self.name, sng=self.sng, operand="select")
        if self.pool == "avg" and self.adder == "mux" and self.activation:
            ledger.record("sc_sng_draw", b * self.length, layer=self.name, sng=self.sng, operand="select")

    # ---- analytic approximation ---------------------------------------------------------------------
    def forward_analytic(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Expected block output plus the binomial noise of an ``L``-bit stream (an approximation)."""
        w = self.w_tilde[:, : self.n_weights].to(torch.float64)
        bias = self.w_tilde[:, -1].to(torch.float64)
        x = x.to(torch.float64)
        if self.is_conv:
            c_in = self.n_weights // (self.kernel * self.kernel)
            s = F.conv2d(x, w.view(-1, c_in, self.kernel, self.kernel), bias, padding=self.padding)
        else:
            s = F.linear(x, w, bias)
        length = self.length
        if not self.activation:
            if self.adder == "apc":  # sum of n·L Bernoulli products: variance 4 sum p(1-p) / L per cycle sum
                if self.is_conv:
                    raise ValueError("an output conv layer is not supported")
                var = (self.n_inputs - F.linear(x * x, w * w, bias * bias)).clamp(min=0) / length
                noise = torch.randn(s.shape, generator=generator, dtype=torch.float64) * var.sqrt()
                return (self.gain * (s + noise)).to(torch.float32)
            v = s / self.n_inputs
            return (self.gain * self.n_inputs * _binomial_stream(v, length, generator)).to(torch.float32)
        if self.pool == "max":
            s = F.max_pool2d(s, 2)
        elif self.pool == "avg":
            s = F.avg_pool2d(s, 2)
        y = (torch.tanh(self.gain * s) if self.adder == "apc"
             else stanh_steady_state((s / self.n_inputs).clamp(-1, 1), self.states))
        return _binomial_stream(y.clamp(-1, 1), length, generator).to(torch.float32)


def _binomial_stream(value: torch.Tensor, length: int, generator: torch.Generator) -> torch.Tensor:
    """Decoded bipolar value of an ``length``-bit stream whose bits are 1 with probability (v + 1) / 2."""
    p = ((value + 1) / 2).clamp(0, 1)
    ones = torch.binomial(torch.full_like(p, float(length)), p, generator=generator)
    return 2 * ones / length - 1


class SCNetwork(nn.Module):
    """A feed-forward network of :class:`SCLayer` blocks; ``forward(images) -> logits`` like the original.

    ``ledger`` collects the hardware events of every forward pass (see :mod:`neuroemu.stochastic`).
    """

    def __init__(self, layers: list[SCLayer], *, length: int, mode: str, block: str, seed: int,
                 input_shape: tuple[int, int, int], images_per_chunk: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.length, self.mode, self.block, self.seed = length, mode, block, seed
        self.input_shape = input_shape
        self.images_per_chunk = images_per_chunk
        self.ledger = Ledger()
        for layer in layers:
            layer.ledger = self.ledger

    def extra_repr(self) -> str:
        return f"length={self.length}, mode={self.mode!r}, block={self.block!r}"

    def input_bits(self, images: torch.Tensor) -> torch.Tensor:
        """Bipolar input streams, time-major channels-last ``(L, B, H+2p, W+2p, C)`` float32."""
        first = self.layers[0]
        if images.dim() != 4 or tuple(images.shape[1:]) != self.input_shape:
            raise ValueError(f"images must have shape (B, {', '.join(map(str, self.input_shape))}), "
                             f"got {tuple(images.shape)}")
        x = images.to(torch.float64)
        if torch.isnan(x).any() or (x < -1).any() or (x > 1).any():
            raise ValueError("SC inputs must lie in the bipolar range [-1, 1] (use the 'unit' normalisation)")
        pad = first.padding if first.is_conv else 0
        if pad:
            x = F.pad(x, (pad, pad, pad, pad))
        b = x.shape[0]
        rows = first.input_randoms.t().reshape(self.length, 1, *x.shape[1:])
        bits = (rows < ((x + 1) / 2).unsqueeze(0)).to(torch.float32)  # (L, B, C, H, W)
        self.ledger.record("sc_sng_draw", int(bits.numel()), layer=first.name, sng=first.sng, operand="input")
        return bits.permute(0, 1, 3, 4, 2).contiguous() if first.is_conv else bits.reshape(self.length, b, -1)

    def forward_bits_chunk(self, images: torch.Tensor) -> torch.Tensor:
        x = self.input_bits(images)
        for layer in self.layers:
            if not layer.is_conv and x.dim() > 3:  # flatten per cycle in torch's (C, H, W) order
                x = x.permute(0, 1, 4, 2, 3).reshape(x.shape[0], x.shape[1], -1)
            x = layer.forward_bits(x)
        return x

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if self.mode == "analytic":
            gen = torch.Generator().manual_seed(self.seed)
            x = images
            for layer in self.layers:
                if not layer.is_conv and x.dim() > 2:
                    x = x.flatten(1)
                x = layer.forward_analytic(x, gen)
            return x
        outs = [self.forward_bits_chunk(images[i:i + self.images_per_chunk])
                for i in range(0, images.shape[0], self.images_per_chunk)]
        return torch.cat(outs) if outs else torch.empty(0, self.layers[-1].out_features)


def images_per_chunk(length: int, cycle_budget: int) -> int:
    """Images per bit-exact chunk so that images × length stays near ``cycle_budget``."""
    return max(1, cycle_budget // length) if length <= cycle_budget else 1
