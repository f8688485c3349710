"""``Crossbar(...)``: the analog-crossbar substrate spec (frozen, validated) and its ``apply``."""

from __future__ import annotations

import math
from dataclasses import dataclass

from torch import nn

from neuroemu.cards import Card
from neuroemu.crossbar.layers import CrossbarLayer, CrossbarState
from neuroemu.crossbar.model import crossbar_layers, install
from neuroemu.devices import device_model

__all__ = ["BINARY_CELL_SLICING", "Crossbar", "default_slicing"]

#: float layers on a two-level (binary) cell: each weight magnitude as 8 bits over eight one-bit cells
BINARY_CELL_SLICING = (8, 1)


def default_slicing(device: str | Card) -> tuple[int, int] | None:
    """The slicing the commands use when none is given: :data:`BINARY_CELL_SLICING` on a binary device."""
    return BINARY_CELL_SLICING if device_model(device).levels == 2 else None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True, kw_only=True)
class Crossbar:
    """Emulate every ``nn.Linear`` / ``nn.Conv2d`` on analog crossbar arrays of a device card.

    - ``device``: device card name, path or card object (``"ideal"``, ``"pcm-joshi2020"``, ...).
    - ``array``: (rows, columns) of one array; larger layers are tiled (``None``: one array per layer).
    - ``dac_bits`` / ``adc_bits``: converter resolutions, 1..24 (``None``: exact, no converter).
    - ``dac_range``: ``"calibrated"`` (per layer, largest |input| on calibration images) or the full scale
      in input units (> 0) shared by every layer; ``dac_signed``: force a signed (two's-complement) or
      unsigned DAC; ``None`` decides from calibration (signed for a fixed range).
    - ``adc_range``: ``"calibrated"`` (per array, largest |partial sum| on calibration images) or the full
      scale in units of g_max − g_min times a full-scale input (> 0): the current of that many fully-on
      devices at full-scale input (aihwkit's ``out_bound`` convention).
    - ``mapping``: ``"differential"`` (G⁺ − G⁻ pairs) or ``"reference"`` (single-ended + reference column).
    - ``scaling``: ``"column"`` (per output column) or ``"layer"`` weight-to-conductance scale.
    - ``weight_clip``: clip weights beyond this many standard deviations (> 0, warns with a count).
    - ``slicing``: (cells k ≥ 1, bits per cell b ≥ 1), b·k ≤ 24: each weight magnitude as a b·k-bit number
      split over k cells (differential mapping only). Needed for float layers on a two-level device.
    - Quantised layers (``LeNet5(quant=...)``, :mod:`neuroemu.lowbit`) are mapped with the weights they
      compute with: binary / ternary codes in one two-state cell per side of a differential pair (no
      slicing), k-bit DoReFa codes exactly over the cells they need (b bits each), the quantiser's scale
      (XNOR-Net α_c, TWN α) in the digital column scale; ``scaling`` and ``weight_clip`` do not apply to
      them (see :mod:`neuroemu.crossbar.lowbit`).
    - ``input_mode``: ``"dac"`` (each input applied once through a ``dac_bits`` DAC) or ``"bit_serial"``
      (the ``dac_bits``-bit input code applied one bit plane per cycle, each cycle's column currents
      converted by the ADC, recombined by shift-and-add; signed inputs in two's complement).
    - ``adc_noise``: Gaussian noise at each ADC input, σ in LSB (≥ 0; 0 = noise-free), drawn per conversion
      from a counter-based stream indexed by the image's position since the last ``set_time`` — the same
      numbers whatever the batch size.
    - ``trials``: independent chip instances programmed at once (≥ 1); ``seed``: their random seed.
    - ``time``: seconds after programming at which devices are read (≥ 0); ``drift_compensation``: apply
      global drift compensation (Joshi et al. 2020).
    """

    device: str | Card = "ideal"
    array: tuple[int, int] | None = None
    dac_bits: int | None = None
    adc_bits: int | None = None
    dac_range: float | str = "calibrated"
    dac_signed: bool | None = None
    adc_range: float | str = "calibrated"
    mapping: str = "differential"
    scaling: str = "column"
    weight_clip: float | None = None
    slicing: tuple[int, int] | None = None
    input_mode: str = "dac"
    adc_noise: float = 0.0
    trials: int = 1
    seed: int = 0
    time: float = 0.0
    drift_compensation: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.device, str | Card) or (isinstance(self.device, str) and not self.device):
            raise ValueError(f"device must be a device card name, path or Card, got {self.device!r}")
        if self.array is not None and (not isinstance(self.array, tuple) or len(self.array) != 2
                                       or not all(_is_int(v) and v >= 1 for v in self.array)):
            raise ValueError(f"array must be None or (rows, columns), integers >= 1, got {self.array!r}")
        for name in ("dac_bits", "adc_bits"):
            value = getattr(self, name)
            if value is not None and not (_is_int(value) and 1 <= value <= 24):
                raise ValueError(f"{name} must be None or an integer in 1..24, got {value!r}")
        for name in ("dac_range", "adc_range"):
            value = getattr(self, name)
            if value != "calibrated" and not (_is_number(value) and value > 0):
                raise ValueError(f"{name} must be 'calibrated' or a finite number > 0, got {value!r}")
        if self.dac_signed is not None and not isinstance(self.dac_signed, bool):
            raise ValueError(f"dac_signed must be None, True or False, got {self.dac_signed!r}")
        if self.mapping not in ("differential", "reference"):
            raise ValueError(f"mapping must be 'differential' or 'reference', got {self.mapping!r}")
        if self.scaling not in ("column", "layer"):
            raise ValueError(f"scaling must be 'column' or 'layer', got {self.scaling!r}")
        if self.weight_clip is not None and not (_is_number(self.weight_clip) and self.weight_clip > 0):
            raise ValueError(f"weight_clip must be None or a finite number > 0, got {self.weight_clip!r}")
        if self.slicing is not None:
            ok = (isinstance(self.slicing, tuple) and len(self.slicing) == 2
                  and all(_is_int(v) and v >= 1 for v in self.slicing)
                  and self.slicing[0] * self.slicing[1] <= 24)
            if not ok:
                raise ValueError(f"slicing must be None or (cells >= 1, bits >= 1) with cells*bits <= 24, "
                                 f"got {self.slicing!r}")
            if self.mapping != "differential":
                raise ValueError("slicing needs mapping='differential'")
        if self.input_mode not in ("dac", "bit_serial"):
            raise ValueError(f"input_mode must be 'dac' or 'bit_serial', got {self.input_mode!r}")
        if self.input_mode == "bit_serial" and self.dac_bits is None:
            raise ValueError("input_mode='bit_serial' needs dac_bits (the number of input bit planes)")
        if not (_is_number(self.adc_noise) and self.adc_noise >= 0):
            raise ValueError(f"adc_noise must be a finite number of LSB >= 0, got {self.adc_noise!r}")
        if self.adc_noise > 0 and self.adc_bits is None:
            raise ValueError("adc_noise needs adc_bits (the noise is in units of the ADC's LSB)")
        if not (_is_int(self.trials) and self.trials >= 1):
            raise ValueError(f"trials must be an integer >= 1, got {self.trials!r}")
        if not _is_int(self.seed):
            raise ValueError(f"seed must be an integer, got {self.seed!r}")
        if not (_is_number(self.time) and self.time >= 0):
            raise ValueError(f"time must be a finite number of seconds >= 0, got {self.time!r}")
        if not isinstance(self.drift_compensation, bool):
            raise ValueError(f"drift_compensation must be True or False, got {self.drift_compensation!r}")

    def apply(self, model: nn.Module) -> nn.Module:
        """Swap every ``nn.Linear`` / ``nn.Conv2d`` of ``model`` (in place) for a programmed CrossbarLayer."""
        device = device_model(self.device)
        levels = device.levels
        if self.slicing is not None and levels is not None and 2 ** self.slicing[1] > levels:
            raise ValueError(f"slicing stores {self.slicing[1]} bits per cell but device "
                             f"{device.card.name!r} has only {levels} levels")
        if isinstance(model, nn.Linear | nn.Conv2d):  # a bare layer: give it a parent to be replaced in
            model = nn.Sequential(model)
        state = CrossbarState(trials=self.trials, seed=self.seed, time=float(self.time),
                              drift_compensation=self.drift_compensation)
        targets = [(name, m) for name, m in model.named_modules() if isinstance(m, nn.Linear | nn.Conv2d)]
        if not targets:
            raise ValueError("model has no nn.Linear or nn.Conv2d layer to map onto a crossbar")
        for name, module in targets:
            layer = CrossbarLayer(module, name, device=device, state=state, array=self.array,
                                  dac_bits=self.dac_bits, adc_bits=self.adc_bits, dac_range=self.dac_range,
                                  dac_signed=self.dac_signed, adc_range=self.adc_range, mapping=self.mapping,
                                  scaling=self.scaling, weight_clip=self.weight_clip, slicing=self.slicing,
                                  input_mode=self.input_mode, adc_noise=self.adc_noise)
            parent_name, _, child = name.rpartition(".")
            parent = model.get_submodule(parent_name) if parent_name else model
            setattr(parent, child, layer)
        install(model, state)
        for layer in crossbar_layers(model):
            layer.program()
        return model
