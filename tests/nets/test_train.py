import pytest
import torch

from neuroemu.nets import TrainConfig, train
from neuroemu.nets.train import random_shift


def _weights(result):
    return {k: v.clone() for k, v in result.model.state_dict().items()}


def test_same_seed_gives_identical_weights(data_root):
    config = TrainConfig(dataset="mnist", epochs=1, seed=3, limit=512, batch_size=64)
    first, second = train(config, progress=False), train(config, progress=False)
    assert first.epoch_loss == second.epoch_loss
    for name, tensor in _weights(first).items():
        assert torch.equal(tensor, _weights(second)[name]), name
    other = train(TrainConfig(dataset="mnist", epochs=1, seed=4, limit=512, batch_size=64), progress=False)
    assert not torch.equal(other.model.fc1.weight, first.model.fc1.weight)


def test_training_learns(data_root):
    result = train(TrainConfig(dataset="mnist", epochs=2, seed=0, limit=2048), progress=False)
    assert result.epoch_loss[1] < result.epoch_loss[0]
    # chance is 0.1 (± 0.003 over 10,000 test images); 2 epochs on 2k images reach about 0.66
    assert result.test_accuracy[-1] > 0.5


def test_global_rng_untouched(data_root):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    train(TrainConfig(dataset="mnist", epochs=1, limit=128), progress=False)
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize("field,value", [("epochs", 0), ("batch_size", 0), ("lr", 0.0), ("limit", 0),
                                         ("arch", "vgg"), ("weight_decay", -1.0), ("shift", -1),
                                         ("shift", 9)])
def test_bad_config(field, value):
    with pytest.raises(ValueError, match=field):
        TrainConfig(**{field: value})


def test_binary_latent_weights_stay_clipped(data_root):
    result = train(TrainConfig(dataset="mnist", epochs=1, limit=512, lr=0.5, model={"quant": "bnn"}),
                   progress=False)
    for name in ("conv1", "conv2", "fc1", "fc2", "fc3"):
        weight = getattr(result.model, name).weight
        assert weight.abs().max() <= 1.0, name
    assert (result.model.fc1.weight.abs() == 1.0).any()  # a large learning rate pushes some onto the clip


def test_random_shift_translates_each_image_by_its_own_offset():
    images = torch.rand(64, 1, 28, 28) + 1  # no zeros, so the zero fill shows where pixels came from outside
    shifted = random_shift(images, 2, torch.Generator().manual_seed(5))
    offsets = torch.randint(-2, 3, (2, 64), generator=torch.Generator().manual_seed(5))
    seen = set()
    for i in range(64):
        dy, dx = int(offsets[0, i]), int(offsets[1, i])
        seen.add((dy, dx))
        expected = torch.zeros(1, 28, 28)
        expected[:, max(dy, 0):28 + min(dy, 0), max(dx, 0):28 + min(dx, 0)] = \
            images[i, :, max(-dy, 0):28 - max(dy, 0), max(-dx, 0):28 - max(dx, 0)]
        assert torch.equal(shifted[i], expected), (dy, dx)
    assert len(seen) > 10  # offsets differ between images, all within ±2
    assert random_shift(images, 0, torch.Generator()) is images


def test_shift_is_deterministic_and_changes_training(data_root):
    config = TrainConfig(dataset="mnist", epochs=1, seed=3, limit=512, batch_size=64, shift=2)
    first, second = train(config, progress=False), train(config, progress=False)
    for name, tensor in _weights(first).items():
        assert torch.equal(tensor, _weights(second)[name]), name
    plain = train(TrainConfig(dataset="mnist", epochs=1, seed=3, limit=512, batch_size=64), progress=False)
    assert not torch.equal(plain.model.fc1.weight, first.model.fc1.weight)
    assert first.provenance()["train_config"]["shift"] == 2
    assert "shift" not in plain.provenance()["train_config"]  # older checkpoints' provenance is unchanged
