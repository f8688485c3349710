"""Local files are checked against the registry's md5s before they are read; stale download parts go."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import time
from pathlib import Path

import pytest

from neuroemu.data import ChecksumError, get_spec, load_arrays
from neuroemu.data import verify as verify_module
from neuroemu.data.download import STALE_PART_SECONDS, remove_stale_parts
from neuroemu.data.verify import VERIFIED_FILE


def _copy(shared_data: Path, name: str, into: Path) -> Path:
    folder = into / "mnist"
    shutil.copytree(shared_data / name, folder)
    for path in folder.iterdir():
        path.chmod(0o644)
    return folder


def test_another_data_set_in_the_mnist_folder_is_refused(shared_data: Path, tmp_path: Path) -> None:
    folder = _copy(shared_data, "fashion-mnist", tmp_path)
    with pytest.raises(ChecksumError, match=r"t10k-images-idx3-ubyte.gz: md5 .* is not the published md5"):
        load_arrays("mnist", "test", root=folder.parent, download=False)


@pytest.mark.parametrize("kind", ["images", "labels"])
def test_an_edited_uncompressed_file_is_refused(shared_data: Path, tmp_path: Path, kind: str) -> None:
    folder = _copy(shared_data, "mnist", tmp_path)
    file = get_spec("mnist").file("test", kind)
    raw = bytearray(gzip.decompress((folder / file.filename).read_bytes()))
    raw[-1] = 42  # one label out of 0..9, or one pixel changed
    (folder / file.raw_filename).write_bytes(bytes(raw))  # preferred over the .gz copy
    with pytest.raises(ChecksumError, match=f"{file.raw_filename}: md5"):
        load_arrays("mnist", "test", root=tmp_path, download=False)


def test_a_file_is_hashed_once_per_version(shared_data: Path, tmp_path: Path, isolated: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _copy(shared_data, "mnist", tmp_path)
    load_arrays("mnist", "test", root=tmp_path, download=False)
    recorded = json.loads((isolated / VERIFIED_FILE).read_text())
    assert {Path(k.split("|")[0]).name for k in recorded} == {"t10k-images-idx3-ubyte.gz",
                                                              "t10k-labels-idx1-ubyte.gz"}
    monkeypatch.setattr(verify_module, "_verified", set())  # a new process: only the record remains
    calls = []
    real_md5 = verify_module.hashlib.md5
    monkeypatch.setattr(verify_module.hashlib, "md5", lambda **kw: calls.append(1) or real_md5(**kw))
    labels = get_spec("mnist").file("test", "labels")
    verify_module.verify_local_file(folder / labels.filename, labels)
    assert calls == []
    later = (folder / labels.filename).stat().st_mtime + 5
    os.utime(folder / labels.filename, (later, later))  # a new version of the file is checked again
    verify_module.verify_local_file(folder / labels.filename, labels)
    assert calls == [1]


def test_stale_download_parts_are_removed(tmp_path: Path) -> None:
    dest = tmp_path / "t10k-labels-idx1-ubyte.gz"
    stale, live, other = (tmp_path / f".{dest.name}.abc.part", tmp_path / f".{dest.name}.def.part",
                          tmp_path / ".train-images-idx3-ubyte.gz.xyz.part")
    for path in (stale, live, other):
        path.write_bytes(b"partial")
    old = time.time() - STALE_PART_SECONDS - 10
    os.utime(stale, (old, old))
    os.utime(other, (old, old))
    assert remove_stale_parts(dest) == [stale]
    assert not stale.exists() and live.exists() and other.exists()
