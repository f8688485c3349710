"""Bit-exact XNOR-popcount arithmetic on packed ±1 vectors.

A ±1 vector of length K is stored as ⌈K/64⌉ 64-bit words, bit = 1 for +1 (bit i of word j holds element
64·j + i; the unused tail bits are 0 in every vector). For two such vectors the dot product is
K − 2·popcount(a XOR b): matching signs contribute +1, differing ones −1 (the XNOR-count of Rastegari et
al., ECCV 2016, and of Courbariaux/Hubara et al. 2016's binarised kernels). Equal zero tails make the
padding contribute nothing. The population count is the SWAR bit-trick (Warren, *Hacker's Delight*,
2nd ed., fig. 5-2) on int64 tensors, so everything stays vectorised torch.
"""

import torch

WORD_BITS = 64
_M1 = 0x5555555555555555
_M2 = 0x3333333333333333
_M4 = 0x0F0F0F0F0F0F0F0F
_H01 = 0x0101010101010101


def pack_signs(x: torch.Tensor) -> torch.Tensor:
    """Pack the signs of ``x`` (…, K) into int64 words (…, ⌈K/64⌉): bit 1 where x >= 0."""
    k = x.shape[-1]
    words = -(-k // WORD_BITS)
    bits = torch.zeros(*x.shape[:-1], words * WORD_BITS, dtype=torch.int64, device=x.device)
    bits[..., :k] = (x >= 0).to(torch.int64)
    bits = bits.view(*x.shape[:-1], words, WORD_BITS)
    shifts = torch.arange(WORD_BITS, dtype=torch.int64, device=x.device)
    return (bits << shifts).sum(dim=-1)  # distinct powers of two: the sum is a bitwise OR, exact in int64


def popcount(words: torch.Tensor) -> torch.Tensor:
    """Number of set bits of each int64 word (SWAR; arithmetic shifts are masked, so the sign bit counts)."""
    x = words - ((words >> 1) & _M1)
    x = (x & _M2) + ((x >> 2) & _M2)
    x = (x + (x >> 4)) & _M4
    return (x * _H01) >> 56  # wraps in int64; the top byte (the count, <= 64) is exact


def xnor_dot(a: torch.Tensor, b: torch.Tensor, length: int, chunk: int = 256) -> torch.Tensor:
    """Dot products of packed ±1 vectors: a (N, W) against b (M, W) → int64 (N, M) = K − 2·popcount(a ^ b)."""
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(f"packed widths differ: {a.shape[-1]} vs {b.shape[-1]} words")
    out = torch.empty(a.shape[0], b.shape[0], dtype=torch.int64, device=a.device)
    for start in range(0, a.shape[0], chunk):
        rows = a[start:start + chunk, None, :] ^ b[None, :, :]
        out[start:start + chunk] = length - 2 * popcount(rows).sum(dim=-1)
    return out
