"""Download one file atomically: stream to a temporary file, check size and md5, then rename."""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import BinaryIO

from tqdm import tqdm

from .errors import ChecksumError, DownloadError

DEFAULT_TIMEOUT = 30.0  # seconds, per connection attempt and per read
#: age (s since the last write) after which a download's temporary file is left over from a killed process
STALE_PART_SECONDS = 3600.0
_CHUNK = 1 << 16
_USER_AGENT = "neuroemu-data/0.1 (+python urllib)"


def download_file(
    url: str,
    dest: str | Path,
    md5: str,
    expected_size: int | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    progress: bool | None = None,
) -> Path:
    """Download ``url`` to ``dest``, checking its size and md5; return ``dest``.

    The bytes are streamed into a temporary file in ``dest``'s folder while their md5 is computed; the
    file is renamed to ``dest`` (atomically, with ``os.replace``) only once it is complete and its md5
    equals ``md5``. On any failure the temporary file is removed, so ``dest`` is either absent or
    whole. The size expected is the response's Content-Length, else ``expected_size``.

    Raises :class:`DownloadError` (no connection, HTTP error, transfer ended early: the message gives
    the URL and bytes received vs expected) or :class:`ChecksumError` (file, URL, expected and got md5).
    ``progress``: show a tqdm bar on stderr (default: only when stderr is a terminal).
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_parts(dest)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            got = _stream(url, out, expected_size, timeout, progress, dest.name)
        if got != md5.lower():
            raise ChecksumError(
                f"md5 mismatch for {dest.name} downloaded from {url}: expected {md5}, got {got}",
                file=dest.name,
                url=url,
                expected=md5,
                got=got,
            )
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return dest


def remove_stale_parts(dest: Path) -> list[Path]:
    """Remove the temporary files of downloads of ``dest`` that a killed process left behind: those not
    written to for :data:`STALE_PART_SECONDS` (a live download writes at least every ``timeout``)."""
    removed = []
    now = time.time()
    for part in dest.parent.glob(f".{dest.name}.*.part"):
        with contextlib.suppress(OSError):
            if now - part.stat().st_mtime > STALE_PART_SECONDS:
                part.unlink()
                removed.append(part)
    return removed


def _stream(
    url: str, out: BinaryIO, expected_size: int | None, timeout: float, progress: bool | None, desc: str
) -> str:
    """Copy ``url``'s body into ``out``; return its md5 hex digest."""
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as e:
        e.close()
        raise DownloadError(f"download of {url} failed: HTTP {e.code} {e.reason}", url=url) from e
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as e:
        reason = getattr(e, "reason", None) or e
        raise DownloadError(f"could not connect to {url}: {reason}", url=url, reached=False) from e

    with response:
        length = response.headers.get("Content-Length", "")
        expected = int(length) if length.strip().isdigit() else expected_size
        digest = hashlib.md5(usedforsecurity=False)
        received = 0
        show = sys.stderr.isatty() if progress is None else progress
        with tqdm(
            total=expected,
            desc=desc,
            unit="B",
            unit_scale=True,
            file=sys.stderr,
            disable=not show,
            leave=False,
        ) as bar:
            while True:
                try:
                    chunk = response.read(_CHUNK)
                except (OSError, http.client.HTTPException) as e:
                    raise DownloadError(
                        f"download of {url} failed: connection lost ({e}); "
                        f"received {received} of {_size_text(expected)} bytes",
                        url=url,
                        received=received,
                        expected=expected,
                    ) from e
                if not chunk:
                    break
                out.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                bar.update(len(chunk))
    if expected is not None and received < expected:
        raise DownloadError(
            f"download of {url} failed: connection closed early; received {received} of {expected} bytes",
            url=url,
            received=received,
            expected=expected,
        )
    return digest.hexdigest()


def _size_text(size: int | None) -> str:
    return "an unknown number of" if size is None else str(size)
