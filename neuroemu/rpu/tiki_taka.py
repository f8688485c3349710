"""Tiki-Taka (Gokmen & Haensch, "Algorithm for training neural networks on resistive device arrays",
Front. Neurosci. 14:103, 2020, Algorithm 1): two arrays A (fast) and C (slow) with W = γ·A + C.

The gradient pulses go to A only; every ``transfer_every`` samples one row of A (one input line; the paper
reads a column of its transposed layout, aihwkit's ``transfer_columns``) is read with the forward periphery
(input e_k, read noise included) and written onto the same row of C by a pulsed update with learning rate
``transfer_lr``, so C accumulates A's low-pass filtered content: C_k ← C_k + η_t·read(A_k); the rows are
taken in turn and wrap around. A relaxes towards its devices' symmetry point on its own (the implicit decay
that replaces momentum's), which makes the scheme tolerant of asymmetric / soft-bounds devices.

The algorithm needs that relaxation to pull A towards *zero*: the paper reads A against a reference device
set to each A device's symmetry point. ``a_reference`` holds those points: A starts at them and every read
of A (forward, backward, transfer) subtracts them, as a differential read against the reference array
would. Without it A is read against 0, and an asymmetric device's symmetry point off 0 is transferred onto C
at every visit as if it were a gradient. C's devices relax towards their own symmetry points under the
transfer pulses; ``c_reference`` reads C against them likewise (C is programmed to W₀ + reference), so that
relaxation is a decay towards 0 rather than a common offset of every weight. aihwkit's Tiki-Taka presets
set both references (``subtract_symmetry_point`` of each array's reference devices).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import torch

from neuroemu.rpu.tile import AnalogTile

__all__ = ["TikiTakaTile"]

Read = TypeVar("Read", torch.Tensor, np.ndarray)


def _minus(w: torch.Tensor, reference: torch.Tensor | None) -> torch.Tensor:
    return w if reference is None else w - reference


class TikiTakaTile:
    """A pair of :class:`AnalogTile` (A fast, C slow) read as γ·(A − a_reference) + (C − c_reference).

    ``fast_lr``: the learning rate of the gradient pulses onto A (default: A's tile ``lr``, the SGD rate);
    ``init``: the initial weights (unclipped) that C is programmed to above ``c_reference``; without it C
    keeps the weights it was built with, shifted by the reference.
    """

    def __init__(self, fast: AnalogTile, slow: AnalogTile, *, gamma: float = 0.1, transfer_every: int = 1,
                 transfer_lr: float = 0.01, generator: torch.Generator,
                 a_reference: torch.Tensor | None = None, c_reference: torch.Tensor | None = None,
                 init: torch.Tensor | None = None, fast_lr: float | None = None) -> None:
        if gamma < 0 or transfer_every < 1 or transfer_lr <= 0 or (fast_lr is not None and fast_lr <= 0):
            raise ValueError(f"gamma ({gamma}) must be >= 0, transfer_every ({transfer_every}) >= 1, "
                             f"transfer_lr ({transfer_lr}) and fast_lr ({fast_lr}) > 0")
        for name, ref in (("a_reference", a_reference), ("c_reference", c_reference)):
            if ref is not None and ref.shape != fast.w.shape:
                raise ValueError(f"{name} must have the arrays' shape {tuple(fast.w.shape)}, got "
                                 f"{tuple(ref.shape)}")
        self.a, self.c_tile = fast, slow
        self.gamma, self.every, self.transfer_lr = gamma, transfer_every, transfer_lr
        self.fast_scale = 1.0 if fast_lr is None else fast_lr / fast.config.lr
        self.gen = generator
        self.samples = 0
        self.next_row = 0
        self.a_ref, self.c_ref = a_reference, c_reference
        if a_reference is not None:  # A starts at its reference: zero
            fast.w.copy_(a_reference)
            fast.model.program(fast.w, fast.dev)
        if c_reference is not None:  # C holds its initial weights (``init``, else its own) above it
            torch.add(slow.w if init is None else init, c_reference, out=slow.w)
            slow.model.program(slow.w, slow.dev)

    @property
    def w(self) -> torch.Tensor:
        """The effective weights γ·(A − a_reference) + (C − c_reference)."""
        return _minus(self.a.w, self.a_ref) * self.gamma + _minus(self.c_tile.w, self.c_ref)

    def _pair_read(self, read_a: Callable[[], Read], read_c: Callable[[], Read],
                   exact: Callable[[torch.Tensor], Read]) -> Read:
        """γ·(A read − A reference) + (C read − C reference): ``read_a`` / ``read_c`` read the arrays through
        the periphery, ``exact(reference)`` reads a reference array exactly; A is not read when γ = 0."""
        y = read_c()
        if self.c_ref is not None:
            y = y - exact(self.c_ref)
        if self.gamma == 0:
            return y
        a = read_a()
        if self.a_ref is not None:
            a = a - exact(self.a_ref)
        return a * self.gamma + y  # the order of the sum as before the references: same bits

    def forward(self, x: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        return self._pair_read(lambda: self.a.forward(x, noise),
                               lambda: self.c_tile.forward(x, noise.flip(-1)), lambda ref: x @ ref)

    def backward(self, d: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        return self._pair_read(lambda: self.a.backward(d, noise),
                               lambda: self.c_tile.backward(d, noise.flip(-1)), lambda ref: d @ ref.t())

    def forward_sample(self, x: np.ndarray, noise: np.ndarray) -> np.ndarray:
        """:meth:`forward` of one sample, numpy in and out."""
        return self._pair_read(lambda: self.a.forward_sample(x, noise),
                               lambda: self.c_tile.forward_sample(x, noise[::-1].copy()),
                               lambda ref: (torch.from_numpy(x) @ ref).numpy())

    def backward_sample(self, d: np.ndarray, noise: np.ndarray) -> np.ndarray:
        """:meth:`backward` of one sample, numpy in and out."""
        return self._pair_read(lambda: self.a.backward_sample(d, noise),
                               lambda: self.c_tile.backward_sample(d, noise[::-1].copy()),
                               lambda ref: (torch.from_numpy(d) @ ref.t()).numpy())

    def update(self, x: torch.Tensor, d: torch.Tensor, ux: torch.Tensor, ud: torch.Tensor,
               x_nonneg: bool = False) -> None:
        self.a.update(x, d, ux, ud, lr_scale=self.fast_scale, x_nonneg=x_nonneg)
        self.samples += 1
        if self.samples % self.every == 0:
            self.transfer()

    def transfer(self) -> None:
        """Read row k of A (input e_k through the forward periphery, minus its reference) and pulse it onto
        row k of C."""
        n_rows, n_out = self.a.w.shape
        k = self.next_row
        self.next_row = (k + 1) % n_rows
        e = torch.zeros(n_rows)
        e[k] = 1.0
        read = self.a.forward(e, torch.randn(n_out, generator=self.gen))
        if self.a_ref is not None:
            read = read - self.a_ref[k]
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
