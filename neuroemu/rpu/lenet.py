"""LeNet-5 trained in memory on RPU tiles, its convolutions trained as arrays (Gokmen, Onen & Haensch,
"Training deep convolutional neural networks with resistive cross-point devices", Front. Neurosci. 11:538,
2017, Sec. 2.1), and the same network trained in plain float with the same schedule.

Topology: the project's LeNet-5 (:class:`neuroemu.nets.lenet.LeNet5`, its layer sizes read from the
module): conv 6@5×5 (padding 2) → pool 2×2 → conv 16@5×5 → pool 2×2 → fc 120 → fc 84 → fc 10, softmax and
cross-entropy, batch-1 SGD. Activation **tanh**, pooling **max**: the choices of Gokmen 2017 (their CNN uses
tanh-like activations and max pooling), and LeNet5's ``activation="tanh", pooling="max"``. tanh keeps every
tile input in [−1, 1], the DAC's full scale, so noise management never rescales a hidden layer's inputs
upwards, and a zero-centred activation trains faster at batch 1 than the MLP's sigmoid.

Mapping (the unrolled-kernel mapping of Gokmen 2017): a conv layer with c_in input channels, k×k kernels
and c_out filters is one tile of (k·k·c_in + 1) rows × c_out columns (the last row: the bias, driven by a
constant 1). Forward: the image is unrolled into its patches (im2col, ``torch.nn.functional.unfold``) and
every patch position is one tile read with its own read noise (one batched read, the positions as the
batch; noise and bound management per position). Backward: every position's error vector is one Wᵀ read,
and the per-position results are folded back onto the input (col2im, ``fold``). Update: each position is
one update cycle of BL slots with its own pulse trains (and update management); the cycles of all
positions of one image are applied in sequence, so their coincidences accumulate in the devices
(:meth:`AnalogTile.update_positions`). The fully connected layers are tiles updated as the MLP's
(:meth:`AnalogTile.update`).

Random numbers: per training image, one block of normals (read noise) and one of uniforms (pulses) from
one generator, handed out in a fixed order (per layer, forward: read noise; backward, from the last layer:
read noise, then the pulse uniforms of x and δ), so a run depends on the seed only, not on the thread count.
Forward and backward are written by hand (no autograd), the same code for both networks: only the reads
(analog tile or exact product) and the updates (pulses or exact SGD) differ; the float network's step is
tested against autograd on :class:`~neuroemu.nets.lenet.LeNet5`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from neuroemu.devices.training import UpdateModel
from neuroemu.ledger import Ledger
from neuroemu.nets.lenet import LeNet5
from neuroemu.rpu.network import (
    device_attrs,
    float_state,
    init_weights,
    layer_configs,
    load_float_state,
    record_tile_events,
    with_bias,
)
from neuroemu.rpu.tile import AnalogTile, TileConfig

__all__ = ["EVAL_CHUNK", "FloatLeNet5", "LayerShape", "RpuLeNet5", "lenet5_layers"]

#: test images per batched evaluation chunk (fixed: the read noise drawn does not depend on anything else)
EVAL_CHUNK = 250

Noise = Callable[[int, tuple[int, ...]], torch.Tensor | None]


@dataclass(frozen=True)
class LayerShape:
    """One weight layer: ``fan_in`` inputs (k·k·c_in for a convolution) and ``n_out`` outputs; a convolution
    has ``kernel`` > 0, ``padding`` and square inputs of side ``in_size``."""

    name: str
    fan_in: int
    n_out: int
    kernel: int = 0
    padding: int = 0
    in_size: int = 0

    @property
    def out_size(self) -> int:
        return self.in_size + 2 * self.padding - self.kernel + 1

    @property
    def positions(self) -> int:
        """Patch positions per image (1 for a fully connected layer): reads per image per direction."""
        return self.out_size ** 2 if self.kernel else 1


def lenet5_layers(image_size: int = 28) -> tuple[tuple[LayerShape, ...], int]:
    """The weight layers of the project's LeNet-5 (tanh, max pooling) and its pooling size."""
    net = LeNet5(activation="tanh", pooling="max")
    pool = net.pool1.kernel_size
    layers, size = [], image_size
    for name in ("conv1", "conv2", "fc1", "fc2", "fc3"):
        module = getattr(net, name)
        if isinstance(module, nn.Conv2d):
            k = module.kernel_size[0]
            layer = LayerShape(name, module.in_channels * k * k, module.out_channels, k, module.padding[0],
                               size)
            size = layer.out_size // pool
        else:
            layer = LayerShape(name, module.in_features, module.out_features)
        layers.append(layer)
    return tuple(layers), pool


