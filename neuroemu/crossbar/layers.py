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
   with any of ``output_noise``, ``read_noise="per_read"``, ``input_management="per_vector"`` or
   ``bound_management="iterative"`` the layer reads one input vector per MVM through
   :mod:`~neuroemu.crossbar.periphery` instead (convolutions unfolded into their receptive fields), and with
   ``ir_drop`` the MVM multiplies by each array's effective conductances (:mod:`~neuroemu.crossbar.irdrop`);
4. digital logic multiplies by the column's scale (DAC step × weight per siemens × slice weight
   2^(b·s) × drift-compensation factor α of the array), **shift-adds** the slices, **adds the partial sums
   of the row tiles**, and adds the bias.

Trials: the layer holds T programmed instances of its conductances (a leading trial dimension). Its input
batch is trial-minor: row b·T + t is image b on chip instance t; convolutions run all trials as one grouped
convolution and linear layers as one batched matrix product, so no Python loop runs over trials or images.
A convolution whose kernel needs several row tiles computes every tile's partial sums in the same grouped
convolution, with each tile's kernel masked to its rows (extra arithmetic, same result).

The layer composes one part per mechanism, each in its own module: the weight mapping
(:mod:`~neuroemu.crossbar.mapping`, :mod:`~neuroemu.crossbar.lowbit`), the tiling and tiled MVM
(:mod:`~neuroemu.crossbar.tiling`), the programmed devices (:mod:`~neuroemu.crossbar.cells`), the DAC
(:mod:`~neuroemu.crossbar.dac`), the ADCs (:mod:`~neuroemu.crossbar.adc`), the drift-compensation policy
(:mod:`~neuroemu.crossbar.drift`) and the digital periphery (:mod:`~neuroemu.crossbar.digital`); it holds
the calibration and read-out sequence and records the ledger events.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import nn

from neuroemu.cards import Card, load_card
from neuroemu.crossbar.adc import Adc
from neuroemu.crossbar.cells import Cells
from neuroemu.crossbar.dac import Dac
from neuroemu.crossbar.digital import column_scale, recombine
from neuroemu.crossbar.drift import GlobalDriftCompensation, PeripheryDriftCompensation
from neuroemu.crossbar.irdrop import DEFAULT_WIRE, effective_conductances
from neuroemu.crossbar.lowbit import lowbit_weights, map_lowbit
from neuroemu.crossbar.mapping import Mapped, map_weights
from neuroemu.crossbar.periphery import Periphery
from neuroemu.crossbar.repair import RepairedCells, parse_repair
from neuroemu.crossbar.tiling import TiledMvm, Tiling
from neuroemu.devices import DeviceModel, StuckAtFaults
from neuroemu.ledger import Ledger, RecordsEvents

if TYPE_CHECKING:
    from neuroemu.crossbar.spec import Crossbar

__all__ = ["CrossbarLayer", "CrossbarState"]


@dataclass
class CrossbarState:
    """State shared by every emulated layer of one model (and its root-module hooks)."""

    trials: int
    seed: int
    first_trial: int = 0  #: index of trial 0 among all chip instances (its random streams)
    time: float = 0.0
    drift_compensation: bool = False
    phase: str = "run"  #: "run", "calibrate-dac" or "calibrate-adc"
    ledger: Ledger | None = None
    calibrated: bool = False
    #: images run since the last read (``set_time``); ``batch_start`` = index of the current batch's first
    #: image: the counter of per-conversion noise, so it does not depend on the batch size
    images_seen: int = 0
    batch_start: int = 0
    #: (the batch repeated for every trial, the batch) while the root module runs with T > 1 trials: a
    #: layer whose input is that very tensor sees the same input on every chip instance
    repeated: tuple[torch.Tensor, torch.Tensor] | None = None


