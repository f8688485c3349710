"""Tiki-Taka (Gokmen & Haensch, "Algorithm for training neural networks on resistive device arrays",
Front. Neurosci. 14:103, 2020, Algorithm 1): two arrays A (fast) and C (slow) with W = γ·A + C.

The gradient pulses go to A only; every ``transfer_every`` samples one row of A (one input line; the paper
reads a column of its transposed layout) is read with the forward periphery (input e_k, read noise
included) and written onto the same row of C by a pulsed update with learning rate ``transfer_lr``, so C
accumulates A's low-pass filtered content: C_k ← C_k + η_t·read(A_k). A relaxes towards its symmetry point
on its own, which makes the scheme tolerant of asymmetric / soft-bounds devices.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from neuroemu.rpu.tile import AnalogTile

__all__ = ["TikiTakaTile"]


class TikiTakaTile:
    """A pair of :class:`AnalogTile` (A fast, C slow) read as γ·A + C."""

    def __init__(self, fast: AnalogTile, slow: AnalogTile, *, gamma: float = 0.1, transfer_every: int = 1,
                 transfer_lr: float = 0.01, generator: torch.Generator) -> None:
        if gamma < 0 or transfer_every < 1 or transfer_lr <= 0:
            raise ValueError(f"gamma ({gamma}) must be >= 0, transfer_every ({transfer_every}) >= 1 and "
                             f"transfer_lr ({transfer_lr}) > 0")
        self.a, self.c_tile = fast, slow
        self.gamma, self.every, self.transfer_lr = gamma, transfer_every, transfer_lr
        self.gen = generator
        self.samples = 0
        self.next_row = 0

    @property
    def w(self) -> torch.Tensor:
        """The effective weights γ·A + C."""
        return self.a.w * self.gamma + self.c_tile.w

    def forward(self, x: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        return self.a.forward(x, noise) * self.gamma + self.c_tile.forward(x, noise.flip(-1))

    def backward(self, d: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        return self.a.backward(d, noise) * self.gamma + self.c_tile.backward(d, noise.flip(-1))

    def forward_sample(self, x: np.ndarray, noise: np.ndarray) -> np.ndarray:
        flipped = noise[::-1].copy()
        return self.a.forward_sample(x, noise) * self.gamma + self.c_tile.forward_sample(x, flipped)

    def backward_sample(self, d: np.ndarray, noise: np.ndarray) -> np.ndarray:
        flipped = noise[::-1].copy()
        return self.a.backward_sample(d, noise) * self.gamma + self.c_tile.backward_sample(d, flipped)

    def update(self, x: torch.Tensor, d: torch.Tensor, ux: torch.Tensor, ud: torch.Tensor,
               x_nonneg: bool = False) -> None:
        self.a.update(x, d, ux, ud, x_nonneg=x_nonneg)
        self.samples += 1
        if self.samples % self.every == 0:
            self.transfer()

    def transfer(self) -> None:
        """Read row k of A (input e_k through the forward periphery) and pulse it onto row k of C."""
        n_rows, n_out = self.a.w.shape
        k = self.next_row
        self.next_row = (k + 1) % n_rows
        e = torch.zeros(n_rows)
        e[k] = 1.0
        read = self.a.forward(e, torch.randn(n_out, generator=self.gen))
        bl = self.c_tile.config.bl
        ux = torch.rand(bl, n_rows, generator=self.gen)
        ud = torch.rand(bl, n_out, generator=self.gen)
        # C - η·e·(-read)ᵀ = C + η·e·readᵀ, with η = transfer_lr (the slow array's rate)
        self.c_tile.update(e, -read, ux, ud, lr_scale=self.transfer_lr / self.c_tile.config.lr)

    def state(self) -> dict[str, Any]:
        """Both arrays' states, the transfer counters and the transfer generator's state."""
        return {"a": self.a.state(), "c": self.c_tile.state(), "samples": self.samples,
                "next_row": self.next_row, "generator": self.gen.get_state()}

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state` in place."""
        self.a.load_state(state["a"])
        self.c_tile.load_state(state["c"])
        self.samples, self.next_row = int(state["samples"]), int(state["next_row"])
        self.gen.set_state(state["generator"])
