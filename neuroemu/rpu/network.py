"""The fully connected 784-256-128-10 network of Gokmen & Vlasov 2016 (sigmoid hidden layers, softmax output,
cross-entropy, SGD at batch size 1) trained on RPU tiles, and the same network trained in plain float.

Random numbers are drawn in fixed blocks of ``BLOCK`` samples from one generator in a fixed order (per layer:
forward noise, backward noise, pulse uniforms of x and δ), so a run does not depend on the thread count or on
how many samples an epoch has. Forward and backward are written by hand (no autograd): a few tensor ops per
layer per sample.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import pairwise

import torch

from neuroemu.devices.training import UpdateModel
from neuroemu.ledger import Ledger
from neuroemu.rpu.tiki_taka import TikiTakaTile
from neuroemu.rpu.tile import AnalogTile, TileConfig

__all__ = ["BLOCK", "PAPER_SIZES", "FloatMlp", "RpuMlp", "init_weights"]

BLOCK = 64
PAPER_SIZES = (784, 256, 128, 10)


def init_weights(sizes: Sequence[int], generator: torch.Generator) -> list[torch.Tensor]:
    """Uniform in ±1/sqrt(n_in) (bias row included, as the last row), one (n_in + 1, n_out) per layer."""
    out = []
    for n_in, n_out in pairwise(sizes):
        bound = n_in ** -0.5
        out.append((torch.rand(n_in + 1, n_out, generator=generator) * 2 - 1) * bound)
    return out


def _with_bias(x: torch.Tensor) -> torch.Tensor:
    return torch.cat([x, x.new_ones((*x.shape[:-1], 1))], dim=-1)


class RpuMlp:
    """The MLP on analog tiles (``optimizer`` "sgd": one tile per layer; "tiki-taka": a pair per layer, A and
    C read against their devices' symmetry points when ``tt_reference``)."""

    def __init__(self, model: UpdateModel, config: TileConfig, *, seed: int,
                 sizes: Sequence[int] = PAPER_SIZES, optimizer: str = "sgd", tt_gamma: float = 0.1,
                 tt_every: int = 1, tt_lr: float = 0.01, tt_reference: bool = True,
                 tt_fast_lr: float | None = None) -> None:
        if optimizer not in ("sgd", "tiki-taka"):
            raise ValueError(f"optimizer must be 'sgd' or 'tiki-taka', got {optimizer!r}")
        if optimizer == "tiki-taka" and tt_reference and not hasattr(model, "symmetry_point"):
            raise ValueError(f"tt_reference needs a device model with a symmetry point (rpu_device cards); "
                             f"{type(model).__name__} has none: pass tt_reference=False")
        self.sizes, self.config, self.optimizer = tuple(sizes), config, optimizer
        self.seed = seed
        init_gen = torch.Generator().manual_seed(seed)
        dev_gen = torch.Generator().manual_seed(seed + 1)
        self.draws = torch.Generator().manual_seed(seed + 2)
        self.tiles: list = []
        for (n_in, n_out), w0 in zip(pairwise(sizes), init_weights(sizes, init_gen),
                                     strict=True):
            tile = AnalogTile(n_in, n_out, model, config, dev_gen, init=w0)
            if optimizer == "tiki-taka":
                fast = AnalogTile(n_in, n_out, model, config, dev_gen)
                refs = ({"a_reference": model.symmetry_point(fast.dev),
                         "c_reference": model.symmetry_point(tile.dev)} if tt_reference else {})
                tile = TikiTakaTile(fast, tile, gamma=tt_gamma, transfer_every=tt_every, transfer_lr=tt_lr,
                                    generator=dev_gen, init=w0, fast_lr=tt_fast_lr, **refs)
            self.tiles.append(tile)
        self.samples_seen = 0

    def _block_draws(self) -> list[tuple[torch.Tensor, ...]]:
        bl = self.config.bl
        draws = []
        for n_in, n_out in pairwise(self.sizes):
            draws.append((torch.randn(BLOCK, n_out, generator=self.draws),
                          torch.randn(BLOCK, n_in + 1, generator=self.draws),
                          torch.rand(BLOCK, bl, n_in + 1, generator=self.draws),
                          torch.rand(BLOCK, bl, n_out, generator=self.draws)))
        return draws

    def train_epoch(self, images: torch.Tensor, labels: torch.Tensor,
                    progress: Callable[[int], None] | None = None) -> float:
        """One pass of batch-1 SGD over (N, 784) images in [0, 1]; returns the mean cross-entropy."""
        x_all = _with_bias(images.reshape(len(images), -1).to(torch.float32))
        n_layers = len(self.tiles)
        total_loss = 0.0
        draws = self._block_draws()
        for i in range(len(x_all)):
            j = i % BLOCK
            if j == 0 and i > 0:
                draws = self._block_draws()
            acts = [x_all[i]]
            for layer, tile in enumerate(self.tiles):
                z = tile.forward(acts[-1], draws[layer][0][j])
                if layer < n_layers - 1:
                    acts.append(_with_bias(torch.sigmoid(z)))
            p = torch.softmax(z, dim=0)
            label = int(labels[i])
            total_loss -= float(torch.log(p[label].clamp(min=1e-30)))
            d = p
            d[label] -= 1.0
            for layer in range(n_layers - 1, -1, -1):
                tile = self.tiles[layer]
                _, noise_b, ux, ud = draws[layer]
                d_in = tile.backward(d, noise_b[j]) if layer > 0 else None
                tile.update(acts[layer], d, ux[j], ud[j], x_nonneg=True)
                if layer > 0:
                    h = acts[layer][:-1]
                    d = d_in[:-1] * h * (1 - h)
            if progress is not None:
                progress(1)
        self.samples_seen += len(x_all)
        return total_loss / max(len(x_all), 1)

    def training_ledger(self) -> Ledger:
        """The events of all training so far: reads per layer (rows × cols each), coincidences per polarity
        and pulses per side (Tiki-Taka: both arrays, the transfers included); for PCM pairs also refreshes
        (``rpu_refresh``) and their SET / RESET pulses (``rpu_refresh_pulse``, ``kind``)."""
        ledger = Ledger()
        n = self.samples_seen
        for layer, ((n_in, n_out), tile) in enumerate(zip(pairwise(self.sizes), self.tiles, strict=True)):
            name = f"fc{layer + 1}"
            ledger.record("rpu_forward_read", n, layer=name, rows=n_in + 1, cols=n_out)
            if layer > 0:
                ledger.record("rpu_backward_read", n, layer=name, rows=n_in + 1, cols=n_out)
            arrays = [("w", tile)] if isinstance(tile, AnalogTile) else [("a", tile.a), ("c", tile.c_tile)]
            for label, array in arrays:
                counts = array.counts()
                for polarity in ("up", "down"):
                    ledger.record("rpu_coincidence", counts[polarity], layer=name, array=label,
                                  polarity=polarity)
                ledger.record("rpu_pulse", counts["row_pulses"], layer=name, array=label, side="row")
                ledger.record("rpu_pulse", counts["col_pulses"], layer=name, array=label, side="col")
                if "refreshes" in counts:  # PCM pairs: refreshes and the pulses they cost
                    ledger.record("rpu_refresh", counts["refreshes"], layer=name, array=label)
                    ledger.record("rpu_refresh_pulse", counts["refresh_set_pulses"], layer=name, array=label,
                                  kind="set")
                    ledger.record("rpu_refresh_pulse", counts["refresh_reset_pulses"], layer=name,
                                  array=label, kind="reset")
        return ledger

    def weights(self) -> list[torch.Tensor]:
        """The effective weight matrices (n_in + 1, n_out)."""
        return [t.w for t in self.tiles]

    @torch.no_grad()
    def test_error(self, images: torch.Tensor, labels: torch.Tensor, seed: int) -> float:
        """Test error of analog forward reads (read noise drawn from ``seed``), batched."""
        gen = torch.Generator().manual_seed(seed)
        a = _with_bias(images.reshape(len(images), -1).to(torch.float32))
        for layer, tile in enumerate(self.tiles):
            z = tile.forward(a, torch.randn(len(a), self.sizes[layer + 1], generator=gen))
            a = _with_bias(torch.sigmoid(z)) if layer < len(self.tiles) - 1 else z
        return float((a.argmax(1) != labels).float().mean())


class FloatMlp:
    """The same network in float32, batch-1 SGD by hand (the FP baseline and the speed reference)."""

    def __init__(self, *, seed: int, sizes: Sequence[int] = PAPER_SIZES, lr: float = 0.01) -> None:
        self.w = init_weights(sizes, torch.Generator().manual_seed(seed))
        self.lr = lr

    def train_epoch(self, images: torch.Tensor, labels: torch.Tensor,
                    progress: Callable[[int], None] | None = None) -> float:
        x_all = _with_bias(images.reshape(len(images), -1).to(torch.float32))
        n = len(self.w)
        total = 0.0
        for i in range(len(x_all)):
            acts = [x_all[i]]
            for layer, w in enumerate(self.w):
                z = acts[-1] @ w
                if layer < n - 1:
                    acts.append(_with_bias(torch.sigmoid(z)))
            p = torch.softmax(z, dim=0)
            label = int(labels[i])
            total -= float(torch.log(p[label].clamp(min=1e-30)))
            d = p
            d[label] -= 1.0
            for layer in range(n - 1, -1, -1):
                w = self.w[layer]
                d_in = w @ d if layer > 0 else None
                w.addr_(acts[layer], d, alpha=-self.lr)
                if layer > 0:
                    h = acts[layer][:-1]
                    d = d_in[:-1] * h * (1 - h)
            if progress is not None:
                progress(1)
        return total / max(len(x_all), 1)

    @torch.no_grad()
    def test_error(self, images: torch.Tensor, labels: torch.Tensor) -> float:
        a = _with_bias(images.reshape(len(images), -1).to(torch.float32))
        for layer, w in enumerate(self.w):
            z = a @ w
            a = _with_bias(torch.sigmoid(z)) if layer < len(self.w) - 1 else z
        return float((a.argmax(1) != labels).float().mean())
