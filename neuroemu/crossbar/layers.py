"""Emulated ``Linear`` / ``Conv2d`` layers: DAC → tiled crossbar MVM → per-column ADC → digital recombination.

One :class:`CrossbarLayer` replaces one ``nn.Linear`` or ``nn.Conv2d`` (groups = 1) and keeps its calling
convention. A quantised layer (``QuantLinear`` / ``QuantConv2d`` of :mod:`neuroemu.lowbit`) is mapped with
the weights it computes with — integer codes in the cells, the quantiser's scale in the digital column
scale (:mod:`neuroemu.crossbar.lowbit`) — never with its latent float weights. What it models, per
matrix-vector multiplication (MVM):

1. the **DAC** turns each input into an integer code (``dac_bits``, 2^b levels over its full scale, see
   :mod:`neuroemu.crossbar.convert`), applied as a proportional row voltage; without ``dac_bits`` inputs
   are applied exactly; with ``input_mode="bit_serial"`` the code's bit planes are applied one per cycle;
   a layer whose calibration inputs are all ±1 (binarised activations) is driven by two-level (±V) row
   drivers instead, ±1 exactly in one cycle, recorded as 1-bit DAC conversions;
2. the weight matrix (rows = inputs, columns = outputs) is **tiled** into arrays of ``array = (R, C)``
   devices; each row tile r produces a partial sum per column, p = Σ_rows code·(G⁺ − G⁻), in siemens × DAC
   codes (a column current over the voltage of one DAC step), for every bit slice s;
3. each partial sum is converted by that column's **ADC** (``adc_bits``, range fixed or calibrated per array;
   bit-serial inputs: one conversion per bit plane, recombined by shift-and-add), optionally with Gaussian
   input-referred noise of ``adc_noise`` LSB per conversion (a counter-based stream indexed by the image's
   position since the last read, so the same conversion gets the same noise whatever the batch size);
4. digital logic multiplies by the column's scale (DAC step × weight per siemens × slice weight
   2^(b·s) × drift-compensation factor α of the array), **shift-adds** the slices, **adds the partial sums
   of the row tiles**, and adds the bias.

Trials: the layer holds T programmed instances of its conductances (a leading trial dimension). Its input
batch is trial-minor: row b·T + t is image b on chip instance t; convolutions run all trials as one grouped
convolution and linear layers as one batched matrix product, so no Python loop runs over trials or images.
A convolution whose kernel needs several row tiles computes every tile's partial sums in the same grouped
convolution, with each tile's kernel masked to its rows (extra arithmetic, same result).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from neuroemu.crossbar.convert import codes_per_full_scale, dac_codes
from neuroemu.crossbar.lowbit import lowbit_weights, map_lowbit
from neuroemu.crossbar.mapping import Mapped, map_weights
from neuroemu.devices import DeviceModel, rng
from neuroemu.ledger import Ledger, RecordsEvents

__all__ = ["CrossbarLayer", "CrossbarState"]


@dataclass
class CrossbarState:
    """State shared by every emulated layer of one model (and its root-module hooks)."""

    trials: int
    seed: int
    time: float = 0.0
    drift_compensation: bool = False
    phase: str = "run"  #: "run", "calibrate-dac" or "calibrate-adc"
    ledger: Ledger | None = None
    calibrated: bool = False
    #: images run since the last read (``set_time``); ``batch_start`` = index of the current batch's first
    #: image: the counter of per-conversion noise, so it does not depend on the batch size
    images_seen: int = 0
    batch_start: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class CrossbarLayer(RecordsEvents, nn.Module):
    """An ``nn.Linear`` or ``nn.Conv2d`` emulated on crossbar arrays (see the module docstring)."""

    @property
    def ledger(self) -> Ledger | None:  # type: ignore[override]
        """The ledger the chip records into: one per model, held by the state all its layers share."""
        return self.state.ledger

    @ledger.setter
    def ledger(self, value: Ledger | None) -> None:
        self.state.ledger = value

    def __init__(self, module: nn.Linear | nn.Conv2d, name: str, *, device: DeviceModel,
                 state: CrossbarState, array: tuple[int, int] | None, dac_bits: int | None,
                 adc_bits: int | None, dac_range: float | str, dac_signed: bool | None,
                 adc_range: float | str, mapping: str, scaling: str, weight_clip: float | None,
                 slicing: tuple[int, int] | None, input_mode: str = "dac", adc_noise: float = 0.0) -> None:
        super().__init__()
        if isinstance(module, nn.Conv2d):
            if module.groups != 1:
                raise ValueError(f"{name}: grouped convolutions (groups={module.groups}) are not supported")
            if module.padding_mode != "zeros":
                raise ValueError(f"{name}: padding_mode {module.padding_mode!r} unsupported ('zeros' only)")
            self.conv: dict[str, Any] | None = {"stride": module.stride, "padding": module.padding,
                                                 "dilation": module.dilation}
            self.kernel_shape = tuple(module.weight.shape[1:])
        elif isinstance(module, nn.Linear):
            self.conv = None
            self.kernel_shape = (module.in_features,)
        else:
            raise TypeError(f"{name}: cannot emulate {type(module).__name__}")
        low = lowbit_weights(module)
        if low is None:
            weight = module.weight.detach().reshape(module.weight.shape[0], -1)
            self.weight_kind = "float"
        else:  # a quantised layer: the weights it computes with, not its latent float weights
            weight = low.effective().to(module.weight.dtype)
            self.weight_kind = low.kind
        self.name = name
        self.device = device
        self.state = state
        self.out_features, self.in_features = weight.shape
        self.register_buffer("weight", weight.reshape(module.weight.shape).clone())
        bias = module.bias.detach().clone() if module.bias is not None else None
        self.register_buffer("bias", bias)
        self.dac_bits, self.adc_bits = dac_bits, adc_bits
        if input_mode not in ("dac", "bit_serial"):
            raise ValueError(f"input_mode must be 'dac' or 'bit_serial', got {input_mode!r}")
        if input_mode == "bit_serial" and dac_bits is None:
            raise ValueError("input_mode='bit_serial' needs dac_bits (the number of input bit planes)")
        self.input_mode = input_mode
        self.adc_noise = float(adc_noise)
        self.dac_range, self.dac_signed_spec, self.adc_range = dac_range, dac_signed, adc_range
        self.mapping = mapping
        if low is not None:
            self.mapped: Mapped = map_lowbit(low, device, mapping=mapping, slicing=slicing, name=name)
        else:
            if device.levels == 2 and slicing is None:
                raise ValueError(f"slicing: device {device.card.name!r} stores one bit per cell; give "
                                 f"slicing=(cells, 1), e.g. (8, 1) for 8-bit weights (float layer {name!r})")
            self.mapped = map_weights(weight, device, mapping=mapping, scaling=scaling,
                                      weight_clip=weight_clip, slicing=slicing, name=name)
        rows, cols = array if array is not None else (self.in_features, self.out_features)
        self.array = (rows, cols)
        self.row_tiles = [(r, min(r + rows, self.in_features)) for r in range(0, self.in_features, rows)]
        self.col_tiles = [(c, min(c + cols, self.out_features)) for c in range(0, self.out_features, cols)]
        self.slices = self.mapped.g_plus.shape[0]
        # DAC: full scale (input units) and sign mode; fixed now or set by calibration
        self.dac_fs: float | None = None
        self.dac_signed = True if dac_signed is None else dac_signed
        self.binary_input = False  #: set by calibration when every input is ±1 (two-level row drivers)
        if dac_bits is not None and not isinstance(dac_range, str):
            self.dac_fs = float(dac_range)
        # ADC: full scale per (row tile × slice, column), in siemens × DAC codes (see adc_fs)
        self._adc_calibrated: torch.Tensor | None = None
        self._calib: dict[str, torch.Tensor] = {}
        self._programmed: tuple[dict, dict] | None = None
        self._ref_sums: torch.Tensor | None = None
        self._compute: Any = None
        self._alpha: torch.Tensor | None = None

    # ------------------------------------------------------------------ programming and read-out

    def _label(self, what: str) -> str:
        return f"{self.name}/{what}"

    def program(self) -> None:
        """Draw ``trials`` programmed instances of this layer's devices (seeded by (seed, trial, layer))."""
        trials, seed = self.state.trials, self.state.seed
        plus = self.device.program(self.mapped.g_plus.float(), rng.trial_generators(seed, trials,
                                                                                    self._label("plus")))
        minus = self.device.program(self.mapped.g_minus.float(), rng.trial_generators(seed, trials,
                                                                                      self._label("minus")))
        self._programmed = (plus, minus)
        self._ref_sums = None
        self.read(self.state.time, self.state.drift_compensation)

    def _read_pair(self, t: float) -> tuple[torch.Tensor, torch.Tensor]:
        assert self._programmed is not None
        plus, minus = self._programmed
        stochastic = self.device.STOCHASTIC
        trials, seed = self.state.trials, self.state.seed

        def gens(what: str) -> list[torch.Generator] | None:
            return rng.trial_generators(seed, trials, self._label(f"{what}@{t!r}")) if stochastic else None

        return self.device.read(plus, t, gens("read-plus")), self.device.read(minus, t, gens("read-minus"))

    def _array_sums(self, g_plus: torch.Tensor, g_minus: torch.Tensor) -> torch.Tensor:
        """Σ of every device's conductance per array: (T, row tiles × slices, out) (each column gets its
        array's total), the read-out of global drift compensation under a constant calibration input."""
        trials = g_plus.shape[0]
        rows_p = torch.stack([g_plus[..., a:b].sum(-1) for a, b in self.row_tiles], 1)  # (T, n_rt, S, out)
        rows_m = torch.stack([g_minus[..., a:b].sum(-1) for a, b in self.row_tiles], 1)  # (T, n_rt, S, 1|out)
        total = torch.empty(trials, len(self.row_tiles), self.slices, self.out_features)
        for c0, c1 in self.col_tiles:
            s = rows_p[..., c0:c1].sum(-1)
            s = s + (rows_m[..., c0:c1].sum(-1) if rows_m.shape[-1] > 1 else rows_m[..., 0])
            total[..., c0:c1] = s.unsqueeze(-1)
        return total.reshape(trials, -1, self.out_features)

    def read(self, t: float, drift_compensation: bool) -> None:
        """Read the programmed devices ``t`` s after programming; prepare the compute tensors."""
        g_plus, g_minus = self._read_pair(t)
        self._alpha = None
        if drift_compensation:
            if self._ref_sums is None:
                self._ref_sums = self._array_sums(*self._read_pair(0.0))
            self._alpha = self._ref_sums / self._array_sums(g_plus, g_minus).clamp(min=1e-30)
        self._compute = self._compute_tensors(g_plus - g_minus)

    def _compute_tensors(self, g_diff: torch.Tensor) -> Any:
        """(T, S, out, in) conductance differences → the tensors the MVM needs."""
        trials, slices, out, _ = g_diff.shape
        if self.conv is None:
            return [g_diff[..., a:b].permute(0, 3, 1, 2).reshape(trials, b - a, slices * out).contiguous()
                    for a, b in self.row_tiles]
        n_rt = len(self.row_tiles)
        if n_rt == 1:
            w = g_diff
        else:
            w = g_diff.new_zeros(trials, n_rt, slices, out, self.in_features)
            for r, (a, b) in enumerate(self.row_tiles):
                w[:, r, ..., a:b] = g_diff[..., a:b]
        return w.reshape(trials * n_rt * slices * out, *self.kernel_shape).contiguous()

    # ------------------------------------------------------------------ forward

    def _partial_sums(self, x: torch.Tensor, trials: int, compute: Any) -> torch.Tensor:
        """Partial sums (B, T, row tiles × slices, out, *spatial) of DAC'd inputs ``x`` (B·T, ...)."""
        batch = x.shape[0] // trials
        k = len(self.row_tiles) * self.slices
        if self.conv is None:
            xt = x.reshape(batch, trials, self.in_features).transpose(0, 1)
            parts = [torch.bmm(xt[..., a:b], w) for (a, b), w in zip(self.row_tiles, compute, strict=True)]
            p = torch.stack(parts, 2) if len(parts) > 1 else parts[0].unsqueeze(2)  # (T, B, n_rt, S·out)
            return p.view(trials, batch, k, self.out_features).transpose(0, 1)
        xg = x.reshape(batch, trials * x.shape[1], *x.shape[2:])
        p = F.conv2d(xg, compute, None, groups=trials, **self.conv)
        return p.view(batch, trials, k, self.out_features, *p.shape[2:])

    def _dac(self, x: torch.Tensor) -> torch.Tensor:
        """Inputs → DAC codes (inputs unchanged without a DAC)."""
        if self.dac_bits is None:
            return x
        if self.binary_input:  # a two-level row driver: ±1 exactly (sign(0) = +1, as SignActivation)
            return torch.where(x >= 0, 1.0, -1.0).to(x.dtype)
        if self.dac_fs is None:
            raise RuntimeError(f"{self.name}: the DAC range is 'calibrated' but the model is not calibrated: "
                               "call neuroemu.crossbar.calibrate(model, images) first")
        return dac_codes(x, self.dac_fs, self.dac_bits, self.dac_signed)

    @property
    def _codes_per_fs(self) -> int:
        if self.dac_bits is None or self.binary_input:
            return 1
        return codes_per_full_scale(self.dac_bits, self.dac_signed)

    @property
    def adc_fs(self) -> torch.Tensor | None:
        """ADC full scale per (row tile × slice, column) in siemens × DAC codes (``None``: not calibrated)."""
        if self.adc_bits is None or isinstance(self.adc_range, str):
            return self._adc_calibrated
        g_range = self.device.g_max - self.device.g_min
        full = float(self.adc_range) * g_range * self._codes_per_fs
        return torch.full((len(self.row_tiles) * self.slices, self.out_features), full)

    def _scale(self, trials: int) -> torch.Tensor:
        """(T, row tiles × slices, out): digital factor from a partial sum to output units."""
        k = len(self.row_tiles) * self.slices
        x_unit = self.dac_fs / self._codes_per_fs if self.dac_bits is not None else 1.0
        assert x_unit is not None
        base = (self.mapped.slice_factor.repeat(len(self.row_tiles)).view(k, 1)
                * self.mapped.w_unit.view(1, -1) * x_unit).float()
        scale = base.unsqueeze(0).expand(trials, k, self.out_features)
        if self._alpha is not None:
            scale = scale * self._alpha
        return scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        phase = self.state.phase
        if phase == "calibrate-dac":
            return self._calibrate_dac(x)
        if phase == "calibrate-adc":
            return self._calibrate_adc(x)
        if self._compute is None:
            raise RuntimeError(f"{self.name}: not programmed")
        adc_fs = self.adc_fs
        if self.adc_bits is not None and adc_fs is None:
            raise RuntimeError(f"{self.name}: the ADC range is 'calibrated' but the model is not calibrated: "
                               "call neuroemu.crossbar.calibrate(model, images) first")
        trials = self.state.trials
        if x.shape[0] % trials:
            raise ValueError(f"{self.name}: batch of {x.shape[0]} rows is not a multiple of {trials} trials")
        codes = self._dac(x)
        if self.input_mode == "bit_serial":
            p = self._bit_serial_sums(codes, trials, self._compute, adc_fs, x.shape[0] // trials)
            y = self._digital(p, trials, None, lsb=self._lsb(adc_fs))
        else:
            p = self._partial_sums(codes, trials, self._compute)
            y = self._digital(p, trials, adc_fs)
        if self.state.ledger is not None:
            self._record(self.state.ledger, x.shape[0], math.prod(p.shape[4:]))
        return y

    def _lsb(self, adc_fs: torch.Tensor | None) -> torch.Tensor | None:
        if self.adc_bits is None:
            return None
        assert adc_fs is not None
        return adc_fs / 2 ** (self.adc_bits - 1)

    def _adc(self, p: torch.Tensor, adc_fs: torch.Tensor | None, planes: int = 1) -> torch.Tensor:
        """Partial sums (rows, T, K, out, *spatial) → ADC codes, in place (unchanged without an ADC).

        ``planes`` > 1: the rows are input bit planes stacked plane-major (bit-serial input)."""
        if self.adc_bits is None:
            return p
        lsb = self._lsb(adc_fs)
        assert lsb is not None
        half = 2 ** (self.adc_bits - 1)
        shape = (*lsb.shape, *(1,) * (p.dim() - 4))  # p: (B, T, K, out, *spatial)
        p = p.mul_((1.0 / lsb).view(shape))
        if self.adc_noise > 0:
            p = p.add_(self._conversion_noise(p.shape, planes))
        return p.round_().clamp_(-half, half - 1)

    def _conversion_noise(self, shape: torch.Size, planes: int) -> torch.Tensor:
        """Gaussian ADC noise, σ = ``adc_noise`` LSB, one draw per conversion (rows, T, K, out, *spatial).

        Draw counters are (image index in the run, input bit plane, conversion within the image), from one
        stream per (seed, trial, layer): the same conversion gets the same noise whatever the batch size.
        """
        rows, trials = shape[0], shape[1]
        per_row = math.prod(shape[2:])
        batch = rows // planes
        row = torch.arange(rows)
        image = self.state.batch_start + row % batch
        first = (image * planes + row // batch) * per_row  # counter of each row's first conversion
        counters = first.view(rows, 1) + torch.arange(per_row).view(1, per_row)
        noise = torch.stack([rng.counter_normal(self.state.seed, t, f"{self.name}/adc-noise", counters)
                             for t in range(trials)], dim=1)
        return noise.view(shape).mul_(self.adc_noise)

    def _bit_planes(self, codes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """DAC codes → (n bit planes stacked first, their shift-and-add weights); signed: two's complement."""
        assert self.dac_bits is not None
        n = self.dac_bits
        c = codes.to(torch.int32)
        if self.dac_signed:
            c = c & ((1 << n) - 1)
        planes = torch.stack([(c >> j) & 1 for j in range(n)]).to(codes.dtype)
        weights = torch.tensor([float(2**j) for j in range(n)])
        if self.dac_signed:
            weights[-1] = -(2.0 ** (n - 1))
        return planes, weights

    def _bit_serial_sums(self, codes: torch.Tensor, trials: int, compute: Any,
                         adc_fs: torch.Tensor | None, batch: int) -> torch.Tensor:
        """One MVM per input bit plane, each ADC'd, recombined by shift-and-add: (B, T, K, out, *spatial)."""
        planes, weights = self._bit_planes(codes)
        n = planes.shape[0]
        p = self._partial_sums(planes.reshape(n * codes.shape[0], *codes.shape[1:]), trials, compute)
        p = self._adc(p, adc_fs, planes=n)
        p = p.view(n, batch, *p.shape[1:])
        return (p * weights.view(n, *([1] * (p.dim() - 1)))).sum(0)

    def _digital(self, p: torch.Tensor, trials: int, adc_fs: torch.Tensor | None,
                 lsb: torch.Tensor | None = None) -> torch.Tensor:
        """ADC + scaling + shift-add + partial-sum add + bias: (B, T, K, out, *sp) → (B·T, out, *sp).

        Works in place on ``p`` (a fresh tensor of partial sums). ``lsb``: ``p`` already holds ADC codes
        of that LSB (bit-serial input)."""
        batch, _, k, out = p.shape[:4]
        tail = (1,) * (p.dim() - 4)
        scale = self._scale(trials)
        if self.adc_bits is not None and lsb is None:
            p = self._adc(p, adc_fs)
            lsb = self._lsb(adc_fs)
        if lsb is not None:
            scale = scale * lsb.view(1, k, out)
        if k == 1:
            p = p.squeeze(2)
            if self.bias is not None:
                bias = self.bias.view(1, 1, out, *tail)
                if p.requires_grad:  # inputs from a trainable digital module (e.g. batch norm), grad mode
                    y = torch.addcmul(bias, p, scale.view(1, trials, out, *tail))
                else:
                    y = torch.addcmul(bias, p, scale.view(1, trials, out, *tail), out=p)
            else:
                y = p.mul_(scale.view(1, trials, out, *tail))
        else:
            y = (p * scale.view(1, trials, k, out, *tail)).sum(2)
            if self.bias is not None:
                y = y.add_(self.bias.view(1, 1, out, *tail))
        return y.reshape(batch * trials, out, *y.shape[3:])

    # ------------------------------------------------------------------ calibration

    def _calibrate_dac(self, x: torch.Tensor) -> torch.Tensor:
        lo, hi = self._calib.get("x_min"), self._calib.get("x_absmax")
        x_min, x_abs = x.min().reshape(1), x.abs().max().reshape(1)
        binary = torch.tensor([bool(((x == 1) | (x == -1)).all())])
        self._calib["binary"] = binary if "binary" not in self._calib else self._calib["binary"] & binary
        self._calib["x_min"] = x_min if lo is None else torch.minimum(lo, x_min)
        self._calib["x_absmax"] = x_abs if hi is None else torch.maximum(hi, x_abs)
        w = self.weight
        if self.conv is None:
            return F.linear(x, w, self.bias)
        return F.conv2d(x, w, self.bias, **self.conv)

    def _calibrate_adc(self, x: torch.Tensor) -> torch.Tensor:
        g_diff = (self.mapped.g_plus - self.mapped.g_minus).float().unsqueeze(0)  # target, 1 trial
        compute, codes = self._compute_tensors(g_diff), self._dac(x)
        if self.input_mode == "bit_serial":
            planes, weights = self._bit_planes(codes)
            n = planes.shape[0]
            converted = self._partial_sums(planes.reshape(n * codes.shape[0], *codes.shape[1:]), 1, compute)
            split = converted.view(n, converted.shape[0] // n, *converted.shape[1:])
            p = (split * weights.view(n, *([1] * (split.dim() - 1)))).sum(0)
        else:
            p = converted = self._partial_sums(codes, 1, compute)
        k = p.shape[2]
        peak = converted.abs().movedim(2, 0).movedim(3, 1).reshape(k, self.out_features, -1).amax(-1)
        old = self._calib.get("p_absmax")
        self._calib["p_absmax"] = peak if old is None else torch.maximum(old, peak)
        saved, self._alpha = self._alpha, None
        adc, self.adc_bits = self.adc_bits, None
        try:
            return self._digital(p, 1, None)
        finally:
            self._alpha, self.adc_bits = saved, adc

    def finish_dac_calibration(self) -> None:
        """Fix the DAC full scale to the largest |input| seen (unsigned when no input was negative).

        A layer whose calibration inputs were all ±1 (after a sign activation: BNN, XNOR-Net) gets two-level
        row drivers instead, as binarised crossbars use: ±1 applied exactly in one cycle (also with
        ``input_mode="bit_serial"``), recorded as 1-bit DAC conversions, whatever ``dac_bits`` and
        ``dac_range`` say (a multi-bit two's-complement DAC would turn +1 into (2^(b−1) − 1)/2^(b−1))."""
        if self.dac_bits is not None and bool(self._calib.get("binary", torch.tensor([False])).all()):
            self.binary_input, self.dac_bits, self.dac_fs, self.dac_signed = True, 1, 1.0, True
            self.input_mode = "dac"
            return
        if self.dac_bits is None or not isinstance(self.dac_range, str):
            return
        absmax = float(self._calib["x_absmax"])
        self.dac_fs = absmax if absmax > 0 else 1.0
        if self.dac_signed_spec is None:
            self.dac_signed = bool(self._calib["x_min"] < 0)

    def finish_adc_calibration(self) -> None:
        """Fix each array's ADC full scale to the largest |partial sum| its columns produced.

        Integer-coded (low-bit) weights under integer DAC codes give partial sums that are whole numbers of
        conductance steps g_step: their full scale is rounded up so that the LSB is a whole number k of
        steps, k = ⌈(peak/g_step + 1)/2^(b−1)⌉ (k = 1, a lossless conversion, when the peak fits)."""
        if self.adc_bits is None or not isinstance(self.adc_range, str):
            return
        peak = self._calib["p_absmax"]
        fs = torch.empty_like(peak)
        for c0, c1 in self.col_tiles:
            fs[:, c0:c1] = peak[:, c0:c1].amax(1, keepdim=True)
        g_range = self.device.g_max - self.device.g_min
        step = self.mapped.g_step
        if step is not None and self.dac_bits is not None:
            half = 2 ** (self.adc_bits - 1)
            fs = torch.ceil((fs / step + 1) / half - 1e-9) * half * step
        self._adc_calibrated = torch.where(fs > 0, fs, torch.full_like(fs, g_range))

    # ------------------------------------------------------------------ ledger

    @property
    def devices(self) -> int:
        """Physical devices of this layer (both cells of every pair, every slice, reference columns)."""
        cells = self.slices * self.out_features * self.in_features
        if self.mapping == "differential":
            return 2 * cells
        return cells + self.slices * self.in_features * len(self.col_tiles)

    def _record(self, ledger: Ledger, rows: int, positions: int) -> None:
        n = rows * positions  # MVMs: one per image, trial and output position
        n_rt, n_ct, out = len(self.row_tiles), len(self.col_tiles), self.out_features
        serial = self.input_mode == "bit_serial"
        cycles = self.dac_bits if serial and self.dac_bits is not None else 1  # one per input bit plane
        ledger.record("crossbar_mvm", n * cycles * n_rt * n_ct * self.slices, layer=self.name)
        ledger.record("cell_read", n * cycles * self.devices, layer=self.name)
        if self.dac_bits is not None:
            drives = n * cycles * self.in_features * n_ct * self.slices
            ledger.record("dac_conversion", drives, layer=self.name, bits=1 if serial else self.dac_bits)
        if self.adc_bits is not None:
            ledger.record("adc_conversion", n * cycles * out * n_rt * self.slices, layer=self.name,
                          bits=self.adc_bits)
        if self.slices > 1 or cycles > 1:
            ledger.record("shift_add", n * out * n_rt * (self.slices * cycles - 1), layer=self.name)
        if n_rt > 1:
            ledger.record("tile_partial_sum_add", n * out * (n_rt - 1), layer=self.name)
        ledger.record("output_scale", n * out * n_rt * self.slices, layer=self.name)
        if self.bias is not None:
            ledger.record("bias_add", n * out, layer=self.name)

    def extra_repr(self) -> str:
        kind = "conv" if self.conv is not None else "linear"
        return (f"{self.name}: {kind} {self.in_features}→{self.out_features}, weights={self.weight_kind}, "
                f"{self.device.card.name}, "
                f"tiles={len(self.row_tiles)}×{len(self.col_tiles)} of {self.array[0]}×{self.array[1]}, "
                f"slices={self.slices}, dac_bits={self.dac_bits}, adc_bits={self.adc_bits}, "
                f"input={self.input_mode}")
