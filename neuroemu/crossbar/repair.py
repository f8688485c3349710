"""Fault-tolerant mapping: repair a programmed layer from the fault map read after programming.

After programming, a post-programming test reads every cell (a model of the march-test read of Chen et al.,
IEEE Trans. Comput. 64(1), 2015): the chip then knows which cells are stuck (at g_max: stuck-at-ON, at
g_min: stuck-at-OFF) and what every cell holds. Two repairs use that map, per chip instance (trial):

- ``spare-columns=N``: each layer has N spare columns beside its arrays, programmed with the targets of the
  columns they may replace; the N columns with the most stuck cells (both cells of every pair, every
  slice) are remapped to a spare, when the spare holds fewer stuck cells than the column (spares are
  drawn with the same device and fault statistics as every cell). Redundant columns for defective memristor
  crossbars follow C. Liu et al., "Rescuing memristor-based neuromorphic design with high defects", DAC 2017
  (which also retrains the network around the faults; not done here). In the emulation every spare is
  drawn as an independent device instance of the column it would replace (same draws whatever is chosen).
  Cost: the spare columns' cells are read on every MVM (``cell_read`` events count them) and converted
  (N more ``adc_conversion`` events per MVM and row tile, an upper bound: a design that gates the replaced
  columns' converters saves these); the floorplan adds N columns (ADC share, sample-and-holds) per array.
- ``finetune``: the working partner of every stuck-at-ON cell of a differential pair is re-programmed so
  that the pair again holds its target difference where the conductance range allows (G⁻ = g_max − d beside
  a G⁺ stuck ON, for d ≥ 0; G⁺ = g_max + d beside a G⁻ stuck ON, for d ≤ 0), then the digital scale of every
  output column is re-fitted to the conductances read after
  programming: c_j = <w_j, ŵ_j> / <ŵ_j, ŵ_j>, w_j the column's target weights and ŵ_j what it holds (faults
  and programming error included), the least-squares factor for inputs of equal power. It costs nothing per
  inference (the column scale is multiplied anyway). Fault-aware re-tuning after a post-programming test
  follows L. Xia et al., "Fault-tolerant training with on-line fault detection for RRAM-based neural
  computing systems", DAC 2017, which retrains the remaining weights instead; this is a closed-form,
  per-chip version (no retraining). The re-programming is one-time programming work (not priced here).

``spare-columns=N,finetune`` does both (the fit sees the remapped columns).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from neuroemu.crossbar.cells import Cells
from neuroemu.devices import StuckAtFaults
from neuroemu.devices.faults import ON

__all__ = ["RepairPlan", "RepairedCells", "parse_repair", "reprogram_partners"]

MAX_SPARES = 4096


@dataclass(frozen=True)
class RepairPlan:
    """What to repair: ``spares`` spare columns per layer, and whether to re-fit the column scales."""

    spares: int = 0
    finetune: bool = False


def parse_repair(text: str) -> RepairPlan:
    """``"spare-columns=N"``, ``"finetune"`` or both comma-separated; ``ValueError`` naming the form."""
    spares, finetune = 0, False
    form = "spare-columns=N (N >= 1), finetune, or both comma-separated"
    parts = [p.strip() for p in str(text).split(",") if p.strip()]
    if not parts:
        raise ValueError(f"repair must be {form}, got {text!r}")
    for part in parts:
        if part == "finetune" and not finetune:
            finetune = True
        elif part.startswith("spare-columns=") and not spares:
            value = part.removeprefix("spare-columns=")
            if not value.isdigit() or not 1 <= int(value) <= MAX_SPARES:
                raise ValueError(f"repair: spare-columns needs an integer in 1..{MAX_SPARES}, got {value!r}")
            spares = int(value)
        else:
            raise ValueError(f"repair must be {form}, got {text!r}")
    return RepairPlan(spares=spares, finetune=finetune)


class RepairedCells(Cells):
    """The cells of one layer with spare columns and/or re-fitted column scales (see the module)."""

    def __init__(self, base: Cells, plan: RepairPlan, spare_faults: StuckAtFaults | None = None) -> None:
        super().__init__(base.device, base.mapped, name=base.name, trials=base.trials, seed=base.seed,
                         reference_tiles=base.reference_tiles, faults=base.faults)
        out = base.mapped.g_plus.shape[1]
        if plan.spares and base.mapped.g_minus.shape[1] != out:
            raise ValueError(f"{base.name}: spare columns need differential pairs (mapping='differential')")
        self.plan = plan
        self.spare_columns = min(plan.spares, out)
        self.spare = (Cells(base.device, base.mapped, name=f"{base.name}/spare", trials=base.trials,
                            seed=base.seed, faults=spare_faults if spare_faults is not None else base.faults)
                      if self.spare_columns else None)
        self.remapped: torch.Tensor | None = None  #: (T, out) bool: columns read from their spare
        self._factors: torch.Tensor | None = None  #: (T, 1, out) re-fitted column scales

    @property
    def devices(self) -> int:
        """Physical devices: the layer's cells plus both cells of every slice of the spare columns."""
        g_plus = self.mapped.g_plus
        return super().devices + 2 * self.spare_columns * g_plus.shape[0] * g_plus.shape[2]

    def _base_devices(self) -> int:
        return self.mapped.g_plus.numel() + self.reference_tiles * self.mapped.g_minus.numel()

    def mean_conductance(self, g_plus: torch.Tensor, g_minus: torch.Tensor) -> float:
        """Ḡ over the cells read (the remapped columns' values stand for their spares')."""
        trials = g_plus.shape[0]
        total = float(g_plus.double().sum()) + self.reference_tiles * float(g_minus.double().sum())
        return total / (trials * self._base_devices())

    def mean_target_conductance(self) -> float:
        g_plus, g_minus = self.mapped.g_plus, self.mapped.g_minus
        total = float(g_plus.double().sum()) + self.reference_tiles * float(g_minus.double().sum())
        return total / self._base_devices()

    def program(self) -> None:
        """Program the cells (the same draws as without repair) and the spares; choose the remapping and
        fit the column scales from the post-programming read."""
        super().program()
        self.remapped, self._factors = None, None
        if self.plan.finetune:
            reprogram_partners(self)
        if self.spare is not None:
            self.spare.program()
            if self.plan.finetune:
                reprogram_partners(self.spare)
            shape = (self.trials, self.mapped.g_plus.shape[1])
            benefit = faulty_per_column(self.stuck, shape) - faulty_per_column(self.spare.stuck, shape)
            top = torch.topk(benefit, self.spare_columns, dim=1)
            chosen = torch.zeros_like(benefit, dtype=torch.bool)
            chosen.scatter_(1, top.indices, top.values > 0)
            self.remapped = chosen
        if self.plan.finetune:
            self._factors = self._fit_scales()

    def _read(self, t: float, *, noisy: bool) -> tuple[torch.Tensor, torch.Tensor]:
        g_plus, g_minus = super()._read(t, noisy=noisy)
        if self.spare is None or self.remapped is None:
            return g_plus, g_minus
        s_plus, s_minus = self.spare._read(t, noisy=noisy)
        mask = self.remapped[:, None, :, None]
        return torch.where(mask, s_plus, g_plus), torch.where(mask, s_minus, g_minus)

    def column_factors(self) -> torch.Tensor | None:
        """(T, 1, out) digital factors of the re-fitted column scales (``None`` without ``finetune``)."""
        return self._factors

    def _fit_scales(self) -> torch.Tensor:
        g_plus, g_minus = self.read_expected(0.0)  # the post-programming read: faults and programming error
        factor = self.mapped.slice_factor.view(1, -1, 1, 1)
        held = ((g_plus - g_minus).double() * factor).sum(1)  # (T, out, in) in siemens, slices combined
        target = ((self.mapped.g_plus - self.mapped.g_minus) * factor[0]).sum(0).double()  # (out, in)
        num = (held * target).sum(-1)
        den = (held * held).sum(-1)
        c = torch.where(den > 0, num / den.clamp(min=1e-300), torch.ones_like(num))
        return c.float().unsqueeze(1)


