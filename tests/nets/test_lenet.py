import pytest
import torch
from torch import nn

from neuroemu.cost import Ledger, count_macs
from neuroemu.nets import LeNet5


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
