"""SC-DCNN networks: a trained conv/linear/tanh/pooling network as a bit-exact stochastic circuit.

Each weighted layer becomes one SC-DCNN feature-extraction block (Ren et al., ASPLOS 2017, Sec. 4):

- inner product: bipolar XNOR multipliers, summed by a parallel counter (``apc-*`` blocks, whose binary
  counts feed a Btanh; Kim et al., DAC 2016) or by an ``n``-to-1 MUX (``mux-*`` blocks, whose stream feeds
  a Stanh; Brown & Card 2001; ``mux_select="weighted"``: the |w|-weighted select, an extension). The
  counter is the *exact* parallel counter, whose bipolar counts over a fan-in are, each cycle, one exact
  int8 matrix product (:meth:`SCLayer._counter_operands`, :func:`int_matmul`), or with
  ``counter="approximate"`` Kim et al.'s approximate counter (:func:`~neuroemu.stochastic.adders.apc_count`,
  at most ``ceil(n/4)`` off per cycle), computed as the exact count plus its per-cycle error, one more
  int8 matrix product (:meth:`SCLayer._apc_error_operands`);
- pooling (where the float network pools after this layer): average (binary adder for counts, MUX for
  streams) or SC-DCNN's segment max pooling (:mod:`neuroemu.stochastic.pooling`);
- activation: Btanh / Stanh with the state count that makes it approximate the network's tanh.

Weights and biases of a layer are divided by their largest magnitude ``g`` so that they fit the bipolar
range; the block then computes ``sum = z / g`` and its activation is set to ``tanh(g · sum)`` (Btanh scale
``s = 1/g`` in Kim et al.'s state rule; Stanh ``K ≈ 2 g n``), which restores the scale. The last layer has
no activation: its counts are accumulated into binary and the logits are the decoded sum scaled back
(``g ·`` the decoded count for APC blocks, ``g n ·`` the decoded stream for the uniform MUX).

Every stream comes from the layer's number generator (:mod:`neuroemu.stochastic.sng`): one source draw
per layer supplies the input comparators (the first layer of an :class:`SCNetwork` only), one row per
weight input index (shared by all output neurons), and the MUX select signals (inner product and average
pooling); so the circuit, like hardware whose generators restart for each image, is the same for every
image and the result does not depend on batching.

In ``mode="analytic"`` (a labelled approximation, not an emulation) each block instead returns the value
its hardware converges to plus binomial noise of an ``L``-bit stream, drawn layer after layer from one
generator seeded by the spec's seed, with the noise each adder puts on its sum
(:mod:`neuroemu.stochastic.adders`, "What each adder does to the noise"):

- APC blocks: ``tanh(g · pooled sum)`` (the Btanh's target), then the output stream's binomial noise. The
  counter is exact, so it adds no noise of its own; the products' noise (variance ``sum_i (1 - v_i^2) / L``
  on the sum) is not drawn in hidden layers (it is in the output layer's counts);
- MUX blocks: the MUX stream is a Bernoulli stream of value ``m = z / (g n)`` (``z / ||w||_1`` for the
  weighted select), so the Stanh is fed the value an ``L``-bit count of it gives, ``m`` plus binomial noise
  of variance ``(1 - m^2) / L`` — about ``g n / sqrt(L)`` on the pre-activation, ``sqrt(n)`` times the
  counter's — and returns its exact steady state for that value, then the output stream's binomial noise.
  Pooling comes first (average pooling by a MUX is again a Bernoulli stream of the average; max pooling is
  taken as the exact maximum, ignoring wrong segment choices);
- the output layer: its counts, with their binomial noise (the sum of the products for APC, the MUX stream
  for MUX), scaled back.

What it leaves out: the Stanh's and Btanh's settling from their middle state and the correlation of their
output bits (a slow ``K``-state counter's output over ``L`` cycles varies far more than ``L`` independent
bits), and the low-discrepancy sources' smaller errors. How far it is from the bit-exact mode, per block and
length, is measured in :mod:`neuroemu.stochastic.agreement` (``sc-sweep --mode analytic`` warns where they
disagree). It records no ledger events (there are no streams to count).
"""

import threading
import warnings
from concurrent.futures import ThreadPoolExecutor

import torch
import torch.nn.functional as F
from torch import nn

from neuroemu.cost.stochastic import SHARING
from neuroemu.ledger import AttrValue, Ledger, RecordsEvents
from neuroemu.stochastic.activations import btanh_states, counter_scan, stanh_states, stanh_steady_state
from neuroemu.stochastic.bitstream import counter_bits
from neuroemu.stochastic.pooling import mux_avg_pool, segment_max_pool_block, sum_pool
from neuroemu.stochastic.sng import Source, compare

BLOCKS = ("apc-max-btanh", "apc-avg-btanh", "mux-max-stanh", "mux-avg-stanh")


class _LockedLedger:
    """Records into a :class:`~neuroemu.ledger.Ledger` under a lock (for the threaded bit-exact pass)."""

    def __init__(self, ledger: Ledger, lock: threading.Lock) -> None:
        self._ledger, self._lock = ledger, lock

    def record(self, *args, **kwargs) -> None:
        with self._lock:
            self._ledger.record(*args, **kwargs)


class BlockCarry:
    """What one SC block holds between blocks of cycles of one chunk of images (see
    :meth:`SCLayer.forward_block`): saturating-counter states, the max-pooling winner of the last segment,
    and the output layer's accumulated counts."""

    __slots__ = ("choice", "fsm", "total")

    def __init__(self) -> None:
        self.fsm: torch.Tensor | None = None
        self.choice: torch.Tensor | None = None
        self.total: torch.Tensor | None = None


