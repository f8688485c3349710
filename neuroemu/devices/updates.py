"""Pulsed-update device models for in-memory training (RPU): how a device's weight moves per coincidence.

:class:`PulsedUpdateModel` reads an ``rpu_device`` card and follows Gokmen & Vlasov, Front. Neurosci. 10:333
(2016), Sec. "Device specifications": each coincidence of an up (down) pulse pair moves weight w_ij by
Δw_up,ij = Δw_min,ij·(1 + a_ij) (down: Δw_min,ij·(1 − a_ij)), with Δw_min,ij drawn once per device with a
relative device-to-device σ (``dw_min_dtod``), the asymmetry a_ij = up_down + up_down_dtod·z, the bounds
w_max,ij, w_min,ij with relative spread ``w_bound_dtod``, and cycle-to-cycle noise: each step is scaled by
(1 + dw_min_std·z) with a fresh z, so n steps add n·Δw ± dw_min_std·Δw·sqrt(n) (the sum of n such steps).
The weight is clipped to its bounds after every update (the hard bounds of the paper).

With ``soft_bounds`` the step shrinks linearly to zero at the bound, Δw_up = Δw_up,0·(1 − w/w_max) and
Δw_down = Δw_down,0·(1 − w/w_min) (aihwkit's SoftBoundsDevice model, Gokmen & Haensch 2020 Sec. 2); n
successive up steps then have the closed form w_max − (w_max − w)(1 − Δw_up,0/w_max)^n, applied exactly.

Updates take a *signed coincidence count* s_ij (positive: up steps, negative: down steps): at batch size 1
the sign of x_i·δ_j is the same for all of a device's coincidences, so s_ij carries all there is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from neuroemu.cards.rpu_devices import RpuDevice

__all__ = ["DeviceArray", "NormalStream", "PulsedUpdateModel"]


@dataclass
class DeviceArray:
    """Per-device parameters of one array, drawn once (device-to-device variation), interleaved in
    ``table`` (rows, cols, 5) so that gathering a set of devices is one contiguous gather: ``mid`` =
    (Δw_up + Δw_down)/2 and ``half`` = (Δw_up − Δw_down)/2, so a signed count s moves w by s·mid + |s|·half;
    ``lo`` / ``hi`` are the bounds; ``step`` is Δw_min,ij (the c2c noise scale).
    """

    table: torch.Tensor

    @property
    def mid(self) -> torch.Tensor:
        return self.table[..., 0]

    @property
    def half(self) -> torch.Tensor:
        return self.table[..., 1]

    @property
    def lo(self) -> torch.Tensor:
        return self.table[..., 2]

    @property
    def hi(self) -> torch.Tensor:
        return self.table[..., 3]

    @property
    def step(self) -> torch.Tensor:
        return self.table[..., 4]

    def take(self, index: torch.Tensor, shape: tuple[int, ...] | torch.Size) -> DeviceArray:
        """The devices at linear indices ``index`` (row-major), as arrays of ``shape`` (a gathered copy)."""
        rows = self.table.numpy().reshape(-1, 5).take(index.numpy(), axis=0)  # numpy: 2× faster here
        return DeviceArray(torch.from_numpy(rows).view(*shape, 5))


class NormalStream:
    """Standard normal numbers from ``generator``, drawn ``block`` at a time and handed out in order: the
    numbers a caller gets depend only on how many it took before, not on thread count or call sizes' split
    into draws (a pool refilled from the same generator stream)."""

    def __init__(self, generator: torch.Generator, block: int = 1 << 20) -> None:
        self.gen, self.block = generator, block
        self.pool = torch.empty(0)
        self._pool = self.pool.numpy()  # the same memory, sliced by numpy
        self.pos = 0

    def take(self, shape: tuple[int, ...]) -> torch.Tensor:
        """The next numbers, as a tensor of ``shape`` (a view of the pool)."""
        return torch.from_numpy(self.take_array(shape))

    def take_array(self, shape: tuple[int, ...]) -> np.ndarray:
        """The next numbers, as a numpy array of ``shape`` (a view of the pool; cheaper per call)."""
        n = math.prod(shape)
        if self.pos + n > len(self.pool):
            rest = self.pool[self.pos:]
            self.pool = torch.cat([rest, torch.randn(max(self.block, n), generator=self.gen)])
            self._pool = self.pool.numpy()
            self.pos = 0
        out = self._pool[self.pos:self.pos + n].reshape(shape)
        self.pos += n
        return out

    def state(self) -> dict[str, torch.Tensor]:
        """The numbers not handed out yet, in order (the generator's state is its owner's to save)."""
        return {"pool": self.pool[self.pos:].clone()}

    def load_state(self, state: dict[str, torch.Tensor]) -> None:
        """Continue from :meth:`state`: the next :meth:`take` hands out what it would have."""
        pool = state["pool"]
        if not (isinstance(pool, torch.Tensor) and pool.dim() == 1 and pool.dtype == torch.float32):
            raise ValueError("normal stream state: 'pool' must be a 1-D float32 tensor")
        self.pool, self.pos = pool.clone(), 0
        self._pool = self.pool.numpy()


def _rate(step: torch.Tensor, bound: torch.Tensor) -> torch.Tensor:
    """Soft-bounds rate Δw_0/|bound| in [0, 1]: 0 where the step is 0 (a d2d draw clipped to 0, also when the
    bound is 0: 0/0), 1 where the step exceeds the bound (one step reaches it; a bound drawn 0 pins the
    device at 0 on that side)."""
    return torch.where(step > 0, step / bound, 0.0).clamp_(max=1.0)


class PulsedUpdateModel:
    """The update behaviour of an ``rpu_device`` card (see the module docstring for the model)."""

    stateful = False  # the weight is the whole state of a device

    def __init__(self, card: RpuDevice) -> None:
        if not isinstance(card, RpuDevice):
            raise TypeError(f"PulsedUpdateModel needs an rpu_device card, got {type(card).__name__}")
        self.card = card

    @property
    def dw_min(self) -> float:
        """The nominal weight step Δw_min (the pulse constant's)."""
        return self.card.dw_min

    def program(self, w: torch.Tensor, dev: DeviceArray) -> None:
        """Program weights ``w`` onto devices ``dev``: clipped to each device's bounds, in place."""
        torch.maximum(w, dev.lo, out=w)
        torch.minimum(w, dev.hi, out=w)

    def sample(self, shape: tuple[int, ...], generator: torch.Generator) -> DeviceArray:
        """Draw one array's devices (d2d spread of Δw_min, asymmetry and bounds) of ``shape`` (rows, cols),
        or (N, rows, cols) for N devices per weight; float32, CPU."""
        c = self.card

        def normal() -> torch.Tensor:
            return torch.randn(shape, generator=generator)

        step = c.dw_min * (1 + c.dw_min_dtod * normal()).clamp_(min=0.0)
        asym = (c.up_down + c.up_down_dtod * normal()).clamp_(-1.0, 1.0)
        hi = c.w_max * (1 + c.w_bound_dtod * normal()).clamp_(min=0.0)
        lo = c.w_min * (1 + c.w_bound_dtod * normal()).clamp_(min=0.0)
        return DeviceArray(torch.stack([step, step * asym, lo, hi, step], dim=-1).contiguous())

    def symmetry_point(self, dev: DeviceArray) -> torch.Tensor:
        """Where each device settles under equal numbers of up and down pulses (no c2c noise): the point a
        Tiki-Taka reference device is set to (Gokmen & Haensch 2020).

        Soft bounds: the weight where the up and the down step are equal, Δw_up,0·(1 − w/w_max) =
        Δw_down,0·(1 − w/w_min), so w* = (Δw_up,0 − Δw_down,0)/(Δw_up,0/w_max + Δw_down,0/|w_min|) (0 for a
        symmetric device). Hard bounds have no such point inside the range (an asymmetric device walks to the
        bound of its larger step, a symmetric one stays anywhere): 0, the programmed zero.
        """
        if not self.card.soft_bounds:
            return torch.zeros_like(dev.mid)
        up, down = dev.mid + dev.half, dev.mid - dev.half
        slope = _rate(up, dev.hi) + _rate(down, -dev.lo)
        point = torch.where(slope > 0, (up - down) / slope.clamp(min=1e-30), 0.0)
        return torch.minimum(torch.maximum(point, dev.lo), dev.hi)

    def apply(self, w: torch.Tensor, s: torch.Tensor, dev: DeviceArray, normals: NormalStream, *,
              against: bool = False, magnitude: torch.Tensor | None = None) -> None:
        """Move ``w`` in place by the signed step counts ``s`` (same shape; up > 0); clip to the bounds.

        ``against``: ``s`` counts steps in the opposite direction (the coincidences of x·δ for W − η·x·δᵀ);
        ``magnitude``: |s| when the caller has it already.
        """
        c = self.card
        count = s.abs() if magnitude is None else magnitude
        if c.soft_bounds:
            s = -s if against else s
            up = _rate(dev.mid + dev.half, dev.hi)
            down = _rate(dev.mid - dev.half, -dev.lo)
            pos = s.clamp(min=0)
            neg = (-s).clamp_(min=0)
            # n up steps: hi - (hi - w)(1 - up)^n; n down steps: lo + (w - lo)(1 - down)^n
            w_up = dev.hi - (dev.hi - w) * (1 - up).pow(pos)
            w_new = torch.where(s > 0, w_up, w)
            w_dn = dev.lo + (w_new - dev.lo) * (1 - down).pow(neg)
            w.copy_(torch.where(s < 0, w_dn, w_new))
            self._noise_and_clip(w.numpy(), count.numpy(), dev.table.numpy(), normals)
        else:
            self.constant_step(w.numpy(), s.numpy(), count.numpy(), dev.table.numpy(), normals,
                               against=against)

    @property
    def constant_steps(self) -> bool:
        """Whether :meth:`constant_step` is this model's update (hard bounds)."""
        return not self.card.soft_bounds

    def constant_step(self, w: np.ndarray, s: np.ndarray, count: np.ndarray, table: np.ndarray,
                      normals: NormalStream, *, against: bool = False) -> None:
        """The hard-bounds update of :meth:`apply` on numpy arrays (in place): w += s·mid + |s|·half (``s``
        negated when ``against``), the c2c noise, the clip; ``table`` holds the devices' rows of
        :class:`DeviceArray` (…, 5). In numpy because a training step moves a few hundred devices, where
        numpy's per-call cost is a third of torch's."""
        w += (-s if against else s) * table[..., 0]
        w += count * table[..., 1]
        self._noise_and_clip(w, count, table, normals)

    def _noise_and_clip(self, w: np.ndarray, count: np.ndarray, table: np.ndarray,
                        normals: NormalStream) -> None:
        """Cycle-to-cycle noise dw_min_std·Δw_min·sqrt(n)·z, then the clip to the bounds (numpy, in place)."""
        if self.card.dw_min_std > 0:
            w += np.sqrt(count) * normals.take_array(count.shape) * (self.card.dw_min_std * table[..., 4])
        np.minimum(np.maximum(w, table[..., 2], out=w), table[..., 3], out=w)

    def apply_counts(self, w: torch.Tensor, n_up: torch.Tensor, n_down: torch.Tensor, dev: DeviceArray,
                     normals: NormalStream) -> None:
        """Move ``w`` in place by ``n_up`` up and ``n_down`` down steps per device (both >= 0, same shape);
        clip to the bounds.

        For the convolution tiles of :mod:`neuroemu.rpu.lenet`, whose devices see coincidences of both
        polarities within one image. Constant step: exactly w + n_up·Δw_up − n_down·Δw_down, c2c noise
        dw_min_std·Δw_min·sqrt(n_up + n_down)·z, then the clip (once per call, not after every step: it
        differs only for a device that reaches a bound within the call). Soft bounds: the n_up up steps in
        their closed form, then the n_down down steps in theirs (exact when all the ups come first; an
        interleaved order differs by second-order terms in Δw/(w_max − w_min)).
        """
        up_step, down_step = dev.mid + dev.half, dev.mid - dev.half
        if self.card.soft_bounds:
            w_up = dev.hi - (dev.hi - w) * (1 - _rate(up_step, dev.hi)).pow(n_up)
            w.copy_(dev.lo + (w_up - dev.lo) * (1 - _rate(down_step, -dev.lo)).pow(n_down))
        else:
            w.addcmul_(n_up, up_step).addcmul_(n_down, down_step, value=-1.0)
        self._noise_and_clip(w.numpy(), (n_up + n_down).numpy(), dev.table.numpy(), normals)
