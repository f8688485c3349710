"""An ideal device without converters reproduces the float model (any tiling, mapping or scaling)."""

import pytest
import torch
from torch import nn

import neuroemu
from neuroemu.crossbar import Crossbar, CrossbarLayer, crossbar_layers
from neuroemu.nets import load_checkpoint
from neuroemu.nets.accuracy import accuracy


def test_lenet5_logits_match_float_model(data_root):
    from neuroemu.data import load_tensors

    float_model = load_checkpoint("lenet5-mnist").build()
    images, labels = load_tensors("mnist", "test", limit=500)
    emulated = neuroemu.map(float_model, Crossbar(device="ideal"))
    assert len(crossbar_layers(emulated)) == 5
    names = ("conv1", "conv2", "fc1", "fc2", "fc3")
    assert all(isinstance(getattr(emulated, n), CrossbarLayer) for n in names)
    with torch.inference_mode():
        diff = (emulated(images) - float_model(images)).abs().max()
    assert float(diff) <= 1e-4
    assert accuracy(emulated, images, labels) == accuracy(float_model, images, labels)


class Small(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 5, kernel_size=3, stride=2, padding=1, dilation=1)
        self.body = nn.Sequential(nn.ReLU(), nn.Flatten(), nn.Linear(5 * 4 * 4, 7, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(self.conv(x))


@pytest.mark.parametrize("options", [
    {"array": (7, 3)},
    {"array": (10, 4), "mapping": "reference"},
    {"scaling": "layer"},
    {"array": (16, 2), "trials": 3},
    {"array": (9, 4), "slicing": (12, 2)},
])
def test_small_model_matches_float_for_any_layout(options):
    torch.manual_seed(0)
    model = Small().eval()
    x = torch.randn(6, 3, 8, 8)
    emulated = neuroemu.map(model, Crossbar(device="ideal", **options))
    assert isinstance(emulated.body[2], CrossbarLayer)
    with torch.inference_mode():
        out = emulated(x)
        ref = model(x)
    trials = options.get("trials", 1)
    if trials > 1:
        assert out.shape == (trials, 6, 7)
        out = out.reshape(-1, 7)
        ref = ref.repeat(trials, 1)
    assert out.shape == ref.shape
    assert float((out - ref).abs().max()) <= 1e-5


def test_map_leaves_the_float_model_alone():
    model = Small().eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    neuroemu.map(model, Crossbar(device="ideal"))
    assert isinstance(model.conv, nn.Conv2d)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