class CrossbarLayer(RecordsEvents, nn.Module):
    """An ``nn.Linear`` or ``nn.Conv2d`` emulated on crossbar arrays (see the module docstring).

    ``spec`` gives the converters, tiling and mapping; ``device`` is its device card's model (built once per
    model); ``state`` is shared by every layer of the model (trials, seed, read time, phase, ledger).
    """

    @property
    def ledger(self) -> Ledger | None:  # type: ignore[override]
        """The ledger the chip records into: one per model, held by the state all its layers share."""
        return self.state.ledger

    @ledger.setter
    def ledger(self, value: Ledger | None) -> None:
        self.state.ledger = value

    def __init__(self, module: nn.Linear | nn.Conv2d, name: str, spec: Crossbar, device: DeviceModel,
                 state: CrossbarState) -> None:
        super().__init__()
        if isinstance(module, nn.Conv2d):
            if module.groups != 1:
                raise ValueError(f"{name}: grouped convolutions (groups={module.groups}) are not supported")
            if module.padding_mode != "zeros":
                raise ValueError(f"{name}: padding_mode {module.padding_mode!r} unsupported ('zeros' only)")
            conv: dict[str, Any] | None = {"stride": module.stride, "padding": module.padding,
                                           "dilation": module.dilation}
            kernel_shape = tuple(module.weight.shape[1:])
        elif isinstance(module, nn.Linear):
            conv, kernel_shape = None, (module.in_features,)
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
        if low is not None:
            self.mapped: Mapped = map_lowbit(low, device, mapping=spec.mapping, slicing=spec.slicing,
                                             name=name)
        else:
            if device.levels == 2 and spec.slicing is None:
                raise ValueError(f"slicing: device {device.card.name!r} stores one bit per cell; give "
                                 f"slicing=(cells, 1), e.g. (8, 1) for 8-bit weights (float layer {name!r})")
            self.mapped = map_weights(weight, device, mapping=spec.mapping, scaling=spec.scaling,
                                      weight_clip=spec.weight_clip, slicing=spec.slicing, name=name,
                                      array=spec.array)
        self.tiling = Tiling(self.in_features, self.out_features, self.mapped.g_plus.shape[0], spec.array)
        self.mvm = TiledMvm(self.tiling, conv, kernel_shape)
        reference_tiles = len(self.tiling.col_tiles) if spec.mapping == "reference" else 1
        faults = StuckAtFaults.of(device.card, spec.stuck_on_rate, spec.stuck_off_rate)
        self.cells = Cells(device, self.mapped, name=name, trials=state.trials, seed=state.seed,
                           first_trial=state.first_trial, reference_tiles=reference_tiles, faults=faults)
        if spec.repair is not None:  # fault-tolerant mapping from the post-programming fault map
            self.cells = RepairedCells(self.cells, parse_repair(spec.repair))
        self.periphery = Periphery(
            output_noise=spec.output_noise, per_read=spec.read_noise == "per_read",
            per_vector=spec.input_management == "per_vector",
            halvings=spec.bound_halvings if spec.bound_management == "iterative" else 0,
            adc_noise=spec.adc_noise, name=name, seed=state.seed, first_trial=state.first_trial)
        gaussian_read = type(device).read_sigma is not DeviceModel.read_sigma
        if self.periphery.per_read and device.STOCHASTIC and not gaussian_read:
            raise ValueError(f"read_noise='per_read': device {device.card.name!r} has no Gaussian read noise "
                             "to redraw per MVM")
        self.dac = Dac(spec.dac_bits, spec.dac_range, spec.dac_signed,
                       bit_serial=spec.input_mode == "bit_serial", per_vector=self.periphery.per_vector,
                       name=name)
        self.adc = Adc(spec.adc_bits, spec.adc_range, spec.adc_noise,
                       shape=(self.tiling.partial_sums, self.out_features),
                       g_range=device.g_max - device.g_min, seed=state.seed, first_trial=state.first_trial,
                       name=name, output_unit=self._weight_unit() if spec.output_unit == "weight" else None)
        self.ir_drop = spec.ir_drop  #: "none", "exact" or "first_order"
        self.wire: Card | None = None  #: the wire card of IR drop
        if spec.ir_drop != "none":
            wire = spec.wire if spec.wire is not None else DEFAULT_WIRE
            self.wire = wire if isinstance(wire, Card) else load_card(wire, kind="wire")
            if self.wire.kind != "wire":
                raise ValueError(f"wire: card {self.wire.name!r} is of kind {self.wire.kind!r}, not 'wire'")
        self.drift = GlobalDriftCompensation(self.tiling)
        #: drift compensation estimated through the periphery (``drift_estimate="periphery"``), else None
        self.drift_read = (PeripheryDriftCompensation(self.tiling, self.periphery)
                           if spec.drift_estimate == "periphery" else None)
        self._drift_pending: float | None = None  #: read time whose periphery estimate is still to run
        self._weights: Any = None  #: what the MVM multiplies by, from the last read
        #: per-read device-noise variances in the MVM's layout (``read_noise="per_read"``)
        self._variances: list[torch.Tensor] | None = None
        #: bound management since the last read: repeated row-tile reads, and reads still saturated after
        #: the last halving
        self.repeated_reads = 0
        self.saturated_reads = 0
        self._alpha: torch.Tensor | None = None  #: drift-compensation factors of the last read
        #: Ḡ (S): mean conductance of the devices at the last read time, without read noise (ledger)
        self.conductance_s = 0.0
        #: Ḡ × devices / ADC conversions per MVM (S): the conductance one conversion reads (ledger)
        self.column_conductance_s = 0.0

    def _weight_unit(self) -> torch.Tensor:
        """(K, out): the conductance difference (S) of one unit of the layer's weight in each partial sum
        (``output_unit="weight"``)."""
        return 1.0 / column_scale(self.mapped, len(self.tiling.row_tiles), 1.0, 1)[0].double()

    @property
    def sigma_out(self) -> torch.Tensor:
        """(K, out), float64: the output noise σ in S × DAC codes (``output_noise`` in the unit of a fixed
        ``adc_range``)."""
        unit = torch.as_tensor(self.adc.output_unit, dtype=torch.float64)
        return (self.periphery.output_noise * unit * self.dac.codes_per_full_scale).expand(self.adc.shape)

    @property
    def devices(self) -> int:
        """Physical devices of this layer (both cells of every pair, every slice, reference columns)."""
        return self.cells.devices

    # ------------------------------------------------------------------ programming and read-out

    def program(self) -> None:
        """Draw ``trials`` programmed instances of this layer's devices and read them at the model's time."""
        self.cells.program()
        self.drift.reset()
        if self.drift_read is not None:
            self.drift_read.reset()
        self.read(self.state.time, self.state.drift_compensation)

    def read(self, t: float, drift_compensation: bool) -> None:
        """Read the programmed devices ``t`` s after programming; prepare the MVM's weights and the mean
        conductances the ledger events carry (read without read noise)."""
        per_read = self.periphery.per_read
        g_plus, g_minus = self.cells.read_expected(t) if per_read else self.cells.read(t)
        through_periphery = drift_compensation and self.drift_read is not None
        self._alpha = (self.drift.factors(self.cells, g_plus, g_minus, noisy=not per_read)
                       if drift_compensation and not through_periphery else None)
        self._drift_pending = t if through_periphery else None  # estimated at the next forward (ADC ranges)
        if isinstance(self.cells, RepairedCells) and (refit := self.cells.column_factors()) is not None:
            self._alpha = refit if self._alpha is None else self._alpha * refit
        g_diff = self._through_wires(g_plus, g_minus)
        if self.periphery.active:
            self._weights = self.mvm.vector_weights(g_diff)
            self._variances = self._read_variances(t) if per_read else None
        else:
            self._weights = self.mvm.weights(g_diff)
        self.repeated_reads = self.saturated_reads = 0
        expected = self.cells.read_expected(t) if self.device.STOCHASTIC else (g_plus, g_minus)
        self.conductance_s = self.cells.mean_conductance(*expected)
        self.column_conductance_s = self.conductance_s * self.devices / self.conversions_per_mvm

    def _through_wires(self, g_plus: torch.Tensor, g_minus: torch.Tensor) -> torch.Tensor:
        """G⁺ − G⁻ as the MVM sees them (with IR drop: the effective conductances, :mod:`~.irdrop`)."""
        if self.wire is None:
            return g_plus - g_minus
        r_row = self.wire.row_segment_resistance  # type: ignore[attr-defined]
        r_col = self.wire.column_segment_resistance  # type: ignore[attr-defined]
        eff_plus, eff_minus = effective_conductances(g_plus, g_minus, self.tiling, self.ir_drop, r_row, r_col)
        return eff_plus - eff_minus

    def _estimate_drift(self, t: float, lsb: torch.Tensor | None) -> None:
        """α of every array at ``t`` from calibration reads through the periphery (:mod:`~.drift`)."""
        assert self.drift_read is not None
        per_read = self.periphery.per_read

        def read(at: float) -> tuple[torch.Tensor, torch.Tensor | None]:
            g_plus, g_minus = self.cells.read_expected(at) if per_read else self.cells.read(at)
            variance = None
            if per_read:
                s_plus, s_minus = self.cells.read_sigma(at)
                parts = [s.pow(2).expand_as(g_plus) for s in (s_plus, s_minus) if s is not None]
                variance = sum(parts[1:], parts[0]) if parts else None
            return self._through_wires(g_plus, g_minus), variance

        target = (self.mapped.g_plus - self.mapped.g_minus).float()
        alpha = self.drift_read.factors(read, t, target=target, top_code=self.dac.vector_top, lsb=lsb,
                                        bits=self.adc.bits, sigma_out=self.sigma_out)
        if isinstance(self.cells, RepairedCells) and (refit := self.cells.column_factors()) is not None:
            alpha = alpha * refit
        self._alpha, self._drift_pending = alpha, None

    def _read_variances(self, t: float) -> list[torch.Tensor] | None:
        """σ⁺² + σ⁻² of every device pair at time ``t`` in the MVM's layout (``None``: no read noise)."""
        s_plus, s_minus = self.cells.read_sigma(t)
        if s_plus is None and s_minus is None:
            return None
        shape = self.mapped.g_plus.shape
        var = torch.zeros(self.state.trials, *shape)
        for sigma in (s_plus, s_minus):
            if sigma is not None:
                var = var + sigma.pow(2).expand(self.state.trials, *shape)
        return self.mvm.vector_weights(var)

    @property
    def conversions_per_mvm(self) -> int:
        """ADC conversions per MVM (per input bit plane): (outputs + spare columns) × row tiles × slices."""
        return (self.out_features + self.spare_columns) * self.tiling.partial_sums

    @property
    def spare_columns(self) -> int:
        """Spare columns of this layer (fault-tolerant mapping, :mod:`~neuroemu.crossbar.repair`)."""
        return self.cells.spare_columns if isinstance(self.cells, RepairedCells) else 0

    # ------------------------------------------------------------------ forward

    def adc_full_scale(self) -> torch.Tensor | None:
        """ADC full scale per (row tile × slice, column) in siemens × DAC codes (``None``: no ADC, or not
        calibrated)."""
        return self.adc.full_scale(self.dac.codes_per_full_scale)

    def column_scale(self, trials: int, alpha: torch.Tensor | None = None,
                     lsb: torch.Tensor | None = None) -> torch.Tensor:
        """(T, row tiles × slices, out): the digital factor from a partial sum (or ADC code) to outputs."""
        return column_scale(self.mapped, len(self.tiling.row_tiles), self.dac.unit, trials, alpha, lsb)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        phase = self.state.phase
        if phase == "calibrate-dac":
            return self._calibrate_dac(x)
        if phase == "calibrate-adc":
            return self._calibrate_adc(x)
        if self._weights is None:
            raise RuntimeError(f"{self.name}: not programmed")
        lsb = self.adc.lsb(self.adc_full_scale())
        trials = self.state.trials
        if x.shape[0] % trials:
            raise ValueError(f"{self.name}: batch of {x.shape[0]} rows is not a multiple of {trials} trials")
        if self._drift_pending is not None:
            self._estimate_drift(self._drift_pending, lsb)
        if self.periphery.active:
            return self._managed_forward(x, trials, lsb)
        if self.dac.bit_serial:
            p = self._bit_serial_sums(self.dac.codes(x), trials, self._weights, lsb)
        else:
            uniform = self._uniform_input(x)
            p = (self.mvm.partial_sums(self.dac.codes(x), trials, self._weights) if uniform is None
                 else self.mvm.uniform_partial_sums(self.dac.codes(uniform), trials, self._weights))
            if lsb is not None:
                p = self.adc.convert(p, lsb, first_image=self.state.batch_start)
        y = recombine(p, self.column_scale(trials, self._alpha, lsb), self.bias)
        if self.state.ledger is not None:
            self._record(self.state.ledger, x.shape[0], math.prod(p.shape[4:]))
        return y

    def _uniform_input(self, x: torch.Tensor) -> torch.Tensor | None:
        """The batch (B, ...) when ``x`` is the root module's input repeated for every trial (it is the same
        on every chip instance: DAC codes once per image, one convolution for all trials), for a
        convolution; else ``None``."""
        repeated = self.state.repeated
        if repeated is None or repeated[0] is not x or self.mvm.conv is None:
            return None
        return repeated[1]

    def _managed_forward(self, x: torch.Tensor, trials: int, lsb: torch.Tensor | None) -> torch.Tensor:
        """One MVM per input vector through the managed periphery (:mod:`~.periphery`): input management,
        output and per-read noise, ADC, iterative bound management; then the digital recombination."""
        periphery, tiling = self.periphery, self.tiling
        v, spatial = self.mvm.vectors(x, trials)
        n = v.shape[0] // trials
        positions = n // (x.shape[0] // trials)
        vectors = torch.arange(n) + self.state.batch_start * positions
        codes, scales = periphery.input_codes(v, self.dac, tiling)
        sigma_out = self.sigma_out
        p = self._read_vectors(codes, trials)
        p, saturated = periphery.convert(p, self._variance_of(codes, trials), lsb, self.adc.bits, sigma_out,
                                         vectors)
        slices = tiling.slices
        factor = None
        repeats = torch.zeros(len(tiling.row_tiles), dtype=torch.int64)
        for halving in range(1, periphery.halvings + 1):
            assert saturated is not None
            tile_saturated = saturated.view(n, trials, len(tiling.row_tiles), slices).any(-1)  # (N, T, n_rt)
            redo = tile_saturated.any(2).any(1).nonzero().flatten()
            if redo.numel() == 0:
                break
            repeats += tile_saturated.sum((0, 1))
            sub = v.view(n, trials, -1)[redo].reshape(-1, v.shape[1])
            sub_codes, _ = periphery.input_codes(sub, self.dac, tiling, halving)  # same per-vector scales
            q, q_saturated = periphery.convert(self._read_vectors(sub_codes, trials),
                                               self._variance_of(sub_codes, trials), lsb, self.adc.bits,
                                               sigma_out, vectors[redo], halving)
            assert q_saturated is not None
            mask = tile_saturated[redo].repeat_interleave(slices, dim=2)  # (N', T, K)
            p[redo] = torch.where(mask.unsqueeze(-1), q, p[redo])
            if factor is None:
                factor = torch.ones(n, trials, tiling.partial_sums)
            factor[redo] = torch.where(mask, 2.0**halving, factor[redo])
            saturated = torch.zeros_like(saturated)
            saturated[redo] = mask & q_saturated
        if periphery.halvings and saturated is not None:
            still = saturated.view(n, trials, len(tiling.row_tiles), slices).any(-1)
            self.saturated_reads += int(still.sum())
            self.repeated_reads += int(repeats.sum())
        if scales is not None:
            per_k = scales.view(n, trials, -1).repeat_interleave(slices, dim=2)
            factor = per_k if factor is None else factor * per_k
        if factor is not None:
            p = p.mul_(factor.unsqueeze(-1))
        y = recombine(self.mvm.fold(p, spatial), self.column_scale(trials, self._alpha, lsb), self.bias)
        if self.state.ledger is not None:
            self._record(self.state.ledger, x.shape[0], positions)
            if int(repeats.sum()):
                self._record_repeats(self.state.ledger, repeats)
        return y

    def _read_vectors(self, codes: torch.Tensor, trials: int) -> torch.Tensor:
        """Partial sums (N, T, K, out) of DAC codes (N·T, in) on the conductances of the last read."""
        return self.mvm.vector_partial_sums(codes, trials, self._weights)

    def _variance_of(self, codes: torch.Tensor, trials: int) -> torch.Tensor | None:
        """Per-read device-noise variance (N, T, K, out) of each partial sum of ``codes`` (Σ code² σ²)."""
        if self._variances is None:
            return None
        return self.mvm.vector_partial_sums(codes * codes, trials, self._variances)

    def _bit_serial_sums(self, codes: torch.Tensor, trials: int, weights: Any,
                         lsb: torch.Tensor | None) -> torch.Tensor:
        """One MVM per input bit plane, each ADC'd, recombined by shift-and-add: (B, T, K, out, *spatial)."""
        p, plane_weights = self._plane_sums(codes, trials, weights)
        n = plane_weights.shape[0]
        if lsb is not None:
            p = self.adc.convert(p, lsb, planes=n, first_image=self.state.batch_start)
        return _shift_add(p, plane_weights)

    def _plane_sums(self, codes: torch.Tensor, trials: int, weights: Any
                    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Partial sums of every input bit plane, stacked plane-major (n·B, T, K, out, *spatial), and the
        planes' shift-and-add weights."""
        planes, plane_weights = self.dac.bit_planes(codes)
        stacked = planes.reshape(planes.shape[0] * codes.shape[0], *codes.shape[1:])
        return self.mvm.partial_sums(stacked, trials, weights), plane_weights

    # ------------------------------------------------------------------ calibration

    def _calibrate_dac(self, x: torch.Tensor) -> torch.Tensor:
        """Pass 1: the float layer, noting its inputs for the DAC."""
        self.dac.observe(x)
        if self.mvm.conv is None:
            return F.linear(x, self.weight, self.bias)
        return F.conv2d(x, self.weight, self.bias, **self.mvm.conv)

    def _calibrate_adc(self, x: torch.Tensor) -> torch.Tensor:
        """Pass 2: the DAC'd inputs on the target (noise-free) conductances, noting what the ADCs would see;
        outputs without ADC and drift compensation."""
        g_diff = (self.mapped.g_plus - self.mapped.g_minus).float().unsqueeze(0)  # target, 1 trial
        if self.periphery.per_vector:  # the codes the managed path applies, one scale per vector
            v, spatial = self.mvm.vectors(x, 1)
            codes, scales = self.periphery.input_codes(v, self.dac, self.tiling)
            p = self.mvm.vector_partial_sums(codes, 1, self.mvm.vector_weights(g_diff))
            self.adc.observe(self.mvm.fold(p, spatial))
            if scales is not None:
                p = p * scales.view(p.shape[0], 1, -1).repeat_interleave(self.tiling.slices, 2).unsqueeze(-1)
            return recombine(self.mvm.fold(p, spatial), self.column_scale(1), self.bias)
        weights, codes = self.mvm.weights(g_diff), self.dac.codes(x)
        if self.dac.bit_serial:
            converted, plane_weights = self._plane_sums(codes, 1, weights)
            p = _shift_add(converted, plane_weights)
        else:
            p = converted = self.mvm.partial_sums(codes, 1, weights)
        self.adc.observe(converted)
        return recombine(p, self.column_scale(1), self.bias)

    def finish_dac_calibration(self) -> None:
        """Fix the DAC's calibrated range (or switch to two-level drivers), see :class:`~.dac.Dac`."""
        self.dac.finish_calibration()

    def finish_adc_calibration(self) -> None:
        """Fix each array's calibrated ADC range, see :class:`~.adc.Adc`."""
        integer_sums = self.dac.bits is not None  # integer codes: low-bit weights give whole g_steps
        self.adc.finish_calibration(self.tiling, self.mapped.g_step if integer_sums else None)
        if self.drift_read is not None:  # the calibration reads depend on the ADC ranges
            self.drift_read.reset()
            if self.state.drift_compensation:
                self._drift_pending = self.state.time

    # ------------------------------------------------------------------ ledger

    def _record(self, ledger: Ledger, rows: int, positions: int) -> None:
        n = rows * positions  # MVMs: one per image, trial and output position
        tiling = self.tiling
        n_rt, n_ct, slices = len(tiling.row_tiles), len(tiling.col_tiles), tiling.slices
        out = self.out_features
        cycles = self.dac.cycles  # one per input bit plane
        ledger.record("crossbar_mvm", n * cycles * n_rt * n_ct * slices, layer=self.name)
        device = self.device.card.name
        ledger.record("cell_read", n * cycles * self.devices, layer=self.name, device=device,
                      conductance_s=self.conductance_s)
        if self.dac.bits is not None:
            drives = n * cycles * self.in_features * n_ct * slices
            ledger.record("dac_conversion", drives, layer=self.name, bits=self.dac.event_bits)
        if self.adc.bits is not None:
            ledger.record("adc_conversion", n * cycles * self.conversions_per_mvm, layer=self.name,
                          bits=self.adc.bits, device=device, column_conductance_s=self.column_conductance_s)
        if slices > 1 or cycles > 1:
            ledger.record("shift_add", n * out * n_rt * (slices * cycles - 1), layer=self.name)
        if n_rt > 1:
            ledger.record("tile_partial_sum_add", n * out * (n_rt - 1), layer=self.name)
        ledger.record("output_scale", n * out * n_rt * slices, layer=self.name)
        if self.bias is not None:
            ledger.record("bias_add", n * out, layer=self.name)

    def _record_repeats(self, ledger: Ledger, repeats: torch.Tensor) -> None:
        """The reads bound management repeated: ``repeats[r]`` reads of row tile r (one vector, one chip),
        each activating the row tile's arrays (column tiles × slices) with its rows, cells and columns."""
        tiling = self.tiling
        n_ct, slices = len(tiling.col_tiles), tiling.slices
        device = self.device.card.name
        reads = int(repeats.sum())
        rows = sum(int(r) * (b - a) for r, (a, b) in zip(repeats, tiling.row_tiles, strict=True))
        ledger.record("crossbar_mvm", reads * n_ct * slices, layer=self.name)
        ledger.record("cell_read", rows * self.devices // self.in_features, layer=self.name, device=device,
                      conductance_s=self.conductance_s)
        if self.dac.bits is not None:
            ledger.record("dac_conversion", rows * n_ct * slices, layer=self.name, bits=self.dac.event_bits)
        ledger.record("adc_conversion", reads * (self.out_features + self.spare_columns) * slices,
                      layer=self.name, bits=self.adc.bits, device=device,
                      column_conductance_s=self.column_conductance_s)

    def extra_repr(self) -> str:
        kind = "conv" if self.mvm.conv is not None else "linear"
        tiling = self.tiling
        return (f"{self.name}: {kind} {self.in_features}→{self.out_features}, weights={self.weight_kind}, "
                f"{self.device.card.name}, tiles={len(tiling.row_tiles)}×{len(tiling.col_tiles)} of "
                f"{tiling.array[0]}×{tiling.array[1]}, slices={tiling.slices}, dac_bits={self.dac.bits}, "
                f"adc_bits={self.adc.bits}, input={'bit_serial' if self.dac.bit_serial else 'dac'}")


def _shift_add(p: torch.Tensor, plane_weights: torch.Tensor) -> torch.Tensor:
    """Bit-plane results stacked plane-major (n·B, ...) → Σ_j weight_j · plane_j, (B, ...)."""
    n = plane_weights.shape[0]
    split = p.view(n, p.shape[0] // n, *p.shape[1:])
    return (split * plane_weights.view(n, *([1] * (split.dim() - 1)))).sum(0)

