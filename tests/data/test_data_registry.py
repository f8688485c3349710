"""The data set specs: names, files, checksums, mirrors, classes, argument checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from neuroemu.data import DATASETS, DatasetSpec, UnknownDatasetError, get_spec, load_arrays, locate


def test_known_datasets() -> None:
    assert set(DATASETS) == {"mnist", "fashion-mnist"}
    for key, spec in DATASETS.items():
        assert isinstance(spec, DatasetSpec)
        assert spec.name == spec.folder == key
        assert len(spec.files) == 4
        assert {(f.split, f.kind) for f in spec.files} == {
            (s, k) for s in ("train", "test") for k in ("images", "labels")
        }
        assert len(spec.classes) == 10
        assert all(m.endswith("/") for m in spec.mirrors)
    assert DATASETS["mnist"].mirrors[0] == "https://ossci-datasets.s3.amazonaws.com/mnist/"
    assert DATASETS["mnist"].mirrors[1] == "http://yann.lecun.com/exdb/mnist/"
    assert (DATASETS["mnist"].mean, DATASETS["mnist"].std) == (0.1307, 0.3081)
    assert (DATASETS["fashion-mnist"].mean, DATASETS["fashion-mnist"].std) == (0.2860, 0.3530)
    assert DATASETS["fashion-mnist"].classes[0] == "T-shirt/top"
    assert DATASETS["fashion-mnist"].classes[9] == "Ankle boot"
    spec = DATASETS["mnist"]
    assert spec.file("train", "images").filename == "train-images-idx3-ubyte.gz"
    assert spec.file("test", "labels").raw_filename == "t10k-labels-idx1-ubyte"
    assert spec.file("test", "labels").magic == 2049
    assert spec.file("test", "images").magic == 2051


def test_spec_is_frozen() -> None:
    with pytest.raises(AttributeError):
        DATASETS["mnist"].mean = 0.5  # type: ignore[misc]


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_md5s_match_published_list(shared_data: Path, name: str) -> None:
    """The .gz md5s in the registry equal the md5sums file shipped with the real copies."""
    listed = {}
    for line in (shared_data / name / "md5sums").read_text().splitlines():
        if line.strip():
            md5, file = line.split()
            listed[file.lstrip("*")] = md5
    assert {f.filename: f.md5 for f in DATASETS[name].files} == listed


def test_name_aliases() -> None:
    assert get_spec("MNIST") is DATASETS["mnist"]
    assert get_spec("fashion_mnist") is DATASETS["fashion-mnist"]


def test_unknown_name_lists_known() -> None:
    for call in (lambda: get_spec("cifar10"), lambda: load_arrays("cifar10"), lambda: locate("kmnist")):
        with pytest.raises(UnknownDatasetError) as info:
            call()
        assert isinstance(info.value, ValueError)
        assert "'mnist'" in str(info.value)
        assert "'fashion-mnist'" in str(info.value)


def test_bad_split() -> None:
    with pytest.raises(ValueError, match=r"split must be one of \('train', 'test'\), got 'val'"):
        load_arrays("mnist", "val")
