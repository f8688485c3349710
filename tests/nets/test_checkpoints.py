import pickle
import re

import pytest
import torch

from neuroemu.data import load_tensors
from neuroemu.nets import (
    CheckpointError,
    LeNet5,
    UnknownModelError,
    load_checkpoint,
    load_model,
    save_checkpoint,
    shipped_models,
)
from neuroemu.nets.accuracy import accuracy
from neuroemu.nets.checkpoints import resolve_model, state_dict_sha256

# The accuracy each shipped checkpoint must reach on the full test set (the foundation issue's targets).
TARGETS = {
    "lenet5-mnist": ("mnist", 0.990),
    "lenet5-fashion": ("fashion-mnist", 0.89),
    # the low-bit issue's targets: ternary >= 99.0 %, BinaryConnect-style >= 98.5 %
    "lenet5-mnist-ternary": ("mnist", 0.990),
    "lenet5-mnist-binaryconnect": ("mnist", 0.985),
    "lenet5-mnist-bnn": ("mnist", 0.975),  # fully binarised: >= 97.5 %
    "lenet5-mnist-xnor": ("mnist", 0.985),  # XNOR-Net: the issue's >= 98.5 % (ships 98.74 %)
    # Fashion-MNIST twins (no target in the issue: the test holds what is shipped, rounded down)
    "lenet5-fashion-ternary": ("fashion-mnist", 0.90),
    "lenet5-fashion-binaryconnect": ("fashion-mnist", 0.895),
    "lenet5-fashion-xnor": ("fashion-mnist", 0.885),
    "lenet5-fashion-bnn": ("fashion-mnist", 0.85),
    # tanh networks for stochastic computing (SC-DCNN's activations approximate tanh)
    "lenet5-mnist-tanh": ("mnist", 0.990),
    "lenet5-mnist-tanh-avg": ("mnist", 0.985),
    "lenet5-mnist-tanh-lrn": ("mnist", 0.99),  # with local response normalisation (SC LRN)
    # hardware-aware fine-tunes of lenet5-mnist (train --init lenet5-mnist --hwa ...): ship 99.33 / 99.26 %
    "lenet5-mnist-hwa-pcm": ("mnist", 0.99),
    "lenet5-mnist-hwa-rram": ("mnist", 0.99),
}


def test_every_target_is_shipped():
    assert set(TARGETS) <= set(shipped_models())


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_shipped_checkpoint_reaches_its_accuracy(name, data_root):
    dataset, target = TARGETS[name]
    checkpoint = load_checkpoint(name)
    assert checkpoint.dataset == dataset
    images, labels = load_tensors(dataset, "test", normalize=checkpoint.normalize)
    assert len(images) == 10_000
    assert accuracy(checkpoint.build(), images, labels) >= target
    assert "command" in checkpoint.provenance  # how it was made is recorded


def test_round_trip(tmp_path):
    model = LeNet5("tanh", "avg")
    path = save_checkpoint(model, tmp_path / "m.pt", dataset="mnist", normalize="unit", provenance={"x": 1})
    loaded = load_model(path)
    assert isinstance(loaded.act1, torch.nn.Tanh) and not loaded.training
    x = torch.rand(2, 1, 28, 28)
    assert torch.equal(loaded(x), model.eval()(x))


def test_unknown_name_lists_known():
    with pytest.raises(UnknownModelError, match="lenet5-mnist"):
        load_checkpoint("resnet-imagenet")


def test_missing_file():
    with pytest.raises(UnknownModelError, match="does not exist"):
        load_checkpoint("/nonexistent/model.pt")


def test_corrupt_file(tmp_path):
    path = tmp_path / "bad.pt"
    path.write_bytes(b"this is not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable"):
        load_checkpoint(path)


class _Exploit:
    def __reduce__(self):
        return (print, ("code ran while loading",))


def test_pickled_code_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    with path.open("wb") as f:
        pickle.dump({"format": 1, "payload": _Exploit()}, f)
    with pytest.raises(CheckpointError, match="not a readable"):
        load_checkpoint(path)


