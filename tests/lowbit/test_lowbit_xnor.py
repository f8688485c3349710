import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from neuroemu.lowbit.xnor import pack_signs, popcount, xnor_dot


@given(st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1), min_size=1, max_size=50))
def test_popcount_matches_python(values):
    expected = [bin(v & (2**64 - 1)).count("1") for v in values]
    assert popcount(torch.tensor(values, dtype=torch.int64)).tolist() == expected


@pytest.mark.parametrize("k", [1, 5, 63, 64, 65, 127, 128, 150, 400, 1000])
def test_xnor_dot_equals_float_dot_of_signs(k):
    g = torch.Generator().manual_seed(k)
    a = torch.where(torch.rand(9, k, generator=g) < 0.5, -1.0, 1.0)
    b = torch.where(torch.rand(4, k, generator=g) < 0.5, -1.0, 1.0)
    assert torch.equal(xnor_dot(pack_signs(a), pack_signs(b), k, chunk=4), (a @ b.T).long())


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 300), st.integers(0, 2**31))
def test_xnor_dot_random_sizes(k, seed):
    g = torch.Generator().manual_seed(seed)
    a, b = torch.randn(3, k, generator=g), torch.randn(2, k, generator=g)
    signs_a, signs_b = torch.where(a >= 0, 1.0, -1.0), torch.where(b >= 0, 1.0, -1.0)
    assert torch.equal(xnor_dot(pack_signs(a), pack_signs(b), k), (signs_a @ signs_b.T).long())


def test_packing_layout():
    x = torch.tensor([[1.0, -1.0, 1.0] + [-1.0] * 61 + [1.0]])  # 65 elements
    packed = pack_signs(x)
    assert packed.shape == (1, 2)
    assert packed.tolist() == [[0b101, 1]]  # bit i of word j is element 64·j + i; the tail is 0


def test_width_mismatch():
    with pytest.raises(ValueError, match="packed widths"):
        xnor_dot(torch.zeros(1, 2, dtype=torch.int64), torch.zeros(1, 3, dtype=torch.int64), 100)
