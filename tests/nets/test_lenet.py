import pytest
import torch
from torch import nn

from neuroemu.digital import count_macs
from neuroemu.ledger import Ledger
from neuroemu.nets import LeNet5
from neuroemu.nets.lenet import LRN


@pytest.mark.parametrize("activation,pooling", [("relu", "max"), ("tanh", "avg")])
def test_shapes_and_layers(activation, pooling):
    model = LeNet5(activation, pooling)
    assert model(torch.zeros(7, 1, 28, 28)).shape == (7, 10)
    assert isinstance(model.act1, nn.ReLU if activation == "relu" else nn.Tanh)
    assert isinstance(model.pool2, nn.MaxPool2d if pooling == "max" else nn.AvgPool2d)
    assert model.config() == {"activation": activation, "pooling": pooling}


def test_classic_parameter_count_and_macs():
    model = LeNet5()
    # conv1 156 + conv2 2416 + fc1 48120 + fc2 10164 + fc3 850
    assert sum(p.numel() for p in model.parameters()) == 61706
    ledger = Ledger()
    with count_macs(model, ledger):
        model(torch.zeros(1, 1, 28, 28))
    assert ledger.count("mac") == 6 * 28 * 28 * 25 + 16 * 10 * 10 * 150 + 400 * 120 + 120 * 84 + 84 * 10


@pytest.mark.parametrize("kwargs,field", [({"activation": "gelu"}, "activation"),
                                          ({"pooling": "l2"}, "pooling")])
def test_bad_options(kwargs, field):
    with pytest.raises(ValueError, match=field):
        LeNet5(**kwargs)


@pytest.mark.parametrize("quant", ["xnor", "bnn", "dorefa:2,2", "ternary"])
def test_quantised_max_pooling_before_activation_computes_the_same(quant):
    # the quantised network pools before its activation (better gradients); the values must equal the
    # classic conv → bn → act → pool order, since every quantised activation is non-decreasing
    torch.manual_seed(0)
    model = LeNet5(quant=quant).eval()
    x = torch.rand(16, 1, 28, 28)
    with torch.no_grad():
        h = model.pool1(model.act1(model.bn1(model.conv1(x))))
        h = model.pool2(model.act2(model.bn2(model.conv2(h))))
        h = model.act3(model.bn3(model.fc1(model.flatten(h))))
        classic = model.bn5(model.fc3(model.act4(model.bn4(model.fc2(h)))))
        assert torch.equal(model(x), classic)


def test_lrn_option_normalises_after_the_first_pooling():
    model = LeNet5("tanh", lrn=True).eval()
    assert isinstance(model.lrn1, torch.nn.LocalResponseNorm) and model.config()["lrn"] is True
    assert "lrn" not in LeNet5("tanh").config() and isinstance(LeNet5("tanh").lrn1, torch.nn.Identity)
    x = torch.rand(2, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    a = model.pool1(model.act1(model.conv1(x)))  # (2, 6, 14, 14)
    half = LRN["size"] // 2
    sums = torch.stack([(a[:, max(0, c - half):c + half + 1] ** 2).sum(1) for c in range(6)], dim=1)
    expected = a / (LRN["k"] + LRN["alpha"] / LRN["size"] * sums) ** LRN["beta"]
    assert torch.allclose(model.lrn1(a), expected, atol=1e-6)
    with pytest.raises(ValueError, match="lrn"):
        LeNet5(lrn="yes")
