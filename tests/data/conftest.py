"""Fixtures for the data tests: the real data files, an isolated environment, and a local HTTP mirror."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from neuroemu.data import search

# Read at import, before the autouse fixture below clears it for each test.
_ENV_DATA = os.environ.get("NEUROEMU_DATA", "").strip()
_FALLBACK = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def _find_shared_data() -> Path | None:
    candidates = [Path(_ENV_DATA).expanduser()] if _ENV_DATA else []
    candidates.append(_FALLBACK)
    for c in candidates:
        if (c / "mnist").is_dir() and (c / "fashion-mnist").is_dir():
            return c
    return None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Folder holding the real mnist/ and fashion-mnist/ copies (skips the test when there is none)."""
    found = _find_shared_data()
    if found is None:
        pytest.skip(
            f"real MNIST/Fashion-MNIST files not found: NEUROEMU_DATA is {_ENV_DATA or 'unset'!r} "
            f"and the fallback {_FALLBACK} has no mnist/ and fashion-mnist/"
        )
    return found


def free_port() -> int:
    """A port on 127.0.0.1 with nothing listening on it (connections are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test sees the real environment or the network: empty cache, no data root, dead mirrors.

    Returns the cache root ($NEUROEMU_CACHE).
    """
    cache = tmp_path / "cache"
    monkeypatch.delenv("NEUROEMU_DATA", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("NEUROEMU_CACHE", str(cache))
    monkeypatch.setenv("NEUROEMU_MIRRORS", f"http://127.0.0.1:{free_port()}/")
    monkeypatch.setattr(search, "DEBIAN_FASHION_MNIST", tmp_path / "no-debian-package")
    return cache


def link_dataset(src: Path, dest: Path, skip: tuple[str, ...] = ()) -> Path:
    """Fill ``dest`` with symlinks to the IDX files in ``src`` (except those named in ``skip``)."""
    dest.mkdir(parents=True, exist_ok=True)
    for f in sorted(src.glob("*-ubyte.gz")):
        if f.name not in skip:
            (dest / f.name).symlink_to(f)
    return dest


@pytest.fixture
def link() -> Callable[..., Path]:
    """``link(src, dest, skip=())``: fill ``dest`` with symlinks to ``src``'s IDX files."""
    return link_dataset


@pytest.fixture
def dead_url() -> str:
    """A base URL on 127.0.0.1 where connections are refused."""
    return f"http://127.0.0.1:{free_port()}/"


class _Handler(BaseHTTPRequestHandler):
    """Serves files under the server's root; ``server.faults[path]`` injects a fault for one path.

    Faults: "404"; "corrupt" (one byte flipped); "truncate" (full Content-Length, half the body, then the
    connection is closed); "nolength" (no Content-Length header); "truncate-nolength" (both).
    """

    server: _Server

    def do_GET(self) -> None:
        self.server.requests.append(self.path)
        fault = self.server.faults.get(self.path)
        file = (self.server.root / self.path.lstrip("/")).resolve()
        if fault == "404" or self.server.root not in file.parents or not file.is_file():
            self.send_error(404)
            return
        data = file.read_bytes()
        if fault == "corrupt":
            flipped = bytearray(data)
            flipped[len(data) // 2] ^= 0xFF
            data = bytes(flipped)
        body = data[: len(data) // 2] if fault in ("truncate", "truncate-nolength") else data
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if fault not in ("nolength", "truncate-nolength"):
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: Path) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.root = root.resolve()
        self.faults: dict[str, str] = {}
        self.requests: list[str] = []
        self._thread = threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def url(self, folder: str) -> str:
        """Base URL serving the files of ``<root>/<folder>/``."""
        return f"http://127.0.0.1:{self.server_address[1]}/{folder}/"

    def stop(self) -> None:
        if self._thread.is_alive():
            self.shutdown()
            self._thread.join(timeout=5)
        self.server_close()


@pytest.fixture
def http_mirror(shared_data: Path) -> Iterator[_Server]:
    """A local HTTP server serving the real files: ``url("mnist")`` is a mirror base URL."""
    server = _Server(shared_data)
    try:
        yield server
    finally:
        server.stop()
