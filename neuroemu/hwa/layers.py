"""Hardware-aware training layers: a Linear / Conv2d whose forward pass runs as a noisy crossbar would.

Recipe (after V. Joshi et al., "Accurate deep neural network inference using computational phase-change
memory", Nat. Commun. 11, 2473 (2020), and M. J. Rasch et al., "Hardware-aware training for large-scale and
diverse deep learning inference workloads using in-memory computing-based accelerators", Nat. Commun. 14,
5282 (2023)): in every training forward pass

1. the layer input is quantised as an unsigned (inputs ≥ 0) or signed ``dac_bits`` DAC would, full scale the
   batch's largest |input| (the crossbar calibrates this range on training images);
2. the weight is mapped to conductances (per-column scale, clipping at ±w_max) and one chip instance is
   programmed and read at ``time`` from the device card, fresh for every batch (:class:`WeightNoise`);
3. the column outputs (before the digital bias) are quantised as a signed ``adc_bits`` ADC, full scale the
   batch's largest |output|;
4. the backward pass is straight-through: gradients flow as if steps 1–3 were the identity.

Where this differs from the papers: Joshi et al. inject additive Gaussian weight noise of a fixed relative
size during training and Rasch et al. use aihwkit's generic noise / clipping / bound settings tuned per
network; here the noise is the card's own statistical model (programming and read noise, and for PCM the
drift and global drift compensation error expected at ``time``), scaled by ``noise_scale``; converter
ranges are the batch maxima, per layer rather than per array; no output noise, no knowledge distillation.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from neuroemu.devices import device_model
from neuroemu.hwa.noise import WeightNoise

__all__ = ["HwaConfig", "HwaLayer", "hwa_unwrap", "hwa_wrap", "quantize_ste"]


@dataclass(frozen=True)
class HwaConfig:
    """What hardware-aware training emulates; ``device`` a card name or path."""

    device: str
    noise_scale: float = 1.0
    time: float = 0.0
    drift_compensation: bool = True
    dac_bits: int | None = 8
    adc_bits: int | None = 8
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.noise_scale >= 0:
            raise ValueError(f"hwa noise_scale must be >= 0, got {self.noise_scale}")
        if not 0 <= self.time < float("inf"):
            raise ValueError(f"hwa time must be a finite number of seconds >= 0, got {self.time}")
        for name in ("dac_bits", "adc_bits"):
            bits = getattr(self, name)
            if bits is not None and not 1 <= bits <= 24:
                raise ValueError(f"hwa {name} must be in 1..24 or None, got {bits}")


def quantize_ste(x: torch.Tensor, bits: int | None) -> torch.Tensor:
    """``x`` quantised to ``bits`` (unsigned if x ≥ 0, else signed), full scale max |x| of the batch;
    gradient straight through."""
    if bits is None:
        return x
    full = x.detach().abs().max()
    if not full > 0:
        return x
    signed = bool((x.detach() < 0).any())
    steps = 2 ** (bits - 1) - 1 if signed else 2**bits - 1
    if steps < 1:  # a 1-bit signed converter: sign only
        q = torch.sign(x.detach()) * full
    else:
        lsb = full / steps
        q = torch.round(x.detach() / lsb).clamp(-steps if signed else 0, steps) * lsb
    return x + (q - x).detach()


class HwaLayer(nn.Module):
    """Wraps a ``nn.Linear`` / ``nn.Conv2d`` (its parameters are trained); noisy only in training mode."""

    def __init__(self, module: nn.Linear | nn.Conv2d, noise: WeightNoise, config: HwaConfig,
                 generator: torch.Generator) -> None:
        super().__init__()
        if not isinstance(module, nn.Linear | nn.Conv2d):
            raise TypeError(f"HwaLayer wraps nn.Linear or nn.Conv2d, got {type(module).__name__}")
        self.inner, self.noise, self.config, self.generator = module, noise, config, generator

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = self.inner
        if not self.training:
            return m(x)
        x = quantize_ste(x, self.config.dac_bits)
        w = m.weight + self.noise.delta(m.weight, self.generator)  # straight through: ΔW has no gradient
        if isinstance(m, nn.Linear):
            y = F.linear(x, w)
        else:
            y = F.conv2d(x, w, None, m.stride, m.padding, m.dilation, m.groups)
        y = quantize_ste(y, self.config.adc_bits)
        if m.bias is not None:
            y = y + (m.bias if isinstance(m, nn.Linear) else m.bias.view(1, -1, 1, 1))
        return y


def hwa_wrap(model: nn.Module, config: HwaConfig) -> nn.Module:
    """Replace every Linear / Conv2d of ``model`` (in place) by an :class:`HwaLayer`; one generator from
    ``config.seed`` feeds every layer's noise, drawn in forward order (reproducible)."""
    device = device_model(config.device)
    noise = WeightNoise(device, time=config.time, drift_compensation=config.drift_compensation,
                        scale=config.noise_scale)
    generator = torch.Generator().manual_seed(config.seed)
    targets = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Linear | nn.Conv2d)]
    if not targets:
        raise ValueError("model has no nn.Linear or nn.Conv2d layer for hardware-aware training")
    for name, module in targets:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, HwaLayer(module, noise, config, generator))
    return model


def hwa_unwrap(model: nn.Module) -> nn.Module:
    """Put the plain layers back (in place): the trained network, as a checkpoint stores it."""
    for name, module in list(model.named_modules()):
        if isinstance(module, HwaLayer):
            parent_name, _, child = name.rpartition(".")
            parent = model.get_submodule(parent_name) if parent_name else model
            setattr(parent, child, module.inner)
    return model
