"""The ideal device: reads back exactly what was programmed, at any time (for validation)."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from neuroemu.devices.base import DeviceModel, Programmed, check_time

__all__ = ["IdealModel"]


class IdealModel(DeviceModel):
    """Noise-free, drift-free, unlimited levels: an emulated layer on it reproduces the float layer."""

    KIND = "ideal_device"
    STOCHASTIC = False

    def program(self, g_target: torch.Tensor, generators: Sequence[torch.Generator]) -> Programmed:
        self.check_targets(g_target)
        return {"g": g_target.unsqueeze(0).expand(len(generators), *g_target.shape)}

    def read(self, state: Programmed, t: float, generators: Sequence[torch.Generator] | None) -> torch.Tensor:
        check_time(t)
        return state["g"]