def test_wrong_architecture(tmp_path):
    path = save_checkpoint(LeNet5(), tmp_path / "m.pt", dataset="mnist", normalize="unit", provenance={})
    payload = torch.load(path, weights_only=True)
    payload["state_dict"]["fc1.weight"] = torch.zeros(120, 256)
    payload["sha256"] = state_dict_sha256(payload["state_dict"])  # consistent: only the shape is wrong
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="does not fit architecture"):
        load_checkpoint(path)


def test_plain_state_dict_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "sd.pt"
    torch.save(LeNet5().state_dict(), path)
    with pytest.raises(CheckpointError, match="not a neuroemu checkpoint"):
        load_checkpoint(path)


def test_provenance_is_plain_data(tmp_path):
    provenance = {"torch": torch.__version__, "nested": {"losses": [0.5, 0.25]}}
    path = save_checkpoint(LeNet5(), tmp_path / "m.pt", dataset="mnist", normalize="unit",
                           provenance=provenance)
    expected = {"torch": str(torch.__version__), "nested": {"losses": [0.5, 0.25]}}
    assert load_checkpoint(path).provenance == expected


def _edited(tmp_path, edit, *, rehash=True):
    """A saved LeNet-5 checkpoint with ``edit(payload)`` applied (and its sha256 made to match)."""
    path = save_checkpoint(LeNet5(), tmp_path / "m.pt", dataset="mnist", normalize="unit", provenance={})
    payload = torch.load(path, weights_only=True)
    edit(payload)
    if rehash:
        payload["sha256"] = state_dict_sha256(payload["state_dict"])
    torch.save(payload, path)
    return path


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_weights_are_refused(tmp_path, value):
    path = _edited(tmp_path, lambda p: p["state_dict"]["conv1.weight"].view(-1).__setitem__(3, value))
    with pytest.raises(CheckpointError, match=r"conv1\.weight holds NaN or infinite values"):
        load_checkpoint(path)


def test_flipped_bytes_in_the_weights_are_refused(tmp_path):
    path = save_checkpoint(LeNet5(), tmp_path / "m.pt", dataset="mnist", normalize="unit", provenance={})
    weights = torch.load(path, weights_only=True)["state_dict"]["fc1.weight"]
    data = bytearray(path.read_bytes())
    start = bytes(data).index(weights.numpy().tobytes()[:64]) + 1000
    for i in range(start, start + 50):
        data[i] ^= 0x10
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="do not match the checkpoint's sha256"):
        load_checkpoint(path)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("dataset", "imagenet", "unknown dataset 'imagenet'; known: fashion-mnist, mnist"),
    ("normalize", "zscore", "unknown normalize 'zscore'; known: unit, standard, none"),
    ("dataset", 3, "field 'dataset' must be a str, got int"),
    ("config", [1, 2], "field 'config' must be a dict, got list"),
    ("sha256", None, "field 'sha256' must be a str, got NoneType"),
    ("provenance", "made by hand", "field 'provenance' must be a dict"),
])
def test_fields_of_the_wrong_type_or_value_are_refused(tmp_path, field, value, message):
    path = _edited(tmp_path, lambda p: p.__setitem__(field, value), rehash=False)
    with pytest.raises(CheckpointError, match=re.escape(message)):
        load_checkpoint(path)


def test_format_1_checkpoints_load_without_a_hash(tmp_path):
    def to_format_1(payload):
        payload["format"] = 1
        del payload["sha256"]

    path = _edited(tmp_path, to_format_1, rehash=False)
    assert load_checkpoint(path).arch == "lenet5"


def test_every_shipped_checkpoint_carries_a_matching_sha256():
    for name in shipped_models():
        payload = torch.load(resolve_model(name), weights_only=True)
        assert payload["format"] == 2
        assert payload["sha256"] == state_dict_sha256(payload["state_dict"]), name


def test_a_folder_is_not_a_checkpoint(tmp_path):
    with pytest.raises(UnknownModelError, match="is a folder, not a checkpoint file"):
        resolve_model(tmp_path)
