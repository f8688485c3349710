"""Find a data set on disk (explicit root, $NEUROEMU_DATA, Debian package, user cache) or download it."""

from __future__ import annotations

import copy
import gzip
import hashlib
import os
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .download import download_file
from .errors import ChecksumError, DataError, DataNotFoundError, DownloadError
from .registry import DatasetSpec, IdxFile, get_spec

ENV_DATA = "NEUROEMU_DATA"
ENV_CACHE = "NEUROEMU_CACHE"
ENV_MIRRORS = "NEUROEMU_MIRRORS"
# Where Debian's package `dataset-fashion-mnist` installs the files (a module constant so tests can patch it).
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def cache_dir() -> Path:
    """The user cache folder: $NEUROEMU_CACHE, else $XDG_CACHE_HOME/neuroemu, else ~/.cache/neuroemu."""
    return _cache_dir_and_origin()[0]


def _cache_dir_and_origin() -> tuple[Path, str]:
    if (value := _env(ENV_CACHE)) is not None:
        return Path(value).expanduser(), f"${ENV_CACHE}"
    if (value := _env("XDG_CACHE_HOME")) is not None:
        return Path(value).expanduser() / "neuroemu", "$XDG_CACHE_HOME/neuroemu"
    return Path.home() / ".cache" / "neuroemu", "default ~/.cache/neuroemu"


def find_file(folder: Path, file: IdxFile) -> Path | None:
    """The uncompressed or ``.gz`` copy of ``file`` in ``folder`` (uncompressed preferred), or None."""
    for candidate in (folder / file.raw_filename, folder / file.filename):
        if candidate.is_file():
            return candidate
    return None


def missing_files(folder: Path, spec: DatasetSpec) -> list[IdxFile]:
    """The files of ``spec`` that ``folder`` holds in neither form."""
    return [f for f in spec.files if find_file(folder, f) is None]


@dataclass(frozen=True)
class _Place:
    label: str  # e.g. "root argument (given)"
    folders: tuple[Path, ...]  # folders to check, in order; empty when not given/set
    check_identity: bool = False  # folder is not named after the data set: check it holds this one


def _places(spec: DatasetSpec, root: str | Path | None) -> list[_Place]:
    places = []
    if root is None:
        places.append(_Place("root argument: not given", ()))
    else:
        r = Path(root).expanduser()
        places.append(_Place("root argument (given)", (r / spec.folder,)))
        places.append(_Place("root argument (given), files directly in it", (r,), check_identity=True))
    if (data := _env(ENV_DATA)) is not None:
        places.append(_Place(f"${ENV_DATA} (set)", (Path(data).expanduser() / spec.folder,)))
    else:
        places.append(_Place(f"${ENV_DATA}: not set", ()))
    if spec.name == "fashion-mnist":
        places.append(_Place("Debian package dataset-fashion-mnist", (Path(DEBIAN_FASHION_MNIST),)))
    cache, origin = _cache_dir_and_origin()
    places.append(_Place(f"user cache ({origin})", (cache / spec.folder,)))
    return places


def _holds(folder: Path, spec: DatasetSpec, check_identity: bool) -> str | None:
    """None if ``folder`` holds the data set, else why not."""
    if not folder.is_dir():
        return "no such folder"
    missing = missing_files(folder, spec)
    if missing:
        names = ", ".join(f"{f.raw_filename}[.gz]" for f in missing)
        return f"missing {len(missing)} of {len(spec.files)} files: {names}"
    if check_identity:
        # Both data sets use the same file names: check the (small) test labels are this data set's.
        labels = spec.file("test", "labels")
        path = find_file(folder, labels)
        if path is None:  # removed since missing_files() looked
            return f"missing {labels.raw_filename}[.gz]"
        try:
            data = path.read_bytes()
            if data[:2] == b"\x1f\x8b":
                data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as e:
            return f"cannot read {path.name}: {e}"
        if hashlib.md5(data, usedforsecurity=False).hexdigest() != labels.raw_md5:
            return f"holds IDX files, but not those of {spec.name} ({labels.raw_filename} differs)"
    return None


