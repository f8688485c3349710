import math

import pytest
import torch

from neuroemu.lowbit.quantizers import (
    binarize_stochastic,
    dorefa_activations,
    dorefa_weights,
    quantize_k,
    sign_ste,
    ternarize,
    ternary_parts,
    xnor_weights,
)
from neuroemu.lowbit.schemes import parse_scheme


def test_sign_forward_and_straight_through_gradient():
    x = torch.tensor([-2.0, -1.0, -0.3, 0.0, 0.5, 1.0, 1.5], requires_grad=True)
    y = sign_ste(x)
    assert y.tolist() == [-1, -1, -1, 1, 1, 1, 1]
    y.backward(torch.full_like(x, 3.0))
    assert x.grad.tolist() == [0, 3, 3, 3, 3, 3, 0]  # 1_{|x| <= 1}


def test_stochastic_binarisation_probability():
    n, x = 40_000, 0.3
    draws = binarize_stochastic(torch.full((n,), x), torch.Generator().manual_seed(0))
    assert set(draws.unique().tolist()) == {-1.0, 1.0}
    p = (x + 1) / 2
    observed = (draws == 1).float().mean().item()
    assert abs(observed - p) < 4 * math.sqrt(p * (1 - p) / n)
    # hard sigmoid saturates: always +1 above 1, always −1 below −1
    assert binarize_stochastic(torch.tensor([1.5, -1.5])).tolist() == [1.0, -1.0]


def test_ternary_weight_network_hand_example():
    w = torch.tensor([0.9, -0.05, 0.4, -0.6, 0.1])
    # E|W| = 0.41, Δ = 0.287: 0.9, 0.4 and −0.6 survive; α is their mean magnitude
    t, alpha = ternary_parts(w)
    assert t.tolist() == [1, 0, 1, -1, 0]
    assert alpha.item() == pytest.approx((0.9 + 0.4 + 0.6) / 3)
    w.requires_grad_(True)
    ternarize(w).sum().backward()
    assert w.grad.tolist() == [1.0] * 5  # straight through


def test_xnor_per_filter_scale_hand_example():
    w = torch.tensor([[1.0, -2.0, 3.0], [-0.5, 0.5, -0.5]])
    assert xnor_weights(w).tolist() == [[2, -2, 2], [-0.5, 0.5, -0.5]]


def test_quantize_k_levels_and_identity_gradient():
    x = torch.linspace(0, 1, 101, requires_grad=True)
    q = quantize_k(x, 2)
    assert sorted(set(q.tolist())) == pytest.approx([0, 1 / 3, 2 / 3, 1])
    assert q[40].item() == pytest.approx(1 / 3)  # round(3 · 0.4) / 3
    q.sum().backward()
    assert torch.equal(x.grad, torch.ones_like(x))


@pytest.mark.parametrize("bits", [1, 2, 4])
def test_dorefa_ranges_and_levels(bits):
    w = torch.randn(1000, generator=torch.Generator().manual_seed(bits))
    qw = dorefa_weights(w, bits)
    assert qw.min() >= -1 and qw.max() <= 1
    assert len(qw.unique()) <= 2**bits
    assert qw[w.abs().argmax()].abs().item() == 1.0  # the largest weight maps onto ±1
    a = dorefa_activations(torch.linspace(-1, 2, 301), bits)
    assert a.min() == 0 and a.max() == 1 and len(a.unique()) == 2**bits


def test_schemes():
    assert parse_scheme("xnor").weight_kind("first") == "float"
    assert parse_scheme("bnn").weight_kind("first") == "binary"
    dorefa = parse_scheme("dorefa:2,4")
    assert (dorefa.weight_bits, dorefa.activation_bits, dorefa.weight_kind("hidden")) == (2, 4, "dorefa")
    with pytest.raises(ValueError, match="binaryconnect, bnn, xnor, ternary"):
        parse_scheme("int8")
    with pytest.raises(ValueError, match=r"weight bits must be in 1\.\.16"):
        parse_scheme("dorefa:0,4")
