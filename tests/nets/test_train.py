import pytest
import torch

from neuroemu.nets import TrainConfig, train


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
                                         ("arch", "vgg"), ("weight_decay", -1.0)])
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
