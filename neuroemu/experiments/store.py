"""The result store: one JSON line per finished point, appended as it finishes, safe against interruption.

A results file holds one line per point (the format: :mod:`neuroemu.experiments.point` and the README's
*Experiments*), keyed by a hash of the point's configuration (:func:`config_hash`). A run appends each
finished point at once, so an interrupted run loses at most the points in flight, and a run started again
skips every point already there (failed ones too, unless asked to retry them; a hash's last line wins).

Safety: only one process writes a store at a time (an exclusive lock on ``results.jsonl.lock``, refused
with a clear error otherwise), which a run takes before it reads which points are done; each line is
written with one ``write`` call, its newline last, and flushed to disk. A line cut short by a kill therefore
lacks its newline and is at the end of the file, where reading ignores it and opening the store for
appending cuts it off, so no damaged or duplicated line ever stands between good ones. A damaged line that
ends in a newline, wherever it stands, is an error naming its line number: it was not written by neuroemu.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from neuroemu.ledger import Ledger

__all__ = ["RESULTS_FILE", "STATUSES", "ResultStore", "StoreError", "config_hash", "ledger_summary"]

#: what a line's ``status`` says
STATUSES = ("ok", "failed")
#: the results file's name inside a results folder (``neuroemu run``, ``neuroemu demo``)
RESULTS_FILE = "results.jsonl"


class StoreError(ValueError):
    """A results file that cannot be used: damaged inside, locked by another run, or not a results file."""


def config_hash(config: Mapping[str, Any]) -> str:
    """A short, stable hash of a point's configuration (sha256 of its JSON with sorted keys, 16 hex)."""
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]


def ledger_summary(ledger: Ledger) -> dict[str, Any]:
    """Totals per event and the full entries of ``ledger``, JSON-ready."""
    totals: dict[str, int] = {}
    for entry in ledger.entries():
        totals[entry.event] = totals.get(entry.event, 0) + entry.count
    return {"totals": totals, "entries": ledger.to_list()}


class ResultStore:
    """The results file ``path`` (see the module)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    def records(self) -> dict[str, dict[str, Any]]:
        """Every point's last line, by hash (an empty dict when the file does not exist)."""
        found: dict[str, dict[str, Any]] = {}
        for record in self._lines():
            found[record["hash"]] = record
        return found

    def finished(self, *, retry_failed: bool = False) -> dict[str, dict[str, Any]]:
        """The points a run skips: every recorded one, or with ``retry_failed`` only the successful ones."""
        return {h: r for h, r in self.records().items() if not retry_failed or r["status"] == "ok"}

    def _lines(self) -> Iterator[dict[str, Any]]:
        if not self.path.exists():
            return
        lines = self.path.read_bytes().split(b"\n")
        # the last piece has no newline: empty, or a line cut short by an interruption, ignored
        for number, line in enumerate(lines[:-1], start=1):
            if line.strip():
                yield self._parse(line, number)

    def _parse(self, line: bytes, number: int) -> dict[str, Any]:
        try:
            record = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise StoreError(f"{self.path}: line {number} is not JSON (damaged, or not a neuroemu results "
                             "file)") from None
        if not (isinstance(record, dict) and isinstance(record.get("hash"), str)
                and record.get("status") in STATUSES and isinstance(record.get("config"), dict)):
            raise StoreError(f"{self.path}: line {number} is not a neuroemu result (needs hash, status in "
                             f"{list(STATUSES)} and config)")
        return record

    @contextmanager
    def writing(self) -> Iterator[ResultStore]:
        """Hold the store's lock while a run appends to it; cut off a line left half-written by a kill."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.path.with_name(self.path.name + ".lock")
        with lock_path.open("w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise StoreError(f"{self.path} is being written by another run (lock {lock_path})") from None
            try:
                self._cut_partial_tail()
                yield self
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _cut_partial_tail(self) -> None:
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        keep = data.rfind(b"\n") + 1
        if keep < len(data):
            with self.path.open("r+b") as fh:
                fh.truncate(keep)
                fh.flush()
                os.fsync(fh.fileno())

    def append(self, record: Mapping[str, Any]) -> None:
        """Append one finished point as one line, written in one call and flushed to disk."""
        line = (json.dumps(record, sort_keys=True) + "\n").encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            written = os.write(fd, line)
            if written != len(line):  # a short write (disk full): leave no half line behind
                os.ftruncate(fd, os.fstat(fd).st_size - written)
                raise StoreError(f"{self.path}: could not write a whole result line (disk full?)")
            os.fsync(fd)
        finally:
            os.close(fd)
