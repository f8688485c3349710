"""An analog RPU tile for training: forward x → Wx, backward δ → Wᵀδ and the stochastic pulsed update.

Periphery (Gokmen, Onen & Haensch, "Training deep convolutional neural networks with resistive cross-point
devices", Front. Neurosci. 11:538, 2017, Sec. 2.2-2.4), per read:

- **noise management** (their "NM"): the input vector is divided by its max |x| before the DAC and the
  result multiplied back, so the read noise stays relative to the largest input (it matters for the small
  backward errors δ);
- the read adds Gaussian noise σ·z to every output, σ relative to the output range of an input of full
  scale 1 (the paper's 6 % noise is ``read_noise = 0.06``);
- optional DAC quantisation of the scaled input to ``dac_bits`` (signed) and ADC quantisation of the
  output to ``adc_bits`` over ±``out_bound``; the output saturates at ±``out_bound`` (12 in the paper);
- **bound management** ("BM", the iterative variant of Gokmen 2017 Sec. 2.4): while some output
  saturates, the input is halved and the read repeated (at most 10 times; the repeated read reuses the
  same noise draw, an approximation of this emulator).

Update (Gokmen & Vlasov 2016): pulse trains of length BL with probabilities C_x·|x|, C_δ·|δ| and
C_x·C_δ = C² = η/(BL·Δw_min); with **update management** (Gokmen 2017 Sec. 2.3, "UM") C_x = C·sqrt(m_δ/m_x)
and C_δ = C·sqrt(m_x/m_δ) with m the max |value| on each side, which balances the two pulse rates. Only
the rows whose input pulsed are gathered and updated (the others see no coincidence).

Weights are stored (n_in + 1, n_out): the last row is the bias, driven by a constant input 1.

**Devices per weight** (the device variability reduction of Gokmen 2017, "used selectively for some of the
layers in a CNN"): with ``devices_per_weight`` N > 1 every weight is N devices in N replicated columns that
share the column's pulse train and the rows' pulse trains, so all N see the same coincidences, and each
steps with its own drawn Δw_min, asymmetry, bounds and cycle-to-cycle noise. The replicated columns'
currents are summed at one output with the integrator's gain divided by N, so a read sees the mean of the
N devices with the read noise and output bound of one column: the device-to-device spreads (and the
cycle-to-cycle noise) of the effective weight shrink by sqrt(N), the pulse statistics do not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from neuroemu.devices.training import UpdateModel
from neuroemu.devices.updates import NormalStream, PulsedUpdateModel
from neuroemu.rpu.pulses import coincidences, polarity_coincidences, pulse_constant

__all__ = ["MAX_DEVICES_PER_WEIGHT", "AnalogTile", "TileConfig"]

#: the most devices per weight a tile models (replicated columns: the array grows N-fold)
MAX_DEVICES_PER_WEIGHT = 64


@dataclass(frozen=True)
class TileConfig:
    """Periphery and update settings of a tile (see the module docstring)."""

    lr: float = 0.01
    bl: int = 10
    read_noise: float = 0.06
    out_bound: float | None = 12.0
    dac_bits: int | None = None
    adc_bits: int | None = None
    noise_management: bool = True
    bound_management: bool = True
    update_management: bool = True
    devices_per_weight: int = 1

    def __post_init__(self) -> None:
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if self.bl < 1:
            raise ValueError(f"bl must be >= 1, got {self.bl}")
        if self.read_noise < 0:
            raise ValueError(f"read_noise must be >= 0, got {self.read_noise}")
        if self.out_bound is not None and not self.out_bound > 0:
            raise ValueError(f"out_bound must be > 0 or None, got {self.out_bound}")
        for name in ("dac_bits", "adc_bits"):
            bits = getattr(self, name)
            if bits is not None and not 2 <= bits <= 24:
                raise ValueError(f"{name} must be in 2..24 or None, got {bits}")
        if not 1 <= self.devices_per_weight <= MAX_DEVICES_PER_WEIGHT:
            raise ValueError(f"devices_per_weight must be in 1..{MAX_DEVICES_PER_WEIGHT}, got "
                             f"{self.devices_per_weight}")
        if self.adc_bits is not None and self.out_bound is None:
            raise ValueError("adc_bits needs an out_bound (the ADC's full scale)")

    def converter_bits(self) -> dict[str, int]:
        """The widths a read's DACs and ADCs convert at, where the tile quantises (ledger attributes that
        pricing reads)."""
        return {name: bits for name, bits in (("dac_bits", self.dac_bits), ("adc_bits", self.adc_bits))
                if bits is not None}


def _quantise(t: torch.Tensor, bits: int, full_scale: float) -> torch.Tensor:
    levels = 2 ** (bits - 1) - 1
    step = full_scale / levels
    return t.div(step).round_().clamp_(-levels, levels).mul_(step)


def _restore(target: torch.Tensor, state: dict[str, Any], name: str) -> None:
    value = state.get(name)
    if not (isinstance(value, torch.Tensor) and value.shape == target.shape and value.dtype == target.dtype):
        raise ValueError(f"tile state: {name!r} must be a {target.dtype} tensor of shape "
                         f"{tuple(target.shape)}")
    target.copy_(value)


class AnalogTile:
    """One array of pulse-updated devices with its periphery (forward, backward, update)."""

    def __init__(self, n_in: int, n_out: int, model: UpdateModel, config: TileConfig,
                 generator: torch.Generator, init: torch.Tensor | None = None) -> None:
        self.model, self.config = model, config
        self.gen = generator
        self.normals = NormalStream(generator)
        n = config.devices_per_weight
        if n > 1 and not isinstance(model, PulsedUpdateModel):
            raise ValueError(f"devices_per_weight > 1 is modelled for rpu_device cards, not for "
                             f"{type(model).__name__}")
        self.dev = model.sample((n_in + 1, n_out) if n == 1 else (n, n_in + 1, n_out), generator)
        self.w = torch.zeros(n_in + 1, n_out) if init is None else init.clone().to(torch.float32)
        #: the weights of the N devices of every weight (N, n_in + 1, n_out); None: one device, self.w
        self.replicas: torch.Tensor | None = None
        if n == 1:
            model.program(self.w, self.dev)
        else:
            self.replicas = self.w.expand(n, -1, -1).clone()
            model.program(self.replicas, self.dev)
            torch.mean(self.replicas, 0, out=self.w)
        self.c = pulse_constant(config.lr, config.bl, model.dw_min)
        #: running sums over updates: signed x·δ coincidences, |coincidences|, row pulses, column pulses
        self.stats = torch.zeros(4, dtype=torch.float64)
        self._stats = self.stats.numpy()  # the same memory, added to by numpy
        #: running sums of the model's own events (PCM pairs: refreshes, their SET and RESET pulses)
        self.refresh_stats = torch.zeros(3, dtype=torch.float64)

    # ------------------------------------------------------------------ reads
    def _read(self, x: torch.Tensor, matrix_product, noise: torch.Tensor) -> torch.Tensor:
        """Read of the (batched) inputs ``x`` (..., n) via ``matrix_product``; ``noise`` shaped like out."""
        cfg = self.config
        scale = None
        if cfg.noise_management:
            scale = x.abs().amax(dim=-1, keepdim=True).clamp_(min=1e-12)
        xs = x / scale if scale is not None else x
        if cfg.dac_bits is not None:
            xs = _quantise(xs, cfg.dac_bits, 1.0)
        exact = matrix_product(xs)
        y = exact + noise * cfg.read_noise if cfg.read_noise > 0 else exact
        if cfg.out_bound is not None:
            if cfg.bound_management:
                factor = torch.ones_like(y[..., :1])
                for _ in range(10):
                    over = (y.abs() >= cfg.out_bound).any(dim=-1, keepdim=True)
                    if not bool(over.any()):
                        break
                    factor = torch.where(over, factor * 2, factor)
                    y = exact / factor + noise * cfg.read_noise
                y = y.clamp(-cfg.out_bound, cfg.out_bound)
                if cfg.adc_bits is not None:
                    y = _quantise(y, cfg.adc_bits, cfg.out_bound)
                y = y * factor
            else:
                y = y.clamp(-cfg.out_bound, cfg.out_bound)
                if cfg.adc_bits is not None:
                    y = _quantise(y, cfg.adc_bits, cfg.out_bound)
        return y * scale if scale is not None else y

    def forward(self, x: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """W read with inputs ``x`` (..., n_in+1 with the bias input 1 included): (..., n_out)."""
        return self._read(x, lambda v: v @ self.w, noise)

    def backward(self, d: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """Wᵀ read with errors ``d`` (..., n_out): (..., n_in + 1)."""
        return self._read(d, lambda v: v @ self.w.t(), noise)

    def forward_sample(self, x: np.ndarray, noise: np.ndarray) -> np.ndarray:
        """:meth:`forward` of one sample, numpy in and out (the training loop's read)."""
        return self._read_sample(x, self.w, noise)

    def backward_sample(self, d: np.ndarray, noise: np.ndarray) -> np.ndarray:
        """:meth:`backward` of one sample, numpy in and out (the training loop's read)."""
        return self._read_sample(d, self.w.t(), noise)

    def _read_sample(self, x: np.ndarray, weights: torch.Tensor, noise: np.ndarray) -> np.ndarray:
        """One sample's read. Without converters (W·x/m + σz)·m = W·x + σ·m·z: one matvec (torch, whose
        result does not depend on the thread count) and one add in numpy (cheaper per call than torch for a
        few hundred numbers); with converters, or when an output reaches the bound, the full :meth:`_read`."""
        cfg = self.config
        if cfg.dac_bits is None and cfg.adc_bits is None:
            m = float(np.abs(x).max()) if cfg.noise_management else 1.0
            y = (torch.from_numpy(x) @ weights).numpy()
            if cfg.read_noise > 0:
                y += np.float32(cfg.read_noise * m) * noise
            if cfg.out_bound is None or float(np.abs(y).max()) < cfg.out_bound * m:
                return y
        return self._read(torch.from_numpy(x), lambda v: v @ weights, torch.from_numpy(noise)).numpy()

    def counts(self) -> dict[str, int]:
        """Update events so far: coincidences per polarity (up = weight increase), row / column pulses."""
        signed, total, rows, cols = (round(float(v)) for v in self.stats)
        # stats hold coincidences of x·δ; the weight steps against them
        counts = {"up": (total - signed) // 2, "down": (total + signed) // 2, "row_pulses": rows,
                  "col_pulses": cols}
        if self.model.stateful:
            refreshes, set_pulses, reset_pulses = (round(float(v)) for v in self.refresh_stats)
            counts.update(refreshes=refreshes, refresh_set_pulses=set_pulses,
                          refresh_reset_pulses=reset_pulses)
        return counts

    # ------------------------------------------------------------------ checkpoints
    def state(self) -> dict[str, Any]:
        """Everything a training step changes (weights, per-device table, event counters, the normal-number
        pool and the generator's state), as tensors: :meth:`load_state` continues bit for bit."""
        out: dict[str, Any] = {"w": self.w.clone(), "stats": self.stats.clone(),
                               "refresh_stats": self.refresh_stats.clone(), "normals": self.normals.state(),
                               "generator": self.gen.get_state()}
        table = getattr(self.dev, "table", None)  # devices without a per-device table (RRAM) keep no state
        if table is not None:
            out["dev"] = table.clone()
        if self.replicas is not None:
            out["replicas"] = self.replicas.clone()
        return out

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state` in place (a tile built with the same sizes, card and configuration)."""
        if (self.replicas is None) != ("replicas" not in state):
            raise ValueError("tile state: the devices per weight do not fit this tile's")
        _restore(self.w, state, "w")
        _restore(self.stats, state, "stats")
        _restore(self.refresh_stats, state, "refresh_stats")
        table = getattr(self.dev, "table", None)
        if (table is None) != ("dev" not in state):
            raise ValueError("tile state: the device table does not fit this tile's device model")
        if table is not None:
            _restore(table, state, "dev")
        if self.replicas is not None:
            _restore(self.replicas, state, "replicas")
        self.normals.load_state(state["normals"])
        self.gen.set_state(state["generator"])

    def update_positions(self, x: torch.Tensor, d: torch.Tensor, ux: torch.Tensor, ud: torch.Tensor,
                         lr_scale: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
        """Pulsed update towards W − η·Σ_p x_p·d_pᵀ from the update cycles of P positions in sequence (a
        convolution tile: Gokmen et al. 2017 Sec. 2.1, the coincidences of all positions of one image
        accumulate in the devices); ``x`` (P, n_in+1), ``d`` (P, n_out), uniforms ``ux`` (P, BL, n_in+1) and
        ``ud`` (P, BL, n_out).

        Each position is one update cycle of BL slots with its own pulse trains and, with update management,
        its own C_x, C_δ (from that position's max |x|, max |δ|). Positions mix the signs of x·δ, so the up
        and down coincidences of every device are counted separately, as two integer products of the pulse
        matrices of all P·BL slots (no loop over positions or pulses), and applied by the model's
        ``apply_counts``. Returns (n_up, n_down) per device (up = weight increase).
        """
        c = self.c * lr_scale ** 0.5
        ax, ad = x.abs(), d.abs()
        if self.config.update_management:
            mx, md = ax.amax(1, keepdim=True), ad.amax(1, keepdim=True)
            ratio = torch.where((mx > 0) & (md > 0), (md / mx.clamp(min=1e-30)).sqrt_(), 1.0)
            ax.mul_(ratio * c)
            ad.mul_(ratio.reciprocal_().mul_(c))
        else:
            ax.mul_(c)
            ad.mul_(c)
        bx = torch.lt(ux, ax.unsqueeze(1))
        bd = torch.lt(ud, ad.unsqueeze(1))
        # only the slots with a column pulse can hold a coincidence (most δ are 0 after max pooling)
        slots = bd.view(-1, d.shape[1]).any(1).nonzero().squeeze(1)
        px = bx.to(torch.float32).mul_(torch.sign(x).unsqueeze(1)).view(-1, x.shape[1]).index_select(0, slots)
        pd = bd.to(torch.float32).mul_(torch.sign(d).unsqueeze(1)).view(-1, d.shape[1]).index_select(0, slots)
        # coincidences of x·δ: the weight moves against them (W − η·x·δᵀ)
        same, opposite = polarity_coincidences(px, pd)
        n_up, n_down = opposite, same
        self.stats += torch.stack([(same - opposite).sum(), (same + opposite).sum(), bx.sum(), bd.sum()]
                                  ).to(torch.float64)
        if self.replicas is None:
            events = self.model.apply_counts(self.w, n_up, n_down, self.dev, self.normals)
        else:  # the N devices of a weight see the same coincidences
            shape = self.replicas.shape
            events = self.model.apply_counts(self.replicas, n_up.expand(shape), n_down.expand(shape),
                                             self.dev, self.normals)
            torch.mean(self.replicas, 0, out=self.w)
        if self.model.stateful:
            self.refresh_stats += events
        return n_up, n_down

    # ------------------------------------------------------------------ update
    def update(self, x: torch.Tensor, d: torch.Tensor, ux: torch.Tensor | np.ndarray,
               ud: torch.Tensor | np.ndarray, lr_scale: float = 1.0, x_nonneg: bool = False) -> None:
        """Pulsed update towards W − η·x·dᵀ for one sample; ``ux`` (BL, n_in+1), ``ud`` (BL, n_out) uniforms.

        ``x_nonneg`` says x ≥ 0 (sigmoid activations, pixels, the bias input), which saves the row signs.
        The pulse trains, their coincidences and the gather / scatter of the devices run in numpy on views
        of the tensors (a sample's arrays are small: numpy's per-call cost is a third of torch's). Only the
        devices with at least one coincidence are gathered and moved (a few hundred of a layer's 200,000 at
        BL = 10): the others see no step and draw no cycle-to-cycle noise.
        """
        x, d, ux, ud = _numpy(x), _numpy(d), _numpy(ux), _numpy(ud)
        c = self.c * lr_scale ** 0.5
        cx = cd = c
        ax = x if x_nonneg else np.abs(x)
        ad = np.abs(d)
        if self.config.update_management:
            mx, md = float(ax.max()), float(ad.max())
            if mx > 0 and md > 0:
                ratio = (md / mx) ** 0.5
                cx, cd = c * ratio, c / ratio
        bx = ux < ax * cx  # a Python float keeps a float32 array float32
        bd = ud < ad * cd
        stats = self._stats
        stats[2] += np.count_nonzero(bx)
        stats[3] += np.count_nonzero(bd)
        rows = bx.any(0).nonzero()[0]
        cols = bd.any(0).nonzero()[0]
        if rows.size == 0 or cols.size == 0:
            return
        px = bx[:, rows].astype(np.float32)
        if not x_nonneg:
            px *= np.sign(x[rows])
        pd = bd[:, cols].astype(np.float32)
        pd *= np.sign(d[cols])
        # coincidences of x·δ (exact small integers) of the pulsed rows × pulsed columns
        s = coincidences(px, pd).ravel()
        hit = (s != 0).nonzero()[0]  # a bool's nonzero: 10× faster than a float's
        if hit.size == 0:
            return
        s = s[hit]
        count = np.abs(s)
        stats[0] += s.sum()
        stats[1] += count.sum()
        # the devices hit, by linear index (one gather, one scatter); the weight moves against x·δ
        row, col = np.divmod(hit, cols.size)
        lin = rows[row] * self.w.shape[1] + cols[col]
        if self.replicas is not None:
            self._update_replicas(lin, s, count)
            return
        flat = self.w.numpy().reshape(-1)
        sub = flat.take(lin)
        if getattr(self.model, "constant_steps", False):  # the common case, all in numpy
            table = self.dev.table.numpy().reshape(-1, 5).take(lin, axis=0)
            self.model.constant_step(sub, s, count, table, self.normals, against=True)
            flat[lin] = sub
            return
        index = torch.from_numpy(lin)
        dev = self.dev.take(index, sub.shape)
        events = self.model.apply(torch.from_numpy(sub), torch.from_numpy(s), dev, self.normals, against=True,
                                  magnitude=torch.from_numpy(count))
        flat[lin] = sub
        if self.model.stateful:
            self.dev.put(index, dev)
            self.refresh_stats += events

    def _update_replicas(self, lin: np.ndarray, s: np.ndarray, count: np.ndarray) -> None:
        """:meth:`update`'s step with N devices per weight: the N devices of each weight hit (linear
        indices ``lin``, signed counts ``s``) take the same counts with their own parameters; then the
        weights' means."""
        n = len(self.replicas)
        devices = (lin + self.w.numel() * np.arange(n)[:, None]).ravel()  # replica-major
        s, count = np.tile(s, n), np.tile(count, n)
        flat = self.replicas.numpy().reshape(-1)
        sub = flat.take(devices)
        if self.model.constant_steps:
            table = self.dev.table.numpy().reshape(-1, 5).take(devices, axis=0)
            self.model.constant_step(sub, s, count, table, self.normals, against=True)
        else:
            self.model.apply(torch.from_numpy(sub), torch.from_numpy(s),
                             self.dev.take(torch.from_numpy(devices), sub.shape), self.normals, against=True,
                             magnitude=torch.from_numpy(count))
        flat[devices] = sub
        self.w.numpy().reshape(-1)[lin] = sub.reshape(n, -1).mean(0)


def _numpy(t: torch.Tensor | np.ndarray) -> np.ndarray:
    """A numpy view of a CPU tensor (arrays pass through)."""
    return t.numpy() if isinstance(t, torch.Tensor) else t
