"""SC networks with stochastic local response normalisation between SC segments (Li et al., 2017).

A network with an ``nn.LocalResponseNorm`` (e.g. ``LeNet5(activation="tanh", lrn=True)``) is mapped as
segments of SC-DCNN blocks (:class:`~neuroemu.stochastic.network.SCNetwork`) with a
:class:`SCNormalization` between them:

1. the segment before the normalisation runs all ``L`` cycles and counts each output stream back to its
   bipolar value (one counter per stream, ``sc_counter_update`` ``purpose="decode"``);
2. :class:`SCNormalization` runs Li et al.'s stochastic LRN (``sc_lrn`` in
   :mod:`neuroemu.stochastic.normalization`: squares by AND with a delayed copy, a parallel counter over the
   channel window, the denominator in binary, CORDIV division, bit-exact over ``L`` cycles) on the
   magnitudes, with the sign carried beside the stream (sign-magnitude: the square and the denominator do
   not depend on it, and ``b = sign(a) · |a| / D``);
3. the next segment's input comparators turn the normalised values into new streams.

The normalisation's comparators draw from a pseudo-random source (seeded by the spec's seed), the same
numbers for every image, so results do not depend on batching. Not from the spec's Sobol / LFSR / Halton
source: CORDIV holds its last output while the divisor stream is 0, which estimates ``p_a / p_b`` only if
the lengths of those holds are independent of the dividend's bits, and in a low-discrepancy or LFSR
sequence consecutive numbers are strongly related. Measured on 192 random values (``sc_lrn``, L = 1024 and
4096): mean |error| 0.041 (Sobol), 0.083 (LFSR), 0.023 (Halton) at both lengths, against 0.014 and 0.007
with the pseudo-random source, which shrinks as 1/√L. No card prices a pseudo-random generator, so these
draws stay unpriced in the energy report (listed, not zero). The boundary is a
binary one, as in hybrid stochastic-binary accelerators; within each segment every bit is emulated.
"""

from __future__ import annotations

import torch
from torch import nn

from neuroemu.ledger import AttrValue, Ledger, RecordsEvents
from neuroemu.stochastic.network import SCNetwork, _binomial_stream
from neuroemu.stochastic.normalization import sc_lrn
from neuroemu.stochastic.sng import Source

__all__ = ["SCNormalization", "SCPipeline"]

#: images per bit-exact LRN pass (its streams are (C, images, H, W, L) tensors)
IMAGES_PER_LRN_CHUNK = 16


class SCNormalization(RecordsEvents, nn.Module):
    """Li et al.'s stochastic LRN of the channels of bipolar values ``(B, C, H, W)``, sign-magnitude."""

    def __init__(self, name: str, lrn: nn.LocalResponseNorm, *, shape: tuple[int, int, int], length: int,
                 index: int, mode: str, seed: int, sharing: str = "shared") -> None:
        super().__init__()
        if lrn.size % 2 == 0 or lrn.k < 1 or lrn.alpha < 0 or lrn.beta < 0:
            raise ValueError(f"layer {name}: the SC LRN needs an odd size, k >= 1, alpha >= 0, beta >= 0 "
                             f"(got size={lrn.size}, k={lrn.k}, alpha={lrn.alpha}, beta={lrn.beta})")
        self.name, self.shape, self.length, self.mode = name, shape, length, mode
        self.noise_seed = seed * 1_000_003 + index  # analytic mode: this layer's own noise
        # torch's LRN divides alpha by the window size; sc_lrn takes the coefficient of the plain sum
        self.size, self.alpha, self.beta, self.k = lrn.size, lrn.alpha / lrn.size, lrn.beta, lrn.k
        source = Source("random", seed)  # see the module docstring: CORDIV needs independent holds
        self.sng, self.sharing = source.kind, sharing
        self.generator_attrs: dict[str, AttrValue] = {"sng": source.kind, "bits": source.bits(length),
                                                      "sharing": sharing, "length": length}
        c, h, w = shape
        rows = source.draw(c * h * w, length if mode == "bitexact" else 1, stream=index)
        self.register_buffer("randoms", rows.reshape(c, 1, h, w, -1).clone())
        self.ledger: Ledger | None = None

    def extra_repr(self) -> str:
        return f"{self.name}: SC LRN size={self.size} k={self.k} alpha/n={self.alpha:.4g} beta={self.beta}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or tuple(x.shape[1:]) != self.shape:
            raise ValueError(f"layer {self.name}: expects (B, {', '.join(map(str, self.shape))}), "
                             f"got {tuple(x.shape)}")
        if self.mode == "analytic":
            return self._analytic(x)
        if self.ledger is not None:  # one generator row per value, stepped every cycle
            self.ledger.record("sc_rng_step", x.numel() * self.length, layer=self.name, operand="lrn",
                               **self.generator_attrs)
        outs = []
        for chunk in x.split(IMAGES_PER_LRN_CHUNK):
            magnitude = chunk.abs().to(torch.float64).transpose(0, 1)  # (C, B, H, W)
            q = sc_lrn(magnitude, self.randoms, size=self.size, k=self.k, alpha=self.alpha, beta=self.beta,
                       ledger=self.ledger, layer=self.name, sng=self.sng, sharing=self.sharing)
            outs.append((torch.sign(chunk) * q.transpose(0, 1)).to(torch.float32))
        return torch.cat(outs) if outs else x.new_empty(x.shape)

    def _analytic(self, x: torch.Tensor) -> torch.Tensor:
        """The exact LRN plus the binomial noise of an ``L``-bit stream (the labelled approximation)."""
        exact = nn.functional.local_response_norm(x.to(torch.float64), self.size, self.alpha * self.size,
                                                  self.beta, self.k)
        generator = torch.Generator().manual_seed(self.noise_seed)
        return _binomial_stream(exact.clamp(-1, 1), self.length, generator).to(torch.float32)


class SCPipeline(RecordsEvents, nn.Module):
    """SC segments and normalisations in sequence, recording into one :attr:`ledger`. Segments also meet
    where a per-layer design changes the stream length (:meth:`~neuroemu.stochastic.spec.Stochastic.apply`):
    the values counted back from one segment's streams are the next segment's inputs."""

    def __init__(self, stages: list[SCNetwork | SCNormalization], *, length: int, mode: str, block: str,
                 seed: int) -> None:
        super().__init__()
        self.stages = nn.ModuleList(stages)
        self.length, self.mode, self.block, self.seed = length, mode, block, seed
        self.ledger = Ledger()
        for stage in stages:
            stage.ledger = self.ledger
            for layer in getattr(stage, "layers", ()):
                layer.ledger = self.ledger

    def extra_repr(self) -> str:
        return f"length={self.length}, mode={self.mode!r}, block={self.block!r}"

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images
        for stage in self.stages:
            if isinstance(stage, SCNetwork) and x.dim() == 2:  # a segment after a linear layer: (B, n, 1, 1)
                x = x.view(x.shape[0], *stage.input_shape)
            x = stage(x)
        return x