def mirror_list(spec: DatasetSpec, mirrors: str | Sequence[str] | None = None) -> list[str]:
    """Base URLs to download ``spec`` from: ``mirrors``, else $NEUROEMU_MIRRORS, else the spec's.

    ``mirrors`` and $NEUROEMU_MIRRORS are space-separated base URLs (or, for ``mirrors``, a sequence);
    ``{folder}`` in a base URL is replaced by the data set's folder name (``mnist``/``fashion-mnist``).
    """
    if mirrors is None:
        mirrors = _env(ENV_MIRRORS)
    if mirrors is None:
        bases = list(spec.mirrors)
    elif isinstance(mirrors, str):
        bases = mirrors.split()
    else:
        bases = [str(m) for m in mirrors]
    return [b.replace("{folder}", spec.folder).rstrip("/") + "/" for b in bases if b.strip()]


def locate(
    name: str,
    root: str | Path | None = None,
    download: bool = True,
    *,
    mirrors: str | Sequence[str] | None = None,
) -> Path:
    """Return the folder holding data set ``name``'s four IDX files (each ``.gz`` or uncompressed).

    Searched in order: ``root/<folder>/`` then ``root`` itself; ``$NEUROEMU_DATA/<folder>/``; for
    fashion-mnist, Debian's ``/usr/share/datasets/fashion-mnist``; the user cache ``<cache>/<folder>/``
    (cache: $NEUROEMU_CACHE, else $XDG_CACHE_HOME/neuroemu, else ~/.cache/neuroemu). If none holds it
    and ``download`` is true, the missing ``.gz`` files are downloaded into the cache from ``mirrors``
    (default $NEUROEMU_MIRRORS, else the official mirrors), each checked against its published md5.

    Raises :class:`DataNotFoundError` (no copy and no download; the message names every place
    searched), or :class:`ChecksumError` / :class:`DownloadError` when mirrors answered but every
    download failed.
    """
    spec = get_spec(name)
    searched = []
    for place in _places(spec, root):
        if not place.folders:
            searched.append(place.label)
        for folder in place.folders:
            why = _holds(folder, spec, place.check_identity)
            if why is None:
                return folder
            searched.append(f"{place.label}: {folder} - {why}")

    cache = cache_dir() / spec.folder
    where = f"Data set {spec.name!r} not found. Searched, in order:\n" + "\n".join(
        f"  {i}. {s}" for i, s in enumerate(searched, 1)
    )
    hint = (
        f"Set {ENV_DATA} to a folder holding mnist/ and fashion-mnist/ (each with its four IDX files, "
        f".gz or uncompressed), or pass root=."
    )
    if not download:
        raise DataNotFoundError(f"{where}\nDownloading is disabled (download=False).\n{hint}")
    bases = mirror_list(spec, mirrors)
    if not bases:
        raise DataNotFoundError(f"{where}\nNo download mirrors configured.\n{hint}")
    for file in missing_files(cache, spec):
        _download_one(file, cache, bases, where, hint)
    return cache


def _download_one(file: IdxFile, cache: Path, bases: list[str], where: str, hint: str) -> None:
    """Download ``file`` into ``cache`` from the first mirror that works."""
    errors: list[DataError] = []
    for base in bases:
        try:
            download_file(base + file.filename, cache / file.filename, file.md5, file.size)
            return
        except (DownloadError, ChecksumError) as e:
            errors.append(e)
        except OSError as e:  # local trouble (cache not writable, disk full): no point trying other mirrors
            raise DataError(f"cannot write {file.filename} into the cache folder {cache}: {e}") from e
    tried = "\n".join(f"  - {e}" for e in errors)
    summary = f"Downloading {file.filename} into {cache} failed on every mirror:\n{tried}"
    meaningful = [e for e in errors if not (isinstance(e, DownloadError) and not e.reached)]
    if not meaningful:  # no mirror reachable: offline
        raise DataNotFoundError(f"{where}\n{summary}\n{hint}") from errors[-1]
    last = meaningful[-1]
    final = copy.copy(last)
    final.args = (f"{summary}\n{where}\n{hint}",)
    raise final from last
