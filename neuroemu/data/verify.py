"""Check a local data file against the md5 the registry holds for it, once per file version.

A file found on disk (a data root, ``$NEUROEMU_DATA``, the cache) is hashed and compared with the published
md5 of its name (of the ``.gz`` file, or of the uncompressed one) before it is read: a file of another data
set, a truncated or edited one, is refused with an error naming it, never evaluated. A file that passed is
remembered by its resolved path, size and modification time, in this process and in
``<cache>/verified-files.json``, so that checking costs nothing after the first time.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path

from .errors import ChecksumError
from .registry import IdxFile
from .search import cache_dir

__all__ = ["VERIFIED_FILE", "verify_local_file"]

#: name of the record of files already checked, in the cache folder
VERIFIED_FILE = "verified-files.json"
_CHUNK = 1 << 20
_verified: set[str] = set()


def verify_local_file(path: Path, file: IdxFile) -> None:
    """Raise :class:`ChecksumError` unless ``path`` (a copy of ``file``, compressed or not) has its md5."""
    expected = file.md5 if path.name == file.filename else file.raw_md5
    resolved = path.resolve()
    stat = resolved.stat()
    key = f"{resolved}|{stat.st_size}|{stat.st_mtime_ns}|{expected}"
    if key in _verified or key in _recorded():
        _verified.add(key)
        return
    digest = hashlib.md5(usedforsecurity=False)
    with resolved.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    got = digest.hexdigest()
    if got != expected:
        raise ChecksumError(
            f"{path}: md5 {got} is not the published md5 {expected} of {path.name}: the file is damaged, "
            "cut short or from another data set; delete it (it is downloaded again) or restore it",
            file=path.name, expected=expected, got=got)
    _verified.add(key)
    _record(key)


def _recorded() -> set[str]:
    try:
        keys = json.loads((cache_dir() / VERIFIED_FILE).read_text())
    except (OSError, ValueError):
        return set()
    return {k for k in keys if isinstance(k, str)} if isinstance(keys, list) else set()


def _record(key: str) -> None:
    """Add ``key`` to the record (atomically; a cache folder that cannot be written is no error)."""
    folder = cache_dir()
    with contextlib.suppress(OSError):
        folder.mkdir(parents=True, exist_ok=True)
        keys = sorted(_recorded() | {key})
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{VERIFIED_FILE}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump(keys, handle)
            os.replace(tmp, folder / VERIFIED_FILE)
        except OSError:
            Path(tmp).unlink(missing_ok=True)
            raise
