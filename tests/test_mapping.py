import pytest
import torch
from torch import nn

import neuroemu


class Doubling:
    """A toy substrate: every Linear computes twice its float output."""

    def apply(self, model: nn.Module) -> nn.Module:
        for module in model.modules():
            if isinstance(module, nn.Linear):
                with torch.no_grad():
                    module.weight.mul_(2)
                    module.bias.mul_(2)
        return model


def test_map_works_on_a_copy():
    model = nn.Sequential(nn.Linear(3, 2))
    x = torch.randn(4, 3)
    emulated = neuroemu.map(model, Doubling())
    assert torch.allclose(emulated(x), 2 * model(x))
    assert emulated is not model and not emulated.training


def test_map_rejects_non_substrates():
    with pytest.raises(TypeError, match="substrate"):
        neuroemu.map(nn.Linear(2, 2), object())
    with pytest.raises(TypeError, match="model"):
        neuroemu.map("lenet", Doubling())