def faulty_per_column(stuck: tuple[torch.Tensor | None, torch.Tensor | None],
                      shape: tuple[int, int]) -> torch.Tensor:
    """(T, out) = ``shape``: stuck cells per output column over both cells of every pair and every slice
    (fault codes (T, S, out, in) or ``None``: no stuck cell)."""
    total = torch.zeros(shape, dtype=torch.int64)
    for codes in stuck:
        if codes is not None and codes.shape[2] == shape[1]:
            total += (codes != 0).sum(dim=(1, 3))
    return total


def reprogram_partners(cells: Cells) -> None:
    """Re-program the working partner of every stuck-at-ON cell of a differential pair so that the
    pair's difference G⁺ − G⁻ is the target again where the range allows: G⁻ = g_max − d when G⁺ is stuck
    ON (d = target difference ≥ 0), G⁺ = g_max + d when G⁻ is (d ≤ 0); clipped to [g_min, g_max]. A
    stuck-at-OFF cell needs nothing: the mapping already puts g_min on one side. Fresh programming draws
    (their own stream), one trial at a time (targets differ per chip)."""
    mapped = cells.mapped
    if mapped.g_minus.shape != mapped.g_plus.shape or cells.states is None:
        return  # reference columns: no partner cell
    plus_code, minus_code = cells.stuck
    if plus_code is None or minus_code is None:
        return
    g_min, g_max = cells.device.g_min, cells.device.g_max
    d = (mapped.g_plus - mapped.g_minus).float()
    new_minus = (g_max - d).clamp(g_min, g_max)
    new_plus = (g_max + d).clamp(g_min, g_max)
    states = list(cells.states)
    for k, (code, partner, target) in enumerate(((plus_code, minus_code, new_plus),
                                                 (minus_code, plus_code, new_minus))):
        # side k is re-programmed where the other side is stuck ON and side k works
        mask = (partner == ON) & (code == 0)
        if not bool(mask.any()):
            continue
        generators = cells._generators(f"refit-{('plus', 'minus')[k]}")
        fresh = [cells.device.program(target, [g]) for g in generators]
        new = {key: torch.cat([f[key] for f in fresh]) for key in fresh[0]}
        states[k] = {key: torch.where(mask, new[key], value) for key, value in states[k].items()}
    cells.states = (states[0], states[1])
