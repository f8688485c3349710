"""Parse IDX files (the MNIST file format), gzip-compressed or raw, into read-only numpy arrays."""

from __future__ import annotations

import functools
import gzip
import math
import struct
import zlib
from pathlib import Path

import numpy as np

from .errors import DataError

_GZIP_MAGIC = b"\x1f\x8b"
# IDX type codes (third byte of the magic number).
_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def parse_idx(data: bytes, source: str = "<bytes>") -> tuple[int, np.ndarray]:
    """Parse the bytes of an uncompressed IDX file; return ``(magic, array)``.

    The array is read-only and in native byte order. Raises :class:`DataError` naming ``source`` when
    the header is malformed or the body size does not match the header.
    """
    if len(data) < 4:
        raise DataError(f"{source}: not an IDX file ({len(data)} bytes, too short for the header)")
    if data[0] != 0 or data[1] != 0 or data[2] not in _DTYPES:
        raise DataError(f"{source}: not an IDX file (bad magic number 0x{data[:4].hex()})")
    magic = int.from_bytes(data[:4], "big")
    dtype, ndim = _DTYPES[data[2]], data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{source}: truncated IDX header ({len(data)} bytes, need {header})")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    count = math.prod(shape)
    expected, body = count * dtype.itemsize, len(data) - header
    if body != expected:
        problem = "truncated" if body < expected else "has trailing bytes"
        raise DataError(
            f"{source}: corrupt IDX file ({problem}): header says shape {shape}, "
            f"i.e. {expected} bytes of data, but the file holds {body}"
        )
    array = np.frombuffer(data, dtype=dtype, count=count, offset=header).reshape(shape)
    if not dtype.isnative:
        array = array.astype(dtype.newbyteorder("="))
    array.flags.writeable = False
    return magic, array


def read_idx(path: str | Path, expected_magic: int | None = None) -> np.ndarray:
    """Read an IDX file (gzip-compressed or raw, detected from its content) into a read-only array.

    Parsed files are cached in-process, keyed on the resolved path, modification time and size, so
    repeated loads are cheap; the returned array is read-only so callers cannot corrupt the cache
    (use ``.copy()`` for a writable one). ``expected_magic`` (2051 images, 2049 labels), when given,
    must match the file's magic number. Raises :class:`DataError` naming the file on any problem.
    """
    resolved = Path(path).expanduser().resolve()
    try:
        st = resolved.stat()
    except OSError as e:
        raise DataError(f"{path}: cannot read IDX file: {e}") from e
    magic, array = _read_cached(resolved, st.st_mtime_ns, st.st_size)
    if expected_magic is not None and magic != expected_magic:
        raise DataError(f"{path}: IDX magic number is {magic}, expected {expected_magic}")
    return array


@functools.lru_cache(maxsize=16)
def _read_cached(path: Path, mtime_ns: int, size: int) -> tuple[int, np.ndarray]:
    try:
        data = path.read_bytes()
        if data[:2] == _GZIP_MAGIC:
            data = gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"{path}: cannot read IDX file: {e}") from e
    return parse_idx(data, source=str(path))
