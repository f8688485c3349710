"""The fully connected 784-256-128-10 network of Gokmen & Vlasov 2016 (sigmoid hidden layers, softmax output,
cross-entropy, SGD at batch size 1) trained on RPU tiles, and the same network trained in plain float.

Random numbers are drawn in fixed blocks of ``BLOCK`` samples in a fixed order (per layer: forward noise and
backward noise from a torch generator, pulse uniforms of x and δ from a numpy PCG64 generator), so a run does
not depend on the thread count or on how many samples an epoch has. Forward and backward are written by hand
(no autograd): a sample's step is a few dozen numpy calls on views and one torch matrix-vector product per
read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from itertools import pairwise
from typing import Any

import numpy as np
import torch
from scipy.special import expit

from neuroemu.devices.training import UpdateModel
from neuroemu.ledger import Ledger
from neuroemu.rpu.tiki_taka import TikiTakaTile
from neuroemu.rpu.tile import AnalogTile, TileConfig

__all__ = ["BLOCK", "PAPER_SIZES", "FloatMlp", "RpuMlp", "device_attrs", "init_weights", "layer_configs",
           "record_tile_events"]

BLOCK = 64
PAPER_SIZES = (784, 256, 128, 10)


def init_weights(sizes: Sequence[int], generator: torch.Generator) -> list[torch.Tensor]:
    """Uniform in ±1/sqrt(n_in) (bias row included, as the last row), one (n_in + 1, n_out) per layer."""
    out = []
    for n_in, n_out in pairwise(sizes):
        bound = n_in ** -0.5
        out.append((torch.rand(n_in + 1, n_out, generator=generator) * 2 - 1) * bound)
    return out


def _mean_cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """The mean cross-entropy of (N, classes) logits against labels (0 for N = 0)."""
    if len(logits) == 0:
        return 0.0
    p = torch.softmax(logits, dim=1).gather(1, labels.view(-1, 1).long())
    return float(-torch.log(p.clamp(min=1e-30)).mean())


def with_bias(x: torch.Tensor) -> torch.Tensor:
    """``x`` with the bias input 1 appended on its last dimension."""
    return torch.cat([x, x.new_ones((*x.shape[:-1], 1))], dim=-1)


def float_state(weights: Sequence[torch.Tensor]) -> dict[str, Any]:
    """The training state of a float network trained by plain SGD: its weights (copies)."""
    return {"w": [w.clone() for w in weights]}


def load_float_state(weights: Sequence[torch.Tensor], state: dict[str, Any]) -> None:
    """Restore :func:`float_state` into ``weights`` in place (a ``ValueError`` when the shapes differ)."""
    saved = state["w"]
    if len(saved) != len(weights) or any(a.shape != b.shape for a, b in zip(saved, weights, strict=False)):
        raise ValueError("float network state: the weight shapes do not fit this network")
    for w, value in zip(weights, saved, strict=True):
        w.copy_(value)


def layer_configs(config: TileConfig, layers: int, devices_per_weight: Sequence[int] | None
                  ) -> list[TileConfig]:
    """One tile configuration per layer: ``config`` with each layer's devices per weight (None: config's)."""
    if devices_per_weight is None:
        return [config] * layers
    if len(devices_per_weight) != layers:
        raise ValueError(f"devices_per_weight needs one count per layer ({layers}), got "
                         f"{len(devices_per_weight)}")
    return [replace(config, devices_per_weight=n) for n in devices_per_weight]


def device_attrs(config: TileConfig) -> dict[str, int]:
    """The ledger attribute of a tile with several devices per weight (none for one device)."""
    n = config.devices_per_weight
    return {"devices_per_weight": n} if n > 1 else {}


def record_tile_events(ledger: Ledger, name: str, tile: AnalogTile | TikiTakaTile) -> None:
    """Record the update events of one layer's tile (Tiki-Taka: both arrays) in ``ledger``: coincidences per
    polarity, pulses per side and, for PCM pairs, refreshes (``rpu_refresh``) and their SET / RESET pulses
    (``rpu_refresh_pulse``, ``kind``). With N devices per weight a weight's coincidence is N devices'
    coincidences (they share the pulse trains), each a device update."""
    arrays = [("w", tile)] if isinstance(tile, AnalogTile) else [("a", tile.a), ("c", tile.c_tile)]
    for label, array in arrays:
        counts = array.counts()
        for polarity in ("up", "down"):
            ledger.record("rpu_coincidence", counts[polarity] * array.config.devices_per_weight, layer=name,
                          array=label, polarity=polarity, **device_attrs(array.config))
        ledger.record("rpu_pulse", counts["row_pulses"], layer=name, array=label, side="row")
        ledger.record("rpu_pulse", counts["col_pulses"], layer=name, array=label, side="col")
        if "refreshes" in counts:  # PCM pairs: refreshes and the pulses they cost
            ledger.record("rpu_refresh", counts["refreshes"], layer=name, array=label)
            ledger.record("rpu_refresh_pulse", counts["refresh_set_pulses"], layer=name, array=label,
                          kind="set")
            ledger.record("rpu_refresh_pulse", counts["refresh_reset_pulses"], layer=name, array=label,
                          kind="reset")


class RpuMlp:
    """The MLP on analog tiles (``optimizer`` "sgd": one tile per layer; "tiki-taka": a pair per layer, A and
    C read against their devices' symmetry points when ``tt_reference``, by default where the devices have
    them)."""

    def __init__(self, model: UpdateModel, config: TileConfig, *, seed: int,
                 sizes: Sequence[int] = PAPER_SIZES, optimizer: str = "sgd", tt_gamma: float = 0.1,
                 tt_every: int = 1, tt_lr: float = 0.01, tt_reference: bool | None = None,
                 tt_fast_lr: float | None = None, devices_per_weight: Sequence[int] | None = None) -> None:
        if optimizer not in ("sgd", "tiki-taka"):
            raise ValueError(f"optimizer must be 'sgd' or 'tiki-taka', got {optimizer!r}")
        if tt_reference is None:  # read against the symmetry points where the devices have them
            tt_reference = hasattr(model, "symmetry_point")
        if optimizer == "tiki-taka" and tt_reference and not hasattr(model, "symmetry_point"):
            raise ValueError(f"tt_reference needs a device model with a symmetry point (rpu_device cards); "
                             f"{type(model).__name__} has none: pass tt_reference=False")
        self.sizes, self.config, self.optimizer = tuple(sizes), config, optimizer
        self.configs = layer_configs(config, len(sizes) - 1, devices_per_weight)
        if optimizer == "tiki-taka" and any(c.devices_per_weight > 1 for c in self.configs):
            raise ValueError("tiki-taka with several devices per weight is not modelled")
        self.seed = seed
        init_gen = torch.Generator().manual_seed(seed)
        dev_gen = torch.Generator().manual_seed(seed + 1)
        self.draws = torch.Generator().manual_seed(seed + 2)
        # pulse-train uniforms: numpy's PCG64 draws float32 3× faster than torch's generator
        self.pulses = np.random.Generator(np.random.PCG64(seed + 3))
        self.tiles: list = []
        for (n_in, n_out), w0, layer_config in zip(pairwise(sizes), init_weights(sizes, init_gen),
                                                   self.configs, strict=True):
            tile = AnalogTile(n_in, n_out, model, layer_config, dev_gen, init=w0)
            if optimizer == "tiki-taka":
                fast = AnalogTile(n_in, n_out, model, config, dev_gen)
                refs = ({"a_reference": model.symmetry_point(fast.dev),
                         "c_reference": model.symmetry_point(tile.dev)} if tt_reference else {})
                tile = TikiTakaTile(fast, tile, gamma=tt_gamma, transfer_every=tt_every, transfer_lr=tt_lr,
                                    generator=dev_gen, init=w0, fast_lr=tt_fast_lr, **refs)
            self.tiles.append(tile)
        self.samples_seen = 0

    def _block_noise(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """One block's read noise per layer: forward (BLOCK, n_out) and backward (BLOCK, n_in + 1)."""
        return [(torch.randn(BLOCK, n_out, generator=self.draws).numpy(),
                 torch.randn(BLOCK, n_in + 1, generator=self.draws).numpy())
                for n_in, n_out in pairwise(self.sizes)]

    def _block_pulses(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """One block's pulse-train uniforms per layer: x side (BLOCK, BL, n_in + 1), δ side (BLOCK, BL,
        n_out) (numpy only: it runs on the drawing thread)."""
        bl = self.config.bl
        return [(self.pulses.random((BLOCK, bl, n_in + 1), dtype=np.float32),
                 self.pulses.random((BLOCK, bl, n_out), dtype=np.float32))
                for n_in, n_out in pairwise(self.sizes)]

    def train_epoch(self, images: torch.Tensor, labels: torch.Tensor,
                    progress: Callable[[int], None] | None = None) -> float:
        """One pass of batch-1 SGD over (N, 784) images in [0, 1]; returns the mean cross-entropy."""
        x_all = with_bias(images.reshape(len(images), -1).to(torch.float32)).numpy()
        targets = labels.tolist()
        # activations with the bias input 1 last
        hidden = [np.ones(n + 1, dtype=np.float32) for n in self.sizes[1:-1]]
        logits = np.empty((len(x_all), self.sizes[-1]), dtype=np.float32)
        n_blocks = -(-len(x_all) // BLOCK)
        # the next block's pulse uniforms (most of the random numbers) are drawn on a second thread while
        # this block trains (numpy releases the GIL; the thread never calls torch, which would start a thread
        # pool of its own): the same numbers in the same order, and never a block beyond the epoch
        with ThreadPoolExecutor(max_workers=1) as drawer:
            upcoming = drawer.submit(self._block_pulses) if n_blocks else None
            for block in range(n_blocks):
                pulses = upcoming.result()
                if block + 1 < n_blocks:
                    upcoming = drawer.submit(self._block_pulses)
                noise = self._block_noise()
                draws = [reads + uniforms for reads, uniforms in zip(noise, pulses, strict=True)]
                start = block * BLOCK
                self._train_block(x_all, targets, start, min(start + BLOCK, len(x_all)), draws, hidden,
                                  logits, progress)
        self.samples_seen += len(x_all)
        return _mean_cross_entropy(torch.from_numpy(logits), labels)

    def _train_block(self, x_all: np.ndarray, targets: list[int], start: int, stop: int,
                     draws: list[tuple[np.ndarray, ...]], hidden: list[np.ndarray], logits: np.ndarray,
                     progress: Callable[[int], None] | None) -> None:
        """Batch-1 SGD on samples ``start``..``stop`` of one block, with that block's ``draws``."""
        n_layers = len(self.tiles)
        for i in range(start, stop):
            j = i - start
            acts = [x_all[i]]
            for layer, tile in enumerate(self.tiles):
                z = tile.forward_sample(acts[-1], draws[layer][0][j])
                if layer < n_layers - 1:
                    expit(z, out=hidden[layer][:-1])
                    acts.append(hidden[layer])
            logits[i] = z
            d = np.exp(z - z.max())
            d /= d.sum()
            d[targets[i]] -= 1.0
            for layer in range(n_layers - 1, -1, -1):
                tile = self.tiles[layer]
                _, noise_b, ux, ud = draws[layer]
                d_in = tile.backward_sample(d, noise_b[j]) if layer > 0 else None
                tile.update(acts[layer], d, ux[j], ud[j], x_nonneg=True)
                if layer > 0:
                    h = acts[layer][:-1]
                    d = d_in[:-1] * h * (1 - h)
            if progress is not None:
                progress(1)

    def training_ledger(self) -> Ledger:
        """The events of all training so far: reads per layer and array (rows × cols each, with the converter
        widths ``dac_bits`` / ``adc_bits`` where the tile has them; Tiki-Taka also ``rpu_transfer_read``, one
        row of A read per transfer), coincidences per polarity and pulses per side (Tiki-Taka: both arrays,
        the transfers included); for PCM pairs also refreshes (``rpu_refresh``) and their SET / RESET pulses
        (``rpu_refresh_pulse``, ``kind``). Bound management's repeated reads are not counted."""
        ledger = Ledger()
        n = self.samples_seen
        bits = self.config.converter_bits()
        for layer, ((n_in, n_out), tile) in enumerate(zip(pairwise(self.sizes), self.tiles, strict=True)):
            name = f"fc{layer + 1}"
            arrays = [("w", tile)] if isinstance(tile, AnalogTile) else [("a", tile.a), ("c", tile.c_tile)]
            shape = {"rows": n_in + 1, "cols": n_out, **bits, **device_attrs(self.configs[layer])}
            for label, _ in arrays:  # every array of a layer is read (Tiki-Taka: γ·A + C, two reads)
                ledger.record("rpu_forward_read", n, layer=name, array=label, **shape)
                if layer > 0:
                    ledger.record("rpu_backward_read", n, layer=name, array=label, **shape)
            if isinstance(tile, TikiTakaTile):  # each transfer reads one row of A (a one-hot forward read)
                ledger.record("rpu_transfer_read", tile.samples // tile.every, layer=name, array="a",
                              rows=n_in + 1, cols=n_out, **bits)
            record_tile_events(ledger, name, tile)
        return ledger

    def weights(self) -> list[torch.Tensor]:
        """The effective weight matrices (n_in + 1, n_out)."""
        return [t.w for t in self.tiles]

    def state(self) -> dict[str, Any]:
        """The training state between samples (every tile's, the draw generator's, samples seen): a
        network built with the same arguments continues from it bit for bit (:meth:`load_state`)."""
        return {"optimizer": self.optimizer, "sizes": list(self.sizes), "samples_seen": self.samples_seen,
                "draws": self.draws.get_state(), "pulses": self.pulses.bit_generator.state,
                "tiles": [tile.state() for tile in self.tiles]}

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state` (a ``ValueError`` when it belongs to another optimizer or sizes)."""
        if state.get("optimizer") != self.optimizer or state.get("sizes") != list(self.sizes):
            raise ValueError(f"network state of a {state.get('optimizer')} {state.get('sizes')} network does "
                             f"not fit this {self.optimizer} {list(self.sizes)} one")
        for tile, saved in zip(self.tiles, state["tiles"], strict=True):
            tile.load_state(saved)
        self.draws.set_state(state["draws"])
        self.pulses.bit_generator.state = state["pulses"]
        self.samples_seen = int(state["samples_seen"])

    @torch.no_grad()
    def test_error(self, images: torch.Tensor, labels: torch.Tensor, seed: int) -> float:
        """Test error of analog forward reads (read noise drawn from ``seed``), batched."""
        gen = torch.Generator().manual_seed(seed)
        a = with_bias(images.reshape(len(images), -1).to(torch.float32))
        for layer, tile in enumerate(self.tiles):
            z = tile.forward(a, torch.randn(len(a), self.sizes[layer + 1], generator=gen))
            a = with_bias(torch.sigmoid(z)) if layer < len(self.tiles) - 1 else z
        return float((a.argmax(1) != labels).float().mean())


class FloatMlp:
    """The same network in float32, batch-1 SGD by hand (the FP baseline and the speed reference)."""

    def __init__(self, *, seed: int, sizes: Sequence[int] = PAPER_SIZES, lr: float = 0.01) -> None:
        self.w = init_weights(sizes, torch.Generator().manual_seed(seed))
        self.lr = lr

    def train_epoch(self, images: torch.Tensor, labels: torch.Tensor,
                    progress: Callable[[int], None] | None = None) -> float:
        x_all = with_bias(images.reshape(len(images), -1).to(torch.float32))
        n = len(self.w)
        total = 0.0
        for i in range(len(x_all)):
            acts = [x_all[i]]
            for layer, w in enumerate(self.w):
                z = acts[-1] @ w
                if layer < n - 1:
                    acts.append(with_bias(torch.sigmoid(z)))
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

    def state(self) -> dict[str, Any]:
        """The weights (the whole training state: float SGD draws nothing)."""
        return float_state(self.w)

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state` in place."""
        load_float_state(self.w, state)

    @torch.no_grad()
    def test_error(self, images: torch.Tensor, labels: torch.Tensor) -> float:
        a = with_bias(images.reshape(len(images), -1).to(torch.float32))
        for layer, w in enumerate(self.w):
            z = a @ w
            a = with_bias(torch.sigmoid(z)) if layer < len(self.w) - 1 else z
        return float((a.argmax(1) != labels).float().mean())
