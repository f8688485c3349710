"""IDX parsing: raw and gzip files, caching, and clear errors for corrupt files."""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from neuroemu.data import DATASETS, DataError, load_arrays, read_idx
from neuroemu.data.idx import parse_idx


def _idx(array: np.ndarray, code: int = 0x08) -> bytes:
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def test_raw_files_work_like_gz(shared_data: Path, tmp_path: Path, link: Callable[..., Path]) -> None:
    """A folder mixing uncompressed test files and .gz train files is found and loads the same data."""
    spec = DATASETS["mnist"]
    folder = link(
        shared_data / "mnist",
        tmp_path / "root" / "mnist",
        skip=("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
    )
    for kind in ("images", "labels"):
        file = spec.file("test", kind)
        raw = gzip.decompress((shared_data / "mnist" / file.filename).read_bytes())
        assert hashlib.md5(raw).hexdigest() == file.raw_md5
        (folder / file.raw_filename).write_bytes(raw)
    images, labels = load_arrays("mnist", "test", root=tmp_path / "root")
    ref_images, ref_labels = load_arrays("mnist", "test", root=shared_data)
    assert np.array_equal(images, ref_images) and np.array_equal(labels, ref_labels)
    train_images, _ = load_arrays("mnist", "train", root=tmp_path / "root")
    assert train_images.shape == (60000, 28, 28)


def test_parse_other_dtypes() -> None:
    a = np.arange(24, dtype=np.int32).reshape(2, 3, 4) - 5
    magic, b = parse_idx(_idx(a, 0x0C))
    assert magic == 0x0C03 and b.dtype == np.int32 and np.array_equal(a, b)
    assert not b.flags.writeable
    f = np.linspace(0, 1, 7)
    _, g = parse_idx(_idx(f, 0x0E))
    assert np.array_equal(f, g) and g.dtype.isnative


def test_read_idx_caches_until_the_file_changes(tmp_path: Path) -> None:
    path = tmp_path / "labels-idx1-ubyte"
    path.write_bytes(_idx(np.array([1, 2, 3], dtype=np.uint8)))
    first = read_idx(path, expected_magic=2049)
    assert read_idx(path) is first
    path.write_bytes(_idx(np.array([4, 5], dtype=np.uint8)))
    os.utime(path, ns=(1, 1))  # make sure the mtime differs even on coarse clocks
    assert read_idx(path).tolist() == [4, 5]


@pytest.mark.parametrize(
    ("content", "pattern"),
    [
        (b"\x00\x00\x08", "too short"),
        (b"PK\x03\x04" + bytes(20), "bad magic number"),
        (bytes([0, 0, 0x08, 3]) + struct.pack(">2I", 10, 28), "truncated IDX header"),
        (
            bytes([0, 0, 0x08, 3]) + struct.pack(">3I", 10, 28, 28) + bytes(28 * 28 * 9),
            r"corrupt IDX file \(truncated\)",
        ),
        (bytes([0, 0, 0x08, 1]) + struct.pack(">I", 3) + bytes(4), "trailing bytes"),
    ],
)
def test_corrupt_idx_names_the_file(tmp_path: Path, content: bytes, pattern: str) -> None:
    path = tmp_path / "broken-idx3-ubyte"
    path.write_bytes(content)
    with pytest.raises(DataError, match=pattern) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_truncated_gzip_names_the_file(shared_data: Path, tmp_path: Path) -> None:
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes((shared_data / "mnist" / path.name).read_bytes()[:2000])
    with pytest.raises(DataError, match="cannot read IDX file") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def _broken_root(
    shared_data: Path, tmp_path: Path, file: str, content: bytes, link: Callable[..., Path]
) -> Path:
    root = tmp_path / "root"
    folder = link(shared_data / "mnist", root / "mnist", skip=(f"{file}.gz",))
    (folder / file).write_bytes(content)
    return root


def test_wrong_magic_in_dataset(shared_data: Path, tmp_path: Path, link: Callable[..., Path]) -> None:
    """An images file where the labels should be: clear error naming the file (its md5 is checked first)."""
    images = gzip.decompress((shared_data / "mnist" / "t10k-images-idx3-ubyte.gz").read_bytes())
    root = _broken_root(shared_data, tmp_path, "t10k-labels-idx1-ubyte", images, link)
    with pytest.raises(DataError, match="is not the published md5") as info:
        load_arrays("mnist", "test", root=root)
    assert "t10k-labels-idx1-ubyte" in str(info.value)


def test_truncated_body_in_dataset(shared_data: Path, tmp_path: Path, link: Callable[..., Path]) -> None:
    images = gzip.decompress((shared_data / "mnist" / "t10k-images-idx3-ubyte.gz").read_bytes())
    root = _broken_root(shared_data, tmp_path, "t10k-images-idx3-ubyte", images[:-1000], link)
    with pytest.raises(DataError, match="cut short or from another data set") as info:
        load_arrays("mnist", "test", root=root)
    assert "t10k-images-idx3-ubyte" in str(info.value)