class SCLayer(RecordsEvents, nn.Module):
    """One SC-DCNN block: XNOR inner product, optional 2×2 pooling, Btanh/Stanh (or output counters)."""

    def __init__(self, name: str, layer: nn.Conv2d | nn.Linear, *, adder: str, pool: str | None,
                 activation: bool, length: int, source: Source, index: int, pool_segment: int,
                 n_input_rows: int = 0, in_width: int = 0, streams: bool = True,
                 mux_select: str = "uniform", counter: str = "exact", sharing: str = "shared") -> None:
        super().__init__()
        if sharing not in SHARING:
            raise ValueError(f"sharing must be one of {list(SHARING)}, got {sharing!r}")
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
        self.mux_select = mux_select if adder == "mux" else "uniform"
        # MUX scaled adder: the stream encodes z / mux_scale per output neuron (z: the float pre-activation)
        if self.mux_select == "weighted":
            # select input i of neuron o with probability |w_oi| / sum_i |w_oi| and pass x_i or NOT x_i by
            # the weight's sign: the stream encodes z / ||w_o||_1 (an uneven-weight MUX, the scaled inner
            # product of SC FIR filters) instead of the uniform MUX's z / (g n)
            magnitude = w_tilde.abs()
            norm = magnitude.sum(1)  # (O,)
            live = norm > 0
            cdf = torch.cumsum(magnitude / torch.where(live, norm, 1.0)[:, None], dim=1)
            cdf[:, -1] = 1.0  # no rounding gap at the top
            draws = rows[-2].expand(self.out_features, -1).contiguous()  # one source, per-neuron thresholds
            ip_select = torch.searchsorted(cdf, draws, right=True).t().contiguous()  # (L, O)
            ip_select = torch.clamp(ip_select, max=self.n_inputs - 1)
            signs = (w_tilde >= 0).to(torch.uint8).unsqueeze(-1).expand_as(wbits)  # constant: x or NOT x
            # an all-zero neuron keeps the uniform encoding of its zero weights (its stream encodes 0)
            wbits = torch.where(live.view(-1, 1, 1), signs, wbits)
            self.register_buffer("weight_bits", wbits.permute(2, 0, 1).contiguous())
            mux_scale = self.gain * norm
            states = [stanh_states(float(v)) if v > 0 else 2 for v in mux_scale]
        else:
            ip_select = torch.clamp((rows[-2] * self.n_inputs).long(), max=self.n_inputs - 1)
            mux_scale = torch.full((self.out_features,), self.gain * self.n_inputs, dtype=torch.float64)
            states = None
        self.register_buffer("ip_select", ip_select)  # (L,) shared, or (L, O) per neuron (weighted)
        self.register_buffer("mux_scale", mux_scale)
        self.register_buffer("pool_select", torch.clamp((rows[-1] * 4).long(), max=3))
        self.sng = source.kind
        # what pricing reads on the generator events (width, sharing, stream length) and the counters' width
        self.generator_attrs: dict[str, AttrValue] = {"sng": source.kind, "bits": source.bits(length),
                                                      "sharing": sharing, "length": length}
        self.counter_bits = counter_bits(length)
        pooled_inputs = 4 * self.n_inputs if pool == "avg" and adder == "apc" else self.n_inputs
        if adder == "apc":
            scale_s = (4.0 if pool == "avg" and adder == "apc" else 1.0) / self.gain
            try:
                self.states = btanh_states(pooled_inputs, scale_s)
            except ValueError:  # a gain so small that the rule leaves no states: the smallest counter
                warnings.warn(f"layer {name}: gain {self.gain:.3g} is below what Kim et al.'s state rule "
                              "covers; using a 2-state Btanh", stacklevel=3)
                self.states = 2
        elif states is not None:  # weighted MUX: one Stanh size per neuron, K_o ≈ 2 ||w_o||_1
            self.states = states[0] if len(set(states)) == 1 else torch.tensor(states, dtype=torch.int64)
        else:
            self.states = stanh_states(self.gain * self.n_inputs)
        self.pooled_inputs = pooled_inputs
        self._weight_cache: tuple[torch.Tensor, torch.Tensor] | None = None
        self.ledger: Ledger | None = None
        self.has_streams = streams
        self.out_dtype = torch.float32  # dtype of the output bits: the network sets the next block's operand
        # APC convolutions that pool compute their outputs in the 2×2 windows' layout (see _counts)
        out_side = self.in_width - self.kernel + 1 if self.is_conv else 0
        self.counter = counter if adder == "apc" else "exact"
        self.window_layout = (adder == "apc" and pool is not None and self.is_conv and out_side % 2 == 0
                              and self.counter == "exact")
        self._apc_error_cache: tuple[torch.Tensor, torch.Tensor] | None = None

    def extra_repr(self) -> str:
        states = (self.states if isinstance(self.states, int)
                  else f"{int(self.states.min())}..{int(self.states.max())}")
        adder = self.adder if self.mux_select == "uniform" else "weighted-mux"
        adder = adder if self.counter == "exact" else "approximate-apc"
        return (f"{self.name}: {adder} n={self.n_inputs} pool={self.pool} "
                f"act={'btanh' if self.adder == 'apc' else 'stanh'}({states}) gain={self.gain:.4g}"
                if self.activation else f"{self.name}: {self.adder} n={self.n_inputs} output counters")

    # ---- bit-exact -------------------------------------------------------------------------------
    @property
    def operand_dtype(self) -> torch.dtype:
        """dtype of this block's input bits: 0/1 as int8, the operands of exact integer matrix products."""
        return torch.int8

    def _counter_operands(self) -> torch.Tensor:
        """Per-cycle int8 operands ``(L, K, N)`` whose product with 0/1 inputs and constant-1 columns gives
        the bipolar count ``d_t = 2 c_t - n`` of the exact parallel counter (cached).

        ``c_t = sum_i xnor(x_i, w_i) = n' - sum x - sum w + 2 sum x w + w_bias`` (the bias input is a
        constant 1), so ``d_t = sum_i x_i (4 w_i - 2) + const_t`` with ``const_t = 2 n' - 2 sum_i w_i +
        2 w_bias - n``, ``|const_t| <= n``: weights ``±2``, and ``const_t`` split over
        :attr:`const_columns` rows of at most 126 in magnitude that multiply constant-1 inputs. One int8
        matrix product per cycle, accumulated in int32: exact for any fan-in.
        """
        cached = self._weight_cache
        if cached is not None:
            return cached
        wb = self.weight_bits.to(torch.int32)  # (L, O, n)
        const = 2 * self.n_weights - 2 * wb[:, :, : self.n_weights].sum(-1) + 2 * wb[:, :, -1] - self.n_inputs
        signed = (4 * wb[:, :, : self.n_weights] - 2).to(torch.int8)
        # (L, k W C, W' O) banded matrices for a convolution, (L, n', O) for a linear layer
        signed = self._row_toeplitz(signed) if self.is_conv else signed.transpose(1, 2)
        columns = self.const_columns
        share, rest = torch.div(const, columns, rounding_mode="floor"), torch.remainder(const, columns)
        extra = torch.arange(columns).view(1, -1, 1) < rest.unsqueeze(1)  # the remainder, one per column
        parts = share.unsqueeze(1) + extra.to(torch.int32)  # (L, columns, O)
        if self.is_conv:  # every output column of neuron o adds its constant: (L, columns, N)
            parts = parts[:, :, self._column_neurons()]
        self._weight_cache = torch.cat([signed, parts.to(torch.int8)], dim=1).contiguous()
        return self._weight_cache

    @property
    def const_columns(self) -> int:
        """Constant-1 input columns that carry the per-cycle constant (``|const| <= n``, 126 per column)."""
        return _const_columns(self.n_inputs)

    def _column_neurons(self) -> torch.Tensor:
        """The output neuron of each column of the banded matrices (see :meth:`_row_toeplitz`)."""
        w_out = self.in_width - self.kernel + 1
        column = torch.arange(w_out * self.out_features * (2 if self.window_layout else 1))
        return (column // 4 if self.window_layout else column) % self.out_features

    def _row_toeplitz(self, signed: torch.Tensor) -> torch.Tensor:
        """Convolution as a matrix product per cycle with banded weight matrices.

        Output row ``h`` of every channel is ``[x rows h..h+k-1 of every channel] @ T`` with ``T`` of shape
        ``(k W_in C) × (W_out O)``, so a batch of images and all output rows form the matrix rows: a large
        product instead of a grouped convolution with few channels per group. A block that pools in the
        windows' layout (:attr:`window_layout`) takes a pair of output rows per matrix row instead: input
        rows ``2 h2 .. 2 h2 + k``, ``((k + 1) W_in C) × (W_out/2 · O · 2 · 2)`` with the columns in ``(w2, o,
        dh, dw)`` order, so that the four inputs of every 2×2 window are adjacent in memory (20 % more
        multiply-accumulates for pooling that reads them at streaming speed).
        """
        k, o = self.kernel, self.out_features
        c_in = self.n_weights // (k * k)
        w_in = self.in_width
        w_out = w_in - k + 1
        wt = signed.view(self.length, o, c_in, k, k).permute(0, 3, 4, 2, 1)  # (L, kh, kw, C, O)
        if not self.window_layout:
            t = torch.zeros(self.length, k, w_in, c_in, w_out, o, dtype=signed.dtype)
            for kw in range(k):
                for w in range(w_out):
                    t[:, :, w + kw, :, w, :] = wt[:, :, kw]
            return t.reshape(self.length, k * w_in * c_in, w_out * o)
        t = torch.zeros(self.length, k + 1, w_in, c_in, w_out // 2, o, 2, 2, dtype=signed.dtype)
        for dh in range(2):
            for kw in range(k):
                for w in range(w_out):
                    t[:, dh:dh + k, w + kw, :, w // 2, :, dh, w % 2] = wt[:, :, kw]
        return t.reshape(self.length, (k + 1) * w_in * c_in, 2 * w_out * o)

    def matrix_shape(self) -> tuple[int, int, int]:
        """``(rows per image, K, N)`` of this block's per-cycle int8 matrix product (APC blocks; the executed
        multiply-accumulates per image and cycle are their product, the useful ones ``positions · O · n``)."""
        if not self.is_conv:
            return 1, self.n_weights + self.const_columns, self.out_features
        c_in = self.n_weights // (self.kernel * self.kernel)
        rows, depth, columns = _banded_shape(self.kernel, self.in_width, c_in, self.out_features,
                                             self.window_layout)
        return rows, depth + self.const_columns, columns

    def _apc_error_operands(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-cycle operands of the approximate counter's error in ``d`` (cached): ``(L, n//2, O)`` int8 and
        ``(L, O)`` int32.

        Kim et al.'s APC replaces the first adder layer by AND (even pairs ``j``) and OR (odd pairs) gates on
        the input pairs ``(2j, 2j+1)`` (the flattened weight order, the bias input last) and doubles their
        outputs: ``2ab - (a + b) = -(a XOR b)`` and ``2(a OR b) - (a + b) = a XOR b``, so the count is the
        exact count plus ``sum_j s_j (a_j XOR b_j)`` with ``s_j = -1`` (AND) or ``+1`` (OR). For XNOR
        products ``a XOR b = y XOR c`` with ``y = x_2j XOR x_2j+1`` and ``c = w_2j XOR w_2j+1``, which is
        ``y (1 - 2c) + c``: the error is one more 0/1 matrix product, over the pair features ``y`` (doubled:
        the bipolar count ``d = 2 c - n`` moves by twice the count's error).
        """
        cached = self._apc_error_cache
        if cached is not None:
            return cached
        wb = self.weight_bits.to(torch.int32)  # (L, O, n)
        pairs = self.n_inputs // 2
        c = (wb[:, :, 0:2 * pairs:2] != wb[:, :, 1:2 * pairs:2]).to(torch.int32)  # (L, O, m)
        sign = torch.where(torch.arange(pairs) % 2 == 1, 1, -1).to(torch.int32)  # OR pairs +1, AND pairs -1
        coeff = (2 * sign * (1 - 2 * c)).to(torch.int8).transpose(1, 2).contiguous()  # (L, m, O)
        const = 2 * (sign * c).sum(-1, dtype=torch.int32)  # (L, O)
        self._apc_error_cache = (coeff, const)
        return self._apc_error_cache

    def _apc_error(self, x: torch.Tensor, start: int) -> torch.Tensor:
        """The approximate counter's per-cycle deviation from the exact bipolar count ``d``,
        ``(T, B[, H', W'], O)`` int32."""
        length, b = x.shape[:2]
        coeff, const = self._apc_error_operands()
        coeff, const = coeff[start:start + length], const[start:start + length]
        x = x.to(torch.int8)
        if self.is_conv:  # the receptive fields in the weights' (C, kh, kw) order
            k = self.kernel
            patches = x.unfold(2, k, 1).unfold(3, k, 1)  # (T, B, H', W', C, kh, kw)
            shape = patches.shape[:4]
            inputs = patches.reshape(length, -1, self.n_weights)
        else:
            shape, inputs = x.shape[:2], x.reshape(length, b, self.n_weights)
        bias_input = torch.ones(*inputs.shape[:2], 1, dtype=torch.int8)  # the bias input: constant 1
        inputs = torch.cat([inputs, bias_input], dim=2)
        pairs = self.n_inputs // 2
        y = (inputs[..., 0:2 * pairs:2] != inputs[..., 1:2 * pairs:2]).to(torch.int8)
        err = int_matmul(y, coeff) + const.unsqueeze(1)
        return err.view(*shape, self.out_features)

    def _counts(self, x: torch.Tensor, start: int = 0) -> torch.Tensor:
        """Bipolar counts ``d_t = 2 c_t - n`` of the exact parallel counter for the cycles
        ``start..start+T-1`` of ``x`` ``(T, B, ...)``.

        ``x`` is channels-last ``(T, B, H, W, C)`` or ``(T, B, n')`` 0/1; the result (int32, exact) is
        ``(T, B, H', W', O)``, or its 2×2 windows' view ``(T, B, H'/2, 2, W'/2, 2, O)`` for a block that
        pools (:attr:`window_layout`), or ``(T, B, O)``.
        """
        length, b = x.shape[:2]
        if self.is_conv and x.shape[-2] != self.in_width:
            raise ValueError(f"layer {self.name}: input width {x.shape[-2]}, mapped for {self.in_width}")
        operands = self._counter_operands()[start:start + length]
        x = x.to(torch.int8)
        if not self.is_conv:
            return int_matmul(_with_ones(x, self.const_columns), operands).view(length, b, self.out_features)
        k, o = self.kernel, self.out_features
        h_out, w_out = x.shape[2] - k + 1, x.shape[3] - k + 1
        if not self.window_layout:  # one output row per matrix row: (T, B H', k W C) and the constant columns
            rows = _with_ones(x.unfold(2, k, 1).permute(0, 1, 2, 5, 3, 4).flatten(3), self.const_columns)
            d = int_matmul(rows.view(length, b * h_out, -1), operands)
            return d.view(length, b, h_out, w_out, o)
        # a pair of output rows per matrix row; the result (T, B, H'/2, W'/2, O, dh, dw) is returned as the
        # 2×2 windows' view (T, B, H'/2, 2, W'/2, 2, O)
        h2, w2 = h_out // 2, w_out // 2
        rows = _with_ones(x.unfold(2, k + 1, 2).permute(0, 1, 2, 5, 3, 4).flatten(3), self.const_columns)
        d = int_matmul(rows.view(length, b * h2, -1), operands)
        return d.view(length, b, h2, w2, o, 2, 2).permute(0, 1, 2, 5, 3, 6, 4)

    def _mux_bits(self, x: torch.Tensor, start: int = 0) -> torch.Tensor:
        """MUX inner product: each cycle, the XNOR product of the selected input: ``(T, B[, H', W'], O)``.

        The select is shared by the neurons (uniform MUX, ``(L,)``) or drawn per neuron (weighted MUX,
        ``(L, O)``)."""
        length = x.shape[0]
        sel = self.ip_select[start:start + length]
        sel = sel.unsqueeze(1) if sel.dim() == 1 else sel  # (T, O') with O' = 1 or O
        t = torch.arange(length).unsqueeze(1)
        wbits = self.weight_bits[start:start + length]  # (T, O, n)
        wsel = torch.gather(wbits, 2, sel.unsqueeze(2).expand(-1, self.out_features, 1)).squeeze(2)  # (T, O)
        wsel = wsel.to(x.dtype)
        is_bias = sel == self.n_weights
        sel_w = torch.clamp(sel, max=self.n_weights - 1)
        if self.is_conv:
            k = self.kernel
            c_idx, rest = sel_w // (k * k), sel_w % (k * k)
            kh, kw = rest // k, rest % k
            h_out, w_out = x.shape[2] - k + 1, x.shape[3] - k + 1
            # each (cycle, neuron) selects one shifted input plane: a slice (much faster than a gather)
            offsets = zip(kh.tolist(), kw.tolist(), c_idx.tolist(), strict=True)
            planes = [x[ti, :, r:r + h_out, q:q + w_out, ci]
                      for ti, (rr, qq, cc) in enumerate(offsets) for r, q, ci in zip(rr, qq, cc, strict=True)]
            xsel = torch.stack(planes).view(length, -1, *planes[0].shape)  # (T, O', B, H', W')
            xsel = torch.where(is_bias[:, :, None, None, None], 1, xsel)
            bits = xsel == wsel.view(length, -1, 1, 1, 1)  # (T, O, B, H', W')
            if self.pool is None or h_out % 2 or w_out % 2:
                return bits.permute(0, 2, 3, 4, 1).to(torch.int8, memory_format=torch.contiguous_format)
            # the 2×2 windows' view (T, B, H'/2, 2, W'/2, 2, O) of a (T, B, 2, H'/2, 2, W'/2, O) tensor, whose
            # window inputs are contiguous runs (as for the APC blocks: pooling kernels vectorise over them)
            o, b, h2, w2 = self.out_features, x.shape[1], h_out // 2, w_out // 2
            bits = bits.view(length, o, b, h2, 2, w2, 2).permute(0, 2, 4, 3, 6, 5, 1)
            bits = bits.to(torch.int8, memory_format=torch.contiguous_format)
            return bits.permute(0, 1, 3, 2, 5, 4, 6)
        else:
            xsel = x[t, :, sel_w]  # (T, O', B)
            xsel = torch.where(is_bias.unsqueeze(2), 1, xsel).transpose(1, 2)  # (T, B, O')
            wsel = wsel.unsqueeze(1)
        return (xsel == wsel).to(torch.int8)

    def forward_bits(self, x: torch.Tensor) -> torch.Tensor:
        """Bit-exact block on time-major 0/1 streams ``(L, B, ...)`` (channels last), all cycles at once.

        Returns the next streams ``(L, B, ...)``, or the logits ``(B, O)`` for the output layer. A padded
        convolution must be the first layer, whose input streams are generated already padded.
        """
        carry = BlockCarry()
        out = self.forward_block(x, 0, carry)
        return self.logits(carry) if out is None else out

    def forward_block(self, x: torch.Tensor, start: int, carry: "BlockCarry") -> torch.Tensor | None:
        """The block over cycles ``start..start+T-1`` of 0/1 streams ``x`` ``(T, B, ...)`` (channels last).

        ``carry`` holds what the circuit keeps between blocks of cycles (saturating-counter states, the
        max-pooling winner, the output counters); ``start`` must be a multiple of the pooling segment for a
        max-pooling block. Returns the next streams ``(T, B, ...)`` in :attr:`out_dtype`, or ``None`` for the
        output layer, whose counters accumulate in ``carry`` (read them with :meth:`logits`).
        """
        if not self.has_streams:
            raise RuntimeError(f"layer {self.name} was mapped for the analytic mode: it has no streams")
        ledger = self.ledger
        length = x.shape[0]
        apc = self.adder == "apc"
        if not apc:
            per_cycle = self._mux_bits(x, start)
        elif self.counter == "exact":
            per_cycle = self._counts(x, start)
        else:  # the approximate counter's bipolar count
            per_cycle = self._counts(x, start) + self._apc_error(x, start)
        self._record_inner(x)
        if not self.activation:
            if ledger is not None:
                ledger.record("sc_counter_update", int(per_cycle.numel()), layer=self.name, purpose="output",
                              bits=self.counter_bits)
            total = per_cycle.sum(dim=0, dtype=torch.float64)  # exact: integer counts
            carry.total = total if carry.total is None else carry.total + total
            return None
        if self.pool == "max":  # the four inputs of a window share the cycle's constant: counts compare as u
            per_cycle, carry.choice = segment_max_pool_block(per_cycle, self.pool_segment, carry.choice,
                                                             bound=2 * self.n_inputs if apc else 1,
                                                             ledger=ledger, layer=self.name,
                                                             counter_bits=self.counter_bits)
        elif self.pool == "avg":
            per_cycle = (sum_pool(per_cycle, ledger=ledger, layer=self.name) if apc else
                         mux_avg_pool(per_cycle, self.pool_select[start:start + length], ledger=ledger,
                                      layer=self.name))
        # a Btanh steps by the (pooled) bipolar count, a Stanh by ±1
        steps = per_cycle if apc else per_cycle.to(torch.int32).mul_(2).sub_(1)
        states = self.states
        if carry.fsm is None:
            middle = states // 2
            carry.fsm = (torch.full(steps.shape[1:], middle, dtype=steps.dtype) if isinstance(middle, int)
                         else middle.to(steps.dtype).expand(steps.shape[1:]).clone())
        out = torch.empty(steps.shape, dtype=self.out_dtype)
        counter_scan(steps, carry.fsm, states, out)
        if ledger is not None:
            fsm = "btanh" if apc else "stanh"
            if isinstance(states, int):
                ledger.record("sc_fsm_update", int(steps.numel()), layer=self.name, fsm=fsm, states=states)
            else:  # one entry per Stanh size (the neurons are the last dimension)
                per_neuron = int(steps.numel()) // self.out_features
                for k, count in zip(*torch.unique(states, return_counts=True), strict=True):
                    ledger.record("sc_fsm_update", per_neuron * int(count), layer=self.name, fsm=fsm,
                                  states=int(k))
        return out

    def logits(self, carry: "BlockCarry") -> torch.Tensor:
        """The output layer's logits from its accumulated counters (after the last block of cycles)."""
        decoded = carry.total / self.length
        if self.adder == "apc":
            return (self.gain * decoded).to(torch.float32)
        if self.mux_select == "uniform":
            return (self.gain * self.n_inputs * (2 * decoded - 1)).to(torch.float32)
        return (self.mux_scale * (2 * decoded - 1)).to(torch.float32)

    def _record_inner(self, x: torch.Tensor) -> None:
        ledger = self.ledger
        if ledger is None:
            return
        length, b = x.shape[:2]
        generator = self.generator_attrs
        # every neuron of the layer, every cycle (the windows' layout may leave out an odd last row)
        positions = (x.shape[2] - self.kernel + 1) * (x.shape[3] - self.kernel + 1) if self.is_conv else 1
        neurons_cycles = length * b * positions * self.out_features
        if self.mux_select == "weighted":  # one XNOR with the selected weight's sign; no weight streams
            ledger.record("sc_gate_cycle", neurons_cycles, layer=self.name, gate="xnor")
        else:
            ledger.record("sc_gate_cycle", neurons_cycles * self.n_inputs, layer=self.name, gate="xnor")
            ledger.record("sc_sng_draw", b * self.out_features * self.n_inputs * length, layer=self.name,
                          operand="weight", **generator)
            # one generator row per weight index, shared by the output neurons' comparators
            ledger.record("sc_rng_step", b * self.n_inputs * length, layer=self.name, operand="weight",
                          **generator)
        if self.adder == "apc":
            ledger.record("sc_counter_op", neurons_cycles, layer=self.name,
                          counter="exact" if self.counter == "exact" else "apc",
                          inputs=self.n_inputs)
        else:
            ledger.record("sc_gate_cycle", neurons_cycles, layer=self.name, gate="mux", inputs=self.n_inputs)
            selects = b * length * (self.out_features if self.mux_select == "weighted" else 1)
            ledger.record("sc_sng_draw", selects, layer=self.name, operand="select", **generator)
            ledger.record("sc_rng_step", b * length, layer=self.name, operand="select", **generator)
        if self.pool == "avg" and self.adder == "mux" and self.activation:
            ledger.record("sc_sng_draw", b * length, layer=self.name, operand="select", **generator)
            ledger.record("sc_rng_step", b * length, layer=self.name, operand="select", **generator)

    # ---- analytic approximation ---------------------------------------------------------------------
    def forward_analytic(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Expected block output plus the binomial noise of an ``L``-bit stream, MUX blocks with the noise of
        their MUX stream on the Stanh's input (an approximation: see the module docstring)."""
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
            if self.mux_select == "uniform":
                v = s / self.n_inputs
                return (self.gain * self.n_inputs * _binomial_stream(v, length, generator)).to(torch.float32)
            value = _binomial_stream(self._mux_value(s), length, generator)
            return (self.mux_scale * value).to(torch.float32)
        if self.pool == "max":
            s = F.max_pool2d(s, 2)
        elif self.pool == "avg":
            s = F.avg_pool2d(s, 2)
        if self.adder == "apc":
            y = torch.tanh(self.gain * s)
        elif self.mux_select == "uniform":  # the Stanh counts the MUX stream: its value m plus binomial noise
            y = stanh_steady_state(_binomial_stream((s / self.n_inputs).clamp(-1, 1), length, generator),
                                   self.states)
        else:  # one Stanh size per neuron (the channel dimension, 1)
            v = _binomial_stream(self._mux_value(s), length, generator)
            states = torch.as_tensor(self.states).expand(self.out_features)
            y = torch.empty_like(v)
            for k in torch.unique(states):
                idx = (states == k).nonzero().squeeze(1)
                y.index_copy_(1, idx, stanh_steady_state(v.index_select(1, idx), int(k)))
        return _binomial_stream(y.clamp(-1, 1), length, generator).to(torch.float32)

    def _mux_value(self, s: torch.Tensor) -> torch.Tensor:
        """The bipolar value ``z / mux_scale`` a MUX stream encodes, from ``s = z / g`` (neurons on dim 1)."""
        scale = self.mux_scale.view(-1, *([1] * (s.dim() - 2)))
        return torch.where(scale > 0, s * self.gain / scale.clamp(min=1e-300), 0.0).clamp(-1, 1)


def operand_bytes(layer: nn.Conv2d | nn.Linear, in_width: int, counter: str = "exact") -> int:
    """Upper bound of the bytes per cycle an APC block caches for its matrix products
    (:meth:`SCLayer._counter_operands`, and :meth:`SCLayer._apc_error_operands` for the approximate
    counter): the banded matrices of a pair of output rows for a convolution of input width ``in_width``
    (before padding), the weight matrix for a linear layer, each with its constant-1 rows."""
    outputs, n_inputs = layer.weight.shape[0], layer.weight[0].numel() + 1
    if isinstance(layer, nn.Conv2d):
        w_in = in_width + 2 * int(layer.padding[0])
        kernel, c_in = int(layer.kernel_size[0]), layer.weight.shape[1]
        _, depth, columns = _banded_shape(kernel, w_in, c_in, outputs, pairs=True)
        size = (depth + _const_columns(n_inputs)) * columns
    else:
        size = (n_inputs - 1 + _const_columns(n_inputs)) * outputs
    return size + ((n_inputs // 2) * outputs + 4 * outputs if counter == "approximate" else 0)


def _const_columns(n_inputs: int) -> int:
    """Constant-1 input columns that carry a block's per-cycle constant (``|const| <= n``, 126 per column)."""
    return -(-n_inputs // 126)


def _banded_shape(kernel: int, w_in: int, c_in: int, outputs: int, pairs: bool) -> tuple[int, int, int]:
    """``(rows per image, K, N)`` of a convolution's banded matrices (:meth:`SCLayer._row_toeplitz`), before
    the constant-1 rows: one output row per matrix row, or a pair of them (``pairs``)."""
    h_out = w_in - kernel + 1
    if pairs:
        return h_out // 2, (kernel + 1) * w_in * c_in, 2 * h_out * outputs
    return h_out, kernel * w_in * c_in, h_out * outputs


def _with_ones(x: torch.Tensor, columns: int) -> torch.Tensor:
    """``x`` ``(..., K)`` as int8 with ``columns`` constant-1 columns appended, in a new contiguous tensor."""
    out = torch.empty(*x.shape[:-1], x.shape[-1] + columns, dtype=torch.int8)
    out[..., : x.shape[-1]] = x
    out[..., x.shape[-1]:] = 1
    return out


def int_matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-cycle products ``a[t] @ b[t]`` of int8 operands ``(T, M, K) × (T, K, N)``, int32 ``(T, M, N)``.

    Integer accumulation is exact for any fan-in; ``torch._int_mm`` runs int8 products at several times the
    rate of a bfloat16 or float32 ``bmm`` on CPUs with VNNI (one call per cycle: the weights change every
    cycle). The operands are made contiguous: ``_int_mm`` reads a row stride below the row length (the
    overlapping rows of an unfolded view) wrongly."""
    a, b = a.contiguous(), b.contiguous()
    out = torch.empty(a.shape[0], a.shape[1], b.shape[2], dtype=torch.int32)
    for t in range(a.shape[0]):
        torch._int_mm(a[t], b[t], out=out[t])
    return out


def _binomial_stream(value: torch.Tensor, length: int, generator: torch.Generator) -> torch.Tensor:
    """Decoded bipolar value of an ``length``-bit stream whose bits are 1 with probability (v + 1) / 2."""
    p = ((value + 1) / 2).clamp(0, 1)
    ones = torch.binomial(torch.full_like(p, float(length)), p, generator=generator)
    return 2 * ones / length - 1


class SCNetwork(RecordsEvents, nn.Module):
    """A feed-forward network of :class:`SCLayer` blocks; ``forward(images) -> logits`` like the original.

    ``ledger`` collects the hardware events of every forward pass (see :mod:`neuroemu.stochastic`); inside
    ``neuroemu.ledger.recording(model, other)`` they go to ``other`` instead, as for every substrate.

    Bit-exact mode clocks the circuit in blocks of ``cycles_per_block`` cycles over chunks of
    ``images_per_chunk`` images: every layer runs a block of cycles and hands its output bits to the next
    layer, each block carrying its counter states (:class:`BlockCarry`) into the next block of cycles, as
    the hardware pipeline does. The result does not depend on either size; a block of cycles starts at a
    max-pooling segment boundary.
    """

    def __init__(self, layers: list[SCLayer], *, length: int, mode: str, block: str, seed: int,
                 input_shape: tuple[int, int, int], images_per_chunk: int,
                 cycles_per_block: int | None = None) -> None:
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.length, self.mode, self.block, self.seed = length, mode, block, seed
        self.input_shape = input_shape
        self.images_per_chunk = images_per_chunk
        self.cycles_per_block = length if cycles_per_block is None else cycles_per_block
        segment = layers[0].pool_segment
        if self.cycles_per_block % segment and self.cycles_per_block < length:
            raise ValueError(f"cycles_per_block {self.cycles_per_block} must be a multiple of the pooling "
                             f"segment {segment}")
        self.ledger = Ledger()
        for layer, following in zip(layers, [*layers[1:], None], strict=True):
            layer.ledger = self.ledger
            layer.out_dtype = torch.float32 if following is None else following.operand_dtype
        self._input_rows: torch.Tensor | None = None

    def extra_repr(self) -> str:
        return f"length={self.length}, mode={self.mode!r}, block={self.block!r}"

    def input_probabilities(self, images: torch.Tensor) -> torch.Tensor:
        """Validated, padded comparator thresholds ``(B, C, H+2p, W+2p)`` float64 of the input streams."""
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
        return (x + 1) / 2

    def input_bits(self, images: torch.Tensor, start: int = 0, stop: int | None = None) -> torch.Tensor:
        """Bipolar input streams of cycles ``start..stop-1``, time-major channels-last ``(T, B, H+2p, W+2p,
        C)`` (or ``(T, B, n)`` for a linear first layer) in the first block's operand dtype."""
        stop = self.length if stop is None else stop
        return self._input_block(self.input_probabilities(images), start, stop)

    def _input_block(self, p: torch.Tensor, start: int, stop: int) -> torch.Tensor:
        first = self.layers[0]
        rows = self._time_major_input_rows(p.shape[1:])
        if first.is_conv:  # compare in the channels-last order: the 0/1 result is the int8 operand as it is
            p = p.permute(0, 2, 3, 1).contiguous()
        bits = torch.lt(rows[start:stop].unsqueeze(1), p.unsqueeze(0))  # (T, B, ...)
        if self.ledger is not None:  # one generator row per input pixel: a step per draw
            draws, generator = int(bits.numel()), first.generator_attrs
            self.ledger.record("sc_sng_draw", draws, layer=first.name, operand="input", **generator)
            self.ledger.record("sc_rng_step", draws, layer=first.name, operand="input", **generator)
        if not first.is_conv:
            return bits.reshape(stop - start, p.shape[0], -1).view(torch.int8)
        return bits.view(torch.int8)

    def _time_major_input_rows(self, shape: torch.Size) -> torch.Tensor:
        """The input comparators' randoms, time-major ``(L, C, H, W)``, channels-last ``(L, H, W, C)`` for a
        convolution (cached)."""
        if self._input_rows is None:
            rows = self.layers[0].input_randoms.t().reshape(self.length, *shape)
            self._input_rows = (rows.permute(0, 2, 3, 1) if self.layers[0].is_conv else rows).contiguous()
        return self._input_rows

    def forward_bits_chunk(self, images: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, O)``; or, for a segment whose last block has an activation (a normalisation
        follows it, :mod:`neuroemu.stochastic.pipeline`), its output streams counted back to bipolar values
        ``(B, C, H, W)`` / ``(B, n)`` by one counter per stream."""
        p = self.input_probabilities(images)
        carries = [BlockCarry() for _ in self.layers]
        last = self.layers[-1]
        ones: torch.Tensor | None = None
        for start in range(0, self.length, self.cycles_per_block):
            x = self._input_block(p, start, min(start + self.cycles_per_block, self.length))
            for layer, carry in zip(self.layers, carries, strict=True):
                if not layer.is_conv and x.dim() > 3:  # flatten per cycle in torch's (C, H, W) order
                    x = x.permute(0, 1, 4, 2, 3).reshape(x.shape[0], x.shape[1], -1)
                x = layer.forward_block(x, start, carry)
            if last.activation:
                block_ones = x.sum(dim=0, dtype=torch.float64)
                ones = block_ones if ones is None else ones + block_ones
        if ones is None:
            return last.logits(carries[-1])
        if self.ledger is not None:
            self.ledger.record("sc_counter_update", int(ones.numel()) * self.length, layer=last.name,
                               purpose="decode", bits=last.counter_bits)
        values = (2 * ones / self.length - 1).to(torch.float32)
        return values.permute(0, 3, 1, 2) if values.dim() == 4 else values

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if self.mode == "analytic":
            gen = torch.Generator().manual_seed(self.seed)
            x = images
            for layer in self.layers:
                if not layer.is_conv and x.dim() > 2:
                    x = x.flatten(1)
                x = layer.forward_analytic(x, gen)
            return x
        threads = torch.get_num_threads()
        # enough chunks for every thread (the result does not depend on the chunks)
        per_chunk = min(self.images_per_chunk, max(1, -(-images.shape[0] // threads)))
        starts = range(0, images.shape[0], per_chunk)
        if threads == 1 or not starts:
            outs = [self.forward_bits_chunk(images[i:i + per_chunk]) for i in starts]
        else:
            outs = self._forward_threaded(images, starts, per_chunk, min(threads, len(starts)))
        return torch.cat(outs) if outs else torch.empty(0, self.layers[-1].out_features)

    def _forward_threaded(self, images: torch.Tensor, starts: range, per_chunk: int,
                          workers: int) -> list[torch.Tensor]:
        """Chunks of images on ``workers`` threads, each running torch single-threaded.

        A bit-exact pass is thousands of small kernels; intra-op threading makes each of them wait for
        every core at a barrier, which stalls whenever another process holds a core (a shared machine).
        Whole chunks per thread need no barrier. The results and the ledger are the same as in one thread
        (chunks are independent; the ledger's counts are added under a lock).
        """
        threads = torch.get_num_threads()
        for layer in self.layers:  # build the shared caches once, before the threads read them
            if layer.adder == "apc":
                layer._counter_operands()
        self._time_major_input_rows(self.input_probabilities(images[:1]).shape[1:])
        lock = threading.Lock()
        recorders = [self, *self.layers]
        ledgers = [m.ledger for m in recorders]
        for m, ledger in zip(recorders, ledgers, strict=True):
            m.ledger = None if ledger is None else _LockedLedger(ledger, lock)

        def run(start: int) -> torch.Tensor:
            torch.set_num_threads(1)  # this thread's OpenMP setting (MKL's is global: restored below)
            return self.forward_bits_chunk(images[start:start + per_chunk])

        try:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                return list(pool.map(run, starts))
        finally:
            for m, ledger in zip(recorders, ledgers, strict=True):
                m.ledger = ledger
            torch.set_num_threads(threads)


# cycles per block of the bit-exact clock: long enough to amortise per-call overheads, short enough that a
# block's per-cycle tensors stay small (below glibc's 32 MiB mmap threshold at the default budget)
TARGET_CYCLES_PER_BLOCK = 16


def chunking(length: int, pool_segment: int, cycle_budget: int) -> tuple[int, int]:
    """``(images_per_chunk, cycles_per_block)`` for a bit-exact run: images × cycles near ``cycle_budget``.

    Blocks of cycles are a whole number of max-pooling segments (or the whole stream).
    """
    cycles = pool_segment * max(1, TARGET_CYCLES_PER_BLOCK // pool_segment)
    cycles = min(cycles, length)
    return max(1, cycle_budget // cycles), cycles
