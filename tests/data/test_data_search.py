"""Where data sets are looked for: root, $NEUROEMU_DATA, the Debian package, the user cache."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from neuroemu.data import DataNotFoundError, cache_dir, load_arrays, locate, search


def test_search_order(
    shared_data: Path,
    tmp_path: Path,
    isolated: Path,
    link: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """root beats $NEUROEMU_DATA beats the Debian package beats the cache."""
    src = shared_data / "fashion-mnist"
    root = link(src, tmp_path / "root" / "fashion-mnist").parent
    env = link(src, tmp_path / "env" / "fashion-mnist").parent
    debian = link(src, tmp_path / "debian")
    cached = link(src, isolated / "fashion-mnist")
    monkeypatch.setenv("NEUROEMU_DATA", str(env))
    monkeypatch.setattr(search, "DEBIAN_FASHION_MNIST", debian)

    assert locate("fashion-mnist", root=root, download=False) == root / "fashion-mnist"
    assert locate("fashion-mnist", download=False) == env / "fashion-mnist"
    monkeypatch.delenv("NEUROEMU_DATA")
    assert locate("fashion-mnist", download=False) == debian
    monkeypatch.setattr(search, "DEBIAN_FASHION_MNIST", tmp_path / "nowhere")
    assert locate("fashion-mnist", download=False) == cached
    images, _ = load_arrays("fashion-mnist", download=False)
    assert images.shape == (10000, 28, 28)


def test_incomplete_folders_are_skipped(
    shared_data: Path,
    tmp_path: Path,
    isolated: Path,
    link: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    src = shared_data / "mnist"
    root = link(src, tmp_path / "root" / "mnist", skip=("train-images-idx3-ubyte.gz",)).parent
    env = link(src, tmp_path / "env" / "mnist").parent
    monkeypatch.setenv("NEUROEMU_DATA", str(env))
    assert locate("mnist", root=root, download=False) == env / "mnist"


def test_debian_path_is_fashion_only(
    shared_data: Path,
    tmp_path: Path,
    isolated: Path,
    link: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(search, "DEBIAN_FASHION_MNIST", link(shared_data / "mnist", tmp_path / "debian"))
    with pytest.raises(DataNotFoundError) as info:
        locate("mnist", download=False)
    assert "Debian" not in str(info.value)


def test_root_holding_the_files_directly(
    shared_data: Path, tmp_path: Path, link: Callable[..., Path]
) -> None:
    """root may hold the files itself, but only if they are this data set's (both use the same names)."""
    flat = link(shared_data / "mnist", tmp_path / "flat")
    assert locate("mnist", root=flat, download=False) == flat
    with pytest.raises(DataNotFoundError, match="not those of fashion-mnist"):
        locate("fashion-mnist", root=flat, download=False)


def test_cache_dir_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert cache_dir() == tmp_path / "cache"
    monkeypatch.delenv("NEUROEMU_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "neuroemu"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "neuroemu"


def test_not_found_without_download(tmp_path: Path, isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEUROEMU_DATA", str(tmp_path / "env"))
    with pytest.raises(DataNotFoundError) as info:
        load_arrays("fashion-mnist", root=tmp_path / "root", download=False)
    message = str(info.value)
    for place in (
        f"root argument (given): {tmp_path / 'root' / 'fashion-mnist'}",
        f"root argument (given), files directly in it: {tmp_path / 'root'}",
        f"$NEUROEMU_DATA (set): {tmp_path / 'env' / 'fashion-mnist'}",
        f"Debian package dataset-fashion-mnist: {search.DEBIAN_FASHION_MNIST}",
        f"user cache ($NEUROEMU_CACHE): {isolated / 'fashion-mnist'}",
        "download=False",
        "Set NEUROEMU_DATA",
    ):
        assert place in message
    assert not isolated.exists()  # nothing created when not downloading
