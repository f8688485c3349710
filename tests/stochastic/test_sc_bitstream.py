import pytest
import torch

from neuroemu.stochastic.bitstream import Bitstream, pack_bits, popcount, to_probability, unpack_bits


@pytest.mark.parametrize("length", [1, 5, 63, 64, 65, 130, 1000])
def test_pack_unpack_roundtrip_and_counts(length: int) -> None:
    gen = torch.Generator().manual_seed(length)
    bits = (torch.rand(3, 4, length, generator=gen) < 0.3).to(torch.uint8)
    stream = Bitstream.from_bits(bits, "unipolar")
    assert stream.words.shape == (3, 4, (length + 63) // 64)
    assert torch.equal(unpack_bits(stream.words, length), bits)
    assert torch.equal(stream.ones(), bits.sum(-1).to(torch.int64))
    assert torch.allclose(stream.value(), bits.double().mean(-1))


def test_bit_63_and_popcount() -> None:
    bits = torch.zeros(64, dtype=torch.uint8)
    bits[63] = 1
    bits[0] = 1
    words = pack_bits(bits)
    assert int(popcount(words).sum()) == 2
    assert torch.equal(unpack_bits(words, 64), bits)


def test_not_keeps_the_tail_masked_and_negates_bipolar() -> None:
    bits = torch.tensor([1, 0, 0, 1, 1], dtype=torch.uint8)
    stream = Bitstream.from_bits(bits, "bipolar")
    inv = ~stream
    assert int(inv.ones()) == 2
    assert torch.equal(inv.bits(), 1 - bits)
    assert float(inv.value()) == pytest.approx(-float(stream.value()))


def test_gates_on_packed_words() -> None:
    a = Bitstream.from_bits(torch.tensor([1, 1, 0, 0], dtype=torch.uint8))
    b = Bitstream.from_bits(torch.tensor([1, 0, 1, 0], dtype=torch.uint8))
    assert (a & b).bits().tolist() == [1, 0, 0, 0]
    assert (a | b).bits().tolist() == [1, 1, 1, 0]
    assert (a ^ b).bits().tolist() == [0, 1, 1, 0]


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_bad_length_is_rejected(bad: object) -> None:
    with pytest.raises(ValueError, match="length"):
        Bitstream(torch.zeros(1, dtype=torch.int64), bad)  # type: ignore[arg-type]


def test_encodings() -> None:
    assert torch.allclose(to_probability(torch.tensor([-1.0, 0.0, 1.0]), "bipolar"),
                          torch.tensor([0.0, 0.5, 1.0], dtype=torch.float64))
    with pytest.raises(ValueError, match=r"unipolar values must lie in \[0, 1\]"):
        to_probability(torch.tensor([-0.5]), "unipolar")
    with pytest.raises(ValueError, match="encoding must be one of"):
        to_probability(torch.tensor([0.5]), "ternary")  # type: ignore[arg-type]
