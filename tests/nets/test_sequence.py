"""layer_sequence: a model read as the chain of its children, checked against its forward on a probe."""

import re

import pytest
import torch
from torch import nn

from neuroemu.nets import LeNet5
from neuroemu.nets.sequence import layer_sequence


class Written(nn.Module):
    """A forward written out, in the order the children are registered; a nested Sequential and an
    identity among them; a dropout that makes the training-mode forward random."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU())
        self.skip = nn.Identity()
        self.drop = nn.Dropout(0.5)
        self.flatten, self.fc = nn.Flatten(), nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.flatten(self.drop(self.skip(self.features(x)))))


class Swapped(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Linear(3, 3), nn.Linear(3, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.a(self.b(x))


def test_children_in_order_nested_sequential_opened_identities_dropped():
    model = Written().train()
    sequence = layer_sequence(model, (1, 4, 4))
    assert [name for name, _ in sequence] == ["features.0", "features.1", "drop", "flatten", "fc"]
    assert sequence[0][1] is model.features[0]
    # the probe ran in evaluation mode (dropout off) and the training flags are back
    assert all(module.training for module in model.modules())


def test_float_lenet5_reads_as_its_layers():
    names = [name for name, _ in layer_sequence(LeNet5(), (1, 28, 28))]
    assert names == ["conv1", "act1", "pool1", "conv2", "act2", "pool2", "flatten", "fc1", "act3", "fc2",
                     "act4", "fc3"]


def test_plain_sequential_needs_no_probe():
    model = nn.Sequential(nn.Linear(4, 2), nn.ReLU())  # takes (B, 4), which no (C, H, W) probe is
    assert [name for name, _ in layer_sequence(model, (1, 28, 28))] == ["0", "1"]


def test_a_forward_in_another_order_is_refused():
    with pytest.raises(ValueError, match="Swapped's forward is not its children applied in order: applying "
                                         "them in order gives other values"):
        layer_sequence(Swapped(), (1, 1, 3))


def test_a_model_that_does_not_run_on_the_probe_names_input_shape():
    with pytest.raises(ValueError, match=re.escape("Written does not run on a probe input of shape "
                                                   "(3, 4, 4) (input_shape")):
        layer_sequence(Written(), (3, 4, 4))
