"""Packed stochastic bitstreams: 64 clock cycles per int64 word, unipolar and bipolar encodings.

A stochastic number of length ``L`` is a sequence of ``L`` bits; its value is read back by counting the
ones (Gaines 1969; the SC-DCNN vocabulary of Ren et al., ASPLOS 2017): unipolar ``p = ones / L`` in
[0, 1], bipolar ``x = 2 ones / L - 1`` in [-1, 1]. Here cycle ``t`` of a stream is bit ``t % 64`` of word
``t // 64``; the bits of the last word beyond ``L`` are always zero (every operation keeps that tail masked),
so population counts are exact for any positive length.
"""

from dataclasses import dataclass
from typing import Literal

import torch

Encoding = Literal["unipolar", "bipolar"]
ENCODINGS = ("unipolar", "bipolar")
WORD_BITS = 64

_SHIFTS = torch.arange(WORD_BITS, dtype=torch.int64)
_POPCOUNT8 = torch.tensor([bin(i).count("1") for i in range(256)], dtype=torch.int64)


def n_words(length: int) -> int:
    """Number of 64-bit words that hold ``length`` cycles."""
    check_length(length)
    return (length + WORD_BITS - 1) // WORD_BITS


def check_length(length: int, field: str = "length") -> None:
    """Raise ValueError unless ``length`` is a positive int."""
    if isinstance(length, bool) or not isinstance(length, int) or length < 1:
        raise ValueError(f"{field} must be a positive integer (>= 1), got {length!r}")


def counter_bits(length: int) -> int:
    """Width of a binary up-counter that holds up to ``length`` ones: ⌈log2 (length + 1)⌉ bits.

    The width the SC networks record on their counter and compare events (``bits``): every stream's ones,
    a max-pooling segment's count or an output neuron's count over ``length`` cycles fit in it."""
    check_length(length)
    return length.bit_length()


def check_encoding(encoding: str) -> None:
    if encoding not in ENCODINGS:
        raise ValueError(f"encoding must be one of {list(ENCODINGS)}, got {encoding!r}")


def pack_bits(bits: torch.Tensor) -> torch.Tensor:
    """Pack 0/1 values along the last axis (``(..., L)``) into int64 words (``(..., ceil(L/64))``)."""
    length = bits.shape[-1]
    check_length(length, "bitstream length (last axis)")
    words = n_words(length)
    padded = torch.zeros(*bits.shape[:-1], words * WORD_BITS, dtype=torch.int64)
    padded[..., :length] = bits.to(torch.int64) & 1
    # disjoint powers of two: their (wrapping) int64 sum is their bitwise OR
    return (padded.view(*bits.shape[:-1], words, WORD_BITS) << _SHIFTS).sum(dim=-1)


def unpack_bits(words: torch.Tensor, length: int) -> torch.Tensor:
    """The first ``length`` bits of packed ``words`` (``(..., W)``) as a uint8 tensor ``(..., length)``."""
    check_length(length)
    if words.shape[-1] * WORD_BITS < length:
        raise ValueError(f"{words.shape[-1]} words hold at most {words.shape[-1] * WORD_BITS} bits, "
                         f"not length {length}")
    bits = (words.unsqueeze(-1) >> _SHIFTS) & 1
    return bits.reshape(*words.shape[:-1], -1)[..., :length].to(torch.uint8)


def popcount(words: torch.Tensor) -> torch.Tensor:
    """Number of one bits in each int64 word (byte lookup table)."""
    as_bytes = words.contiguous().view(torch.uint8).to(torch.int64)
    return _POPCOUNT8[as_bytes].view(*words.shape, 8).sum(dim=-1)


def tail_mask(length: int) -> torch.Tensor:
    """Per-word masks (int64, ``(ceil(L/64),)``) with ones exactly at the valid cycles."""
    words = n_words(length)
    mask = torch.full((words,), -1, dtype=torch.int64)
    rest = length - (words - 1) * WORD_BITS
    if rest < WORD_BITS:
        mask[-1] = (1 << rest) - 1
    return mask


def to_probability(value: torch.Tensor, encoding: Encoding) -> torch.Tensor:
    """Probability of a one that encodes ``value``: ``p = x`` (unipolar) or ``p = (x + 1) / 2`` (bipolar)."""
    check_encoding(encoding)
    value = torch.as_tensor(value, dtype=torch.float64)
    if torch.isnan(value).any():
        raise ValueError("value contains NaN")
    low = 0.0 if encoding == "unipolar" else -1.0
    if (value < low).any() or (value > 1.0).any():
        raise ValueError(f"{encoding} values must lie in [{low:g}, 1], got range "
                         f"[{float(value.min()):g}, {float(value.max()):g}]")
    return value if encoding == "unipolar" else (value + 1.0) / 2.0


def from_probability(p: torch.Tensor, encoding: Encoding) -> torch.Tensor:
    """Value encoded by a probability of ones ``p``."""
    check_encoding(encoding)
    return p if encoding == "unipolar" else 2.0 * p - 1.0


@dataclass(frozen=True)
class Bitstream:
    """A batch of packed stochastic numbers: ``words`` is int64 ``(..., ceil(length / 64))``."""

    words: torch.Tensor
    length: int
    encoding: Encoding = "bipolar"

    def __post_init__(self) -> None:
        check_length(self.length)
        check_encoding(self.encoding)
        if self.words.dtype != torch.int64 or self.words.shape[-1:] != (n_words(self.length),):
            raise ValueError(f"words must be int64 with last axis {n_words(self.length)} for length "
                             f"{self.length}, got {self.words.dtype} {tuple(self.words.shape)}")

    @classmethod
    def from_bits(cls, bits: torch.Tensor, encoding: Encoding = "bipolar") -> "Bitstream":
        """Pack 0/1 ``bits`` (``(..., L)``)."""
        return cls(pack_bits(bits), bits.shape[-1], encoding)

    @property
    def shape(self) -> torch.Size:
        """Shape of the batch of numbers (without the cycle axis)."""
        return self.words.shape[:-1]

    def bits(self) -> torch.Tensor:
        """Unpacked uint8 bits ``(..., length)``."""
        return unpack_bits(self.words, self.length)

    def ones(self) -> torch.Tensor:
        """Count of ones in each stream (a counter back to binary)."""
        return popcount(self.words).sum(dim=-1)

    def probability(self) -> torch.Tensor:
        """Fraction of ones."""
        return self.ones().to(torch.float64) / self.length

    def value(self) -> torch.Tensor:
        """Decoded value in this stream's encoding."""
        return from_probability(self.probability(), self.encoding)

    def with_encoding(self, encoding: Encoding) -> "Bitstream":
        return Bitstream(self.words, self.length, encoding)

    def _like(self, words: torch.Tensor) -> "Bitstream":
        return Bitstream(words, self.length, self.encoding)

    def _check(self, other: "Bitstream") -> None:
        if not isinstance(other, Bitstream) or other.length != self.length:
            raise ValueError("bitstreams combined by a gate must have the same length")

    def __and__(self, other: "Bitstream") -> "Bitstream":
        self._check(other)
        return self._like(self.words & other.words)

    def __or__(self, other: "Bitstream") -> "Bitstream":
        self._check(other)
        return self._like(self.words | other.words)

    def __xor__(self, other: "Bitstream") -> "Bitstream":
        self._check(other)
        return self._like(self.words ^ other.words)

    def __invert__(self) -> "Bitstream":
        return self._like(~self.words & tail_mask(self.length))
