"""Downloads for real, from a local HTTP server that can inject faults; no test touches the network."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from neuroemu.data import (
    DATASETS,
    ChecksumError,
    DataNotFoundError,
    DownloadError,
    download_file,
    load_arrays,
    locate,
    search,
)

MNIST = DATASETS["mnist"]
LABELS = MNIST.file("test", "labels")  # the smallest file: 4542 bytes


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def _files(folder: Path) -> list[str]:
    """Every entry in ``folder``, hidden ones (temporary files) included."""
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_full_download_then_cache(http_mirror, shared_data: Path, isolated: Path, monkeypatch) -> None:
    """(a) All four MNIST files are downloaded into the cache, checked, then used without the server."""
    monkeypatch.setenv("NEUROEMU_MIRRORS", http_mirror.url("mnist"))
    images, labels = load_arrays("mnist", "test")
    folder = isolated / "mnist"
    assert _files(folder) == sorted(f.filename for f in MNIST.files)
    for f in MNIST.files:
        assert _md5(folder / f.filename) == f.md5
    assert sorted(http_mirror.requests) == sorted(f"/mnist/{f.filename}" for f in MNIST.files)
    ref_images, ref_labels = load_arrays("mnist", "test", root=shared_data)
    assert np.array_equal(images, ref_images) and np.array_equal(labels, ref_labels)

    http_mirror.stop()
    assert locate("mnist") == folder
    train_images, _ = load_arrays("mnist", "train")
    assert train_images.shape == (60000, 28, 28)
    assert len(http_mirror.requests) == 4


def test_download_file_ok(http_mirror, tmp_path: Path) -> None:
    dest = tmp_path / "dl" / LABELS.filename
    assert download_file(http_mirror.url("mnist") + LABELS.filename, dest, LABELS.md5, LABELS.size) == dest
    assert _md5(dest) == LABELS.md5
    assert _files(dest.parent) == [LABELS.filename]


def test_download_without_content_length(http_mirror, tmp_path: Path) -> None:
    http_mirror.faults[f"/mnist/{LABELS.filename}"] = "nolength"
    dest = tmp_path / LABELS.filename
    download_file(http_mirror.url("mnist") + LABELS.filename, dest, LABELS.md5)
    assert _md5(dest) == LABELS.md5


def test_checksum_mismatch(http_mirror, tmp_path: Path) -> None:
    """(b) Altered bytes: ChecksumError naming file, URL and both md5s; nothing left behind."""
    http_mirror.faults[f"/mnist/{LABELS.filename}"] = "corrupt"
    url = http_mirror.url("mnist") + LABELS.filename
    folder = tmp_path / "cache" / "mnist"
    with pytest.raises(ChecksumError) as info:
        download_file(url, folder / LABELS.filename, LABELS.md5, LABELS.size)
    message = str(info.value)
    assert LABELS.filename in message and url in message and LABELS.md5 in message
    assert info.value.got in message and info.value.got != LABELS.md5
    assert _files(folder) == []


@pytest.mark.parametrize("fault", ["truncate", "truncate-nolength"])
def test_connection_drops_mid_file(http_mirror, tmp_path: Path, fault: str) -> None:
    """(c) Content-Length (or a known size), half the body, socket closed: DownloadError, nothing left."""
    http_mirror.faults[f"/mnist/{LABELS.filename}"] = fault
    url = http_mirror.url("mnist") + LABELS.filename
    folder = tmp_path / "cache" / "mnist"
    with pytest.raises(DownloadError) as info:
        download_file(url, folder / LABELS.filename, LABELS.md5, expected_size=LABELS.size)
    assert info.value.received == LABELS.size // 2
    assert info.value.expected == LABELS.size
    assert url in str(info.value) and f"received {LABELS.size // 2} of {LABELS.size} bytes" in str(info.value)
    assert _files(folder) == []


def test_http_error_and_refused(http_mirror, tmp_path: Path, dead_url: str) -> None:
    folder = tmp_path / "dl"
    with pytest.raises(DownloadError, match="HTTP 404") as info:
        download_file(http_mirror.url("nothing-here") + LABELS.filename, folder / LABELS.filename, LABELS.md5)
    assert info.value.reached
    with pytest.raises(DownloadError, match="could not connect") as info:
        download_file(dead_url + LABELS.filename, folder / LABELS.filename, LABELS.md5)
    assert not info.value.reached
    assert _files(folder) == []


def _cache_all_but_labels(shared_data: Path, isolated: Path, link: Callable[..., Path]) -> Path:
    return link(shared_data / "mnist", isolated / "mnist", skip=(LABELS.filename,))


def test_first_mirror_fails_second_works(
    http_mirror, shared_data: Path, isolated: Path, link: Callable[..., Path], dead_url: str
) -> None:
    """(d) Mirrors are tried in order; only the missing file is fetched."""
    folder = _cache_all_but_labels(shared_data, isolated, link)
    mirrors = [dead_url, http_mirror.url("missing"), http_mirror.url("mnist")]
    assert locate("mnist", mirrors=mirrors) == folder
    assert http_mirror.requests == [f"/missing/{LABELS.filename}", f"/mnist/{LABELS.filename}"]
    assert _md5(folder / LABELS.filename) == LABELS.md5
    assert _files(folder) == sorted(f.filename for f in MNIST.files)


def test_mirrors_from_env_with_folder_placeholder(
    http_mirror, shared_data: Path, isolated: Path, link: Callable[..., Path], monkeypatch
) -> None:
    folder = _cache_all_but_labels(shared_data, isolated, link)
    base = http_mirror.url("mnist").removesuffix("mnist/")
    monkeypatch.setenv("NEUROEMU_MIRRORS", f"{base}nothing/ {base}{{folder}}")
    assert locate("mnist") == folder
    assert http_mirror.requests == [f"/nothing/{LABELS.filename}", f"/mnist/{LABELS.filename}"]


def test_locate_reports_bad_download(
    http_mirror, shared_data: Path, isolated: Path, link: Callable[..., Path], dead_url: str
) -> None:
    """A mirror that answers with bad bytes gives ChecksumError (not 'not found'), all mirrors listed."""
    folder = _cache_all_but_labels(shared_data, isolated, link)
    http_mirror.faults[f"/mnist/{LABELS.filename}"] = "corrupt"
    with pytest.raises(ChecksumError) as info:
        locate("mnist", mirrors=[http_mirror.url("mnist"), dead_url])
    message = str(info.value)
    assert http_mirror.url("mnist") + LABELS.filename in message and LABELS.md5 in message
    assert dead_url + LABELS.filename in message
    assert "Set NEUROEMU_DATA" in message
    assert LABELS.filename not in _files(folder) and not any(n.startswith(".") for n in _files(folder))

    http_mirror.faults[f"/mnist/{LABELS.filename}"] = "404"
    with pytest.raises(DownloadError, match="HTTP 404"):
        locate("mnist", mirrors=[http_mirror.url("mnist")])


@pytest.mark.parametrize("given", [True, False])
def test_offline_names_every_place(
    tmp_path: Path, isolated: Path, dead_url: str, monkeypatch, given: bool
) -> None:
    """(e) Mirrors unreachable: DataNotFoundError naming every place searched, and NEUROEMU_DATA."""
    monkeypatch.setenv("NEUROEMU_MIRRORS", dead_url)
    if given:
        monkeypatch.setenv("NEUROEMU_DATA", str(tmp_path / "env"))
    with pytest.raises(DataNotFoundError) as info:
        load_arrays("fashion-mnist", root=tmp_path / "root" if given else None)
    message = str(info.value)
    if given:
        expected = [
            f"root argument (given): {tmp_path / 'root' / 'fashion-mnist'} - no such folder",
            f"root argument (given), files directly in it: {tmp_path / 'root'} - no such folder",
            f"$NEUROEMU_DATA (set): {tmp_path / 'env' / 'fashion-mnist'} - no such folder",
        ]
    else:
        expected = ["root argument: not given", "$NEUROEMU_DATA: not set"]
    expected += [
        f"Debian package dataset-fashion-mnist: {search.DEBIAN_FASHION_MNIST} - no such folder",
        f"user cache ($NEUROEMU_CACHE): {isolated / 'fashion-mnist'} - no such folder",
        f"could not connect to {dead_url}",
        "Set NEUROEMU_DATA to a folder holding mnist/ and fashion-mnist/",
    ]
    for text in expected:
        assert text in message
    assert _files(isolated / "fashion-mnist") == []
