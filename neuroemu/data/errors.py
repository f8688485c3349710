"""Exceptions raised by :mod:`neuroemu.data`."""

from __future__ import annotations


class DataError(RuntimeError):
    """Base class for data set problems: not found, corrupt, or a failed download."""


class UnknownDatasetError(ValueError):
    """The data set name is not one of :data:`neuroemu.data.DATASETS` (the message lists the known ones)."""


class DataNotFoundError(DataError):
    """No copy of the data set anywhere searched, and it could not (or may not) be downloaded."""


class ChecksumError(DataError):
    """A downloaded file's md5 differs from the published one."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        url: str | None = None,
        expected: str | None = None,
        got: str | None = None,
    ) -> None:
        super().__init__(message)
        self.file = file
        self.url = url
        self.expected = expected
        self.got = got


class DownloadError(DataError):
    """A download failed: no connection, an HTTP error, or the transfer ended early.

    ``reached`` is False when no server answered at all (offline, refused, DNS failure).
    """

    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        received: int = 0,
        expected: int | None = None,
        reached: bool = True,
    ) -> None:
        super().__init__(message)
        self.url = url
        self.received = received
        self.expected = expected
        self.reached = reached
