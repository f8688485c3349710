"""Loading the real files: arrays, tensors, normalisation, limit, Dataset and DataLoader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from neuroemu.data import DATASETS, IdxDataset, load_arrays, load_tensors, make_loader

MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
@pytest.mark.parametrize("split", ["train", "test"])
def test_arrays(shared_data: Path, name: str, split: str) -> None:
    images, labels = load_arrays(name, split, root=shared_data)
    n = 60000 if split == "train" else 10000
    assert images.shape == (n, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (n,) and labels.dtype == np.uint8
    assert labels.min() == 0 and labels.max() == 9
    assert images.max() == 255 and images.min() == 0
    if name == "fashion-mnist":
        assert np.bincount(labels).tolist() == [n // 10] * 10


def test_mnist_train_class_counts(shared_data: Path) -> None:
    _, labels = load_arrays("mnist", "train", root=shared_data)
    assert np.bincount(labels, minlength=10).tolist() == MNIST_TRAIN_COUNTS


def test_arrays_are_read_only_and_cached(shared_data: Path) -> None:
    images, labels = load_arrays("mnist", root=shared_data)
    with pytest.raises(ValueError, match="read-only"):
        images[0, 0, 0] = 1
    with pytest.raises(ValueError, match="read-only"):
        labels[0] = 1
    again, _ = load_arrays("mnist", root=shared_data)
    assert again is images  # parsed once per process


def test_env_var_root(shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEUROEMU_DATA", str(shared_data))
    images, _ = load_arrays("fashion-mnist", "test")
    assert images.shape == (10000, 28, 28)


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_normalize_statistics(shared_data: Path, name: str) -> None:
    """ "unit" is in [0, 1] with the spec's mean/std over the training set; "standard" is ~N(0, 1)."""
    spec = DATASETS[name]
    unit, labels = load_tensors(name, "train", root=shared_data, normalize="unit")
    assert unit.shape == (60000, 1, 28, 28) and unit.dtype == torch.float32
    assert labels.shape == (60000,) and labels.dtype == torch.int64
    assert unit.min().item() == 0.0 and unit.max().item() == 1.0
    assert unit.mean().item() == pytest.approx(spec.mean, abs=5e-4)
    assert unit.std().item() == pytest.approx(spec.std, abs=5e-4)
    del unit
    standard, _ = load_tensors(name, "train", root=shared_data, normalize="standard")
    assert standard.mean().item() == pytest.approx(0.0, abs=2e-3)
    assert standard.std().item() == pytest.approx(1.0, abs=2e-3)


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_normalize_modes_agree(shared_data: Path, name: str) -> None:
    spec = DATASETS[name]
    raw, labels = load_tensors(name, "test", root=shared_data, normalize="none")
    unit, _ = load_tensors(name, "test", root=shared_data, normalize="unit")
    standard, _ = load_tensors(name, "test", root=shared_data, normalize="standard")
    assert raw.dtype == torch.float32 and raw.min().item() == 0.0 and raw.max().item() == 255.0
    assert torch.allclose(unit, raw / 255, atol=1e-6)
    assert torch.allclose(standard, (unit - spec.mean) / spec.std, atol=1e-5)
    arrays, array_labels = load_arrays(name, "test", root=shared_data)
    assert torch.equal(raw[:, 0].to(torch.uint8), torch.from_numpy(arrays.copy()))
    assert torch.equal(labels, torch.from_numpy(array_labels.astype(np.int64)))


def test_tensors_are_writable_copies(shared_data: Path) -> None:
    x, y = load_tensors("mnist", root=shared_data, limit=10)
    x.zero_()
    y.zero_()
    x2, y2 = load_tensors("mnist", root=shared_data, limit=10)
    assert x2.sum() > 0 and y2.sum() > 0


def test_limit(shared_data: Path) -> None:
    x, y = load_tensors("mnist", "test", root=shared_data, limit=100)
    full_x, full_y = load_tensors("mnist", "test", root=shared_data)
    assert x.shape == (100, 1, 28, 28) and y.shape == (100,)
    assert torch.equal(x, full_x[:100]) and torch.equal(y, full_y[:100])
    x, _ = load_tensors("mnist", "test", root=shared_data, limit=10**6)
    assert len(x) == 10000


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"normalize": "zscore"}, r"normalize must be one of \('unit', 'standard', 'none'\), got 'zscore'"),
        ({"limit": 0}, "limit must be None or a positive int, got 0"),
        ({"limit": -5}, "limit must be None or a positive int"),
        ({"limit": 2.5}, "limit must be None or a positive int"),
        ({"limit": True}, "limit must be None or a positive int"),
        ({"split": "validation"}, "split must be one of"),
    ],
)
def test_bad_arguments(kwargs: dict, pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        load_tensors("mnist", **kwargs)


def test_dataset(shared_data: Path) -> None:
    ds = IdxDataset("fashion-mnist", "test", root=shared_data, limit=50)
    assert len(ds) == 50
    image, label = ds[3]
    assert image.shape == (1, 28, 28) and image.dtype == torch.float32
    assert label.dtype == torch.int64
    assert ds.classes[0] == "T-shirt/top"
    assert "fashion-mnist" in repr(ds)


def test_loader_batches(shared_data: Path) -> None:
    x, y = load_tensors("mnist", "test", root=shared_data)
    loader = make_loader("mnist", "test", batch_size=256, root=shared_data)
    batches = list(loader)
    assert len(batches) == 40  # 39 full batches and one of 16
    assert batches[0][0].shape == (256, 1, 28, 28) and batches[0][1].shape == (256,)
    assert batches[-1][0].shape == (16, 1, 28, 28)
    assert batches[0][1].dtype == torch.int64
    assert torch.equal(torch.cat([b[0] for b in batches]), x)
    assert torch.equal(torch.cat([b[1] for b in batches]), y)


def test_loader_shuffle_is_seeded(shared_data: Path) -> None:
    def labels(seed: int) -> torch.Tensor:
        loader = make_loader(
            "mnist", "test", batch_size=100, shuffle=True, seed=seed, root=shared_data, limit=1000
        )
        return torch.cat([b[1] for b in loader])

    a, b, c = labels(3), labels(3), labels(4)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    _, y = load_tensors("mnist", "test", root=shared_data, limit=1000)
    assert not torch.equal(a, y)  # shuffled...
    assert torch.equal(torch.bincount(a), torch.bincount(y))  # ...but the same samples