class _LeNetLoop:
    """Forward and backward of LeNet-5 by hand, shared by the analog and the float network; subclasses give
    the reads (``_read``, ``_read_back``) and the update (``_update``)."""

    def __init__(self, seed: int) -> None:
        self.layers, self.pool = lenet5_layers()
        gen = torch.Generator().manual_seed(seed)
        self.init = [init_weights((layer.fan_in, layer.n_out), gen)[0] for layer in self.layers]
        self.samples_seen = 0

    def _read(self, i: int, x: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
        raise NotImplementedError

    def _read_back(self, i: int, d: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
        raise NotImplementedError

    def _update(self, i: int, x: torch.Tensor, d: torch.Tensor) -> None:
        raise NotImplementedError

    def _noise(self, i: int, shape: tuple[int, ...], backward: bool = False) -> torch.Tensor | None:
        """Read noise of the training image being processed (None: exact reads)."""
        return None

    def _begin_sample(self) -> None:
        """Draw the random numbers of one training image."""

    def _forward(self, images: torch.Tensor, noise: Noise) -> tuple[torch.Tensor, list]:
        """Logits (N, 10) of (N, 1, H, W) images and, per layer, (inputs with bias, activations, pool
        indices); a single image's fully connected reads are vector reads."""
        a, n, cache = images, len(images), []
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            if layer.kernel:
                cols = F.unfold(a, layer.kernel, padding=layer.padding)  # (N, fan_in, P)
                x = with_bias(cols.transpose(1, 2).reshape(n * layer.positions, layer.fan_in))
                z = self._read(i, x, noise(i, (len(x), layer.n_out)))
                side = layer.out_size
                h = torch.tanh(z.view(n, layer.positions, layer.n_out).transpose(1, 2)
                               .reshape(n, layer.n_out, side, side))
                a, idx = F.max_pool2d(h, self.pool, return_indices=True)
                cache.append((x, h, idx))
                continue
            x = with_bias(a.reshape(n, -1))
            if n == 1:
                z = self._read(i, x[0], noise(i, (layer.n_out,))).unsqueeze(0)
            else:
                z = self._read(i, x, noise(i, (n, layer.n_out)))
            if i == last:
                cache.append((x, None, None))
                return z, cache
            a = torch.tanh(z)
            cache.append((x, a, None))
        raise AssertionError("the last layer is fully connected")

    def _backward(self, cache: list, d: torch.Tensor) -> None:
        """Errors ``d`` (10,) of the logits of one image back through the layers, updating each after its
        backward read (the read sees the weights before the update, as in the MLP)."""
        for i in range(len(self.layers) - 1, -1, -1):
            layer, x = self.layers[i], cache[i][0]
            if layer.kernel == 0:
                x = x[0]
            shape = (layer.positions, layer.fan_in + 1) if layer.kernel else (layer.fan_in + 1,)
            g = self._read_back(i, d, self._noise(i, shape, backward=True)) if i > 0 else None
            self._update(i, x, d)
            if g is None:
                return
            g = g[..., :-1]
            if layer.kernel:  # col2im: every position's patch error back onto the input
                g = F.fold(g.t().unsqueeze(0), (layer.in_size, layer.in_size), layer.kernel,
                           padding=layer.padding)
            below = self.layers[i - 1]
            _, h, idx = cache[i - 1]
            if below.kernel:
                g = F.max_unpool2d(g.reshape(idx.shape), idx, self.pool, output_size=h.shape[-2:])
                d = g.mul_(1 - h * h).reshape(below.n_out, below.positions).t()
            else:
                d = g.reshape(-1) * (1 - h[0] * h[0])

    def train_epoch(self, images: torch.Tensor, labels: torch.Tensor,
                    progress: Callable[[int], None] | None = None) -> float:
        """One pass of batch-1 SGD over (N, 1, 28, 28) or (N, 28, 28) images in [0, 1]; returns the mean
        cross-entropy."""
        imgs = images.reshape(len(images), 1, images.shape[-2], images.shape[-1]).to(torch.float32)
        total = 0.0
        for i in range(len(imgs)):
            self._begin_sample()
            z, cache = self._forward(imgs[i:i + 1], self._noise)
            p = torch.softmax(z[0], dim=0)
            label = int(labels[i])
            total -= float(torch.log(p[label].clamp(min=1e-30)))
            p[label] -= 1.0
            self._backward(cache, p)
            if progress is not None:
                progress(1)
        self.samples_seen += len(imgs)
        return total / max(len(imgs), 1)

    @torch.no_grad()
    def _test_error(self, images: torch.Tensor, labels: torch.Tensor, noise: Noise) -> float:
        imgs = images.reshape(len(images), 1, images.shape[-2], images.shape[-1]).to(torch.float32)
        wrong = 0
        for start in range(0, len(imgs), EVAL_CHUNK):
            z, _ = self._forward(imgs[start:start + EVAL_CHUNK], noise)
            wrong += int((z.argmax(1) != labels[start:start + EVAL_CHUNK]).sum())
        return wrong / max(len(imgs), 1)


class RpuLeNet5(_LeNetLoop):
    """LeNet-5 on analog tiles: one tile per layer, each convolution a (k·k·c_in + 1) × c_out array."""

    def __init__(self, model: UpdateModel, config: TileConfig, *, seed: int,
                 devices_per_weight: Sequence[int] | None = None) -> None:
        super().__init__(seed)
        self.config = config
        self.configs = layer_configs(config, len(self.layers), devices_per_weight)
        dev_gen = torch.Generator().manual_seed(seed + 1)
        self.draws = torch.Generator().manual_seed(seed + 2)
        self.tiles = [AnalogTile(layer.fan_in, layer.n_out, model, layer_config, dev_gen, init=w0)
                      for layer, w0, layer_config in zip(self.layers, self.init, self.configs, strict=True)]
        bl = config.bl
        # per image: normals (forward noise of every layer, backward noise of every layer but the first)
        # and uniforms (pulses of x and δ of every layer), in this order
        self._n_normals = sum(layer.positions * (layer.n_out + (layer.fan_in + 1 if i else 0))
                              for i, layer in enumerate(self.layers))
        self._n_uniforms = sum(layer.positions * bl * (layer.fan_in + 1 + layer.n_out)
                               for layer in self.layers)
        self._normals = self._uniforms = torch.empty(0)
        self._pos = [0, 0]

    def _begin_sample(self) -> None:
        self._normals = torch.randn(self._n_normals, generator=self.draws)
        self._uniforms = torch.rand(self._n_uniforms, generator=self.draws)
        self._pos = [0, 0]

    def _take(self, which: int, shape: tuple[int, ...]) -> torch.Tensor:
        pool = self._normals if which == 0 else self._uniforms
        n = 1
        for s in shape:
            n *= s
        start = self._pos[which]
        self._pos[which] = start + n
        return pool[start:start + n].view(shape)

    def _noise(self, i: int, shape: tuple[int, ...], backward: bool = False) -> torch.Tensor:
        return self._take(0, shape)

    def _read(self, i: int, x: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
        return self.tiles[i].forward(x, noise)

    def _read_back(self, i: int, d: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
        return self.tiles[i].backward(d, noise)

    def _update(self, i: int, x: torch.Tensor, d: torch.Tensor) -> None:
        layer, tile, bl = self.layers[i], self.tiles[i], self.config.bl
        if layer.kernel:
            p = layer.positions
            ux = self._take(1, (p, bl, layer.fan_in + 1))
            ud = self._take(1, (p, bl, layer.n_out))
            tile.update_positions(x, d, ux, ud)
        else:
            ux = self._take(1, (bl, layer.fan_in + 1))
            ud = self._take(1, (bl, layer.n_out))
            tile.update(x, d, ux, ud)

    def training_ledger(self) -> Ledger:
        """The events of all training so far, as :meth:`RpuMlp.training_ledger`: forward reads per layer
        (one per patch position of every image: ``positions`` × samples, each rows × cols), backward reads
        (all layers but the first), coincidences per polarity, pulses per side (PCM pairs: refreshes)."""
        ledger = Ledger()
        n = self.samples_seen
        bits = self.config.converter_bits()
        for i, (layer, tile) in enumerate(zip(self.layers, self.tiles, strict=True)):
            reads = n * layer.positions
            shape = {"array": "w", "rows": layer.fan_in + 1, "cols": layer.n_out,
                     "positions": layer.positions, **bits, **device_attrs(self.configs[i])}
            ledger.record("rpu_forward_read", reads, layer=layer.name, **shape)
            if i > 0:
                ledger.record("rpu_backward_read", reads, layer=layer.name, **shape)
            record_tile_events(ledger, layer.name, tile)
        return ledger

    def weights(self) -> list[torch.Tensor]:
        """The effective weight matrices (fan_in + 1, n_out), convolutions unrolled (rows: c_in, kh, kw)."""
        return [t.w for t in self.tiles]

    def state(self) -> dict[str, Any]:
        """The training state between samples (every tile's, the draw generator's, samples seen): a
        network built with the same arguments continues from it bit for bit (:meth:`load_state`)."""
        return {"network": "lenet5", "samples_seen": self.samples_seen, "draws": self.draws.get_state(),
                "tiles": [tile.state() for tile in self.tiles]}

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state` (a ``ValueError`` when it belongs to another network)."""
        if state.get("network") != "lenet5":
            raise ValueError(f"network state of {state.get('network')!r} does not fit this lenet5 network")
        for tile, saved in zip(self.tiles, state["tiles"], strict=True):
            tile.load_state(saved)
        self.draws.set_state(state["draws"])
        self.samples_seen = int(state["samples_seen"])

    def test_error(self, images: torch.Tensor, labels: torch.Tensor, seed: int) -> float:
        """Test error of analog forward reads (read noise drawn from ``seed``), in chunks of EVAL_CHUNK."""
        gen = torch.Generator().manual_seed(seed)
        return self._test_error(images, labels, lambda i, shape: torch.randn(shape, generator=gen))


class FloatLeNet5(_LeNetLoop):
    """The same LeNet-5 in float32, batch-1 SGD with the same loop and initial weights (the FP baseline and
    the speed reference)."""

    def __init__(self, *, seed: int, lr: float = 0.01) -> None:
        super().__init__(seed)
        self.w = [w.clone() for w in self.init]
        self.lr = lr

    def _read(self, i: int, x: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
        return x @ self.w[i]

    def _read_back(self, i: int, d: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
        return d @ self.w[i].t()

    def _update(self, i: int, x: torch.Tensor, d: torch.Tensor) -> None:
        if x.dim() == 1:
            self.w[i].addr_(x, d, alpha=-self.lr)
        else:  # Σ over positions of x_p·δ_pᵀ
            self.w[i].addmm_(x.t(), d, alpha=-self.lr)

    def weights(self) -> list[torch.Tensor]:
        return self.w

    def state(self) -> dict[str, Any]:
        """The weights (the whole training state: float SGD draws nothing)."""
        return float_state(self.w)

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state` in place."""
        load_float_state(self.w, state)

    def test_error(self, images: torch.Tensor, labels: torch.Tensor) -> float:
        return self._test_error(images, labels, lambda i, shape: None)
