"""Append-as-you-go and resume for a training run that goes epoch by epoch (``neuroemu rpu-train --out``).

The run's results file is a :class:`~neuroemu.experiments.store.ResultStore` (same locking, one flushed
line per record, a line cut short by a kill ignored): one line per finished epoch of each curve (the trained
network and, say, its float baseline), ``config`` = the run's options plus ``curve`` and ``epoch``. Next to
it, ``FILE.ckpt.pt`` holds the training state after the last finished epoch (whatever the caller's
``state()`` gives: tensors, numbers, strings, lists and dicts), the run's options and every finished line,
written to a temporary file, flushed and renamed over the old one, so a kill leaves the old or the new
checkpoint, never a torn one; it is read back with ``torch.load(weights_only=True)`` (no code runs).

Order of a finished epoch: the checkpoint first, then its lines. A kill between the two leaves a
checkpoint one epoch ahead of the file; resuming appends the missing lines from the checkpoint. Running the
same command again resumes (the project's convention, as the sweeps do); options that differ from the
file's are refused, naming the option. The number of epochs is not an option of the run: a finished run
continues to more epochs, and asking for fewer reads them from the file.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from neuroemu.experiments.point import versions
from neuroemu.experiments.store import ResultStore, StoreError, config_hash

__all__ = ["CHECKPOINT_FORMAT", "EpochStore", "Resumed", "atomic_save", "checkpoint_path"]

#: format tag of an epoch checkpoint
CHECKPOINT_FORMAT = "neuroemu-epoch-checkpoint/1"


def checkpoint_path(out: Path) -> Path:
    """The checkpoint beside results file ``out``: ``out`` + ``.ckpt.pt``."""
    return out.with_name(out.name + ".ckpt.pt")


def atomic_save(obj: Any, path: Path) -> None:
    """``torch.save`` to a temporary file beside ``path``, flushed to disk, then renamed over ``path``."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        with tmp.open("wb") as fh:
            torch.save(obj, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)  # the rename itself survives a crash
    finally:
        os.close(folder)


@dataclass
class Resumed:
    """Where a run stands: its last finished ``epoch`` (0: none), the ``state`` to continue from (``None``
    when nothing is to be trained or nothing was), and every curve's finished lines' results, in order."""

    epoch: int = 0
    state: Any = None
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


class EpochStore:
    """The results file ``out`` and checkpoint of one training run with options ``config`` (JSON values).

    ``curves``: the curves every epoch finishes (e.g. ``("rpu", "fp")``); ``flag``: how an option of
    ``config`` is spelled on the command line (for the error naming a differing option)."""

    def __init__(self, out: Path, config: Mapping[str, Any], curves: tuple[str, ...],
                 flag: Callable[[str], str] = lambda key: f"--{key.replace('_', '-')}") -> None:
        self.store = ResultStore(out)
        self.path, self.checkpoint = Path(out), checkpoint_path(Path(out))
        self.config, self.curves, self.flag = dict(config), curves, flag

    @contextmanager
    def writing(self) -> Iterator[EpochStore]:
        """Hold the results file's lock for the run (another run on the same file is refused)."""
        with self.store.writing():
            yield self

    # ------------------------------------------------------------------ reading
    def _mismatch(self, found: Mapping[str, Any], where: str) -> None:
        if found.get("experiment") != self.config.get("experiment"):
            raise StoreError(f"{where} holds results of {found.get('experiment')!r}, not of a "
                             f"{self.config.get('experiment')!r} run: give another --out file")
        for key in sorted(set(found) | set(self.config)):
            if found.get(key) != self.config.get(key):
                raise StoreError(
                    f"{where} holds a run with {self.flag(key)} {_show(found.get(key))}, this command has "
                    f"{self.flag(key)} {_show(self.config.get(key))}: give the same options to resume it, "
                    "or another --out file")

    def _lines(self) -> dict[str, dict[int, dict[str, Any]]]:
        """Every curve's finished lines by epoch, each checked to be of this run."""
        found: dict[str, dict[int, dict[str, Any]]] = {curve: {} for curve in self.curves}
        for record in self.store.records().values():
            config = dict(record["config"])
            curve, epoch = config.pop("curve", None), config.pop("epoch", None)
            self._mismatch(config, str(self.path))
            if curve not in found or isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 1 \
                    or not isinstance(record.get("result"), dict):
                raise StoreError(f"{self.path}: a line of curve {curve!r}, epoch {epoch!r} is not one of "
                                 f"this run's (curves {', '.join(self.curves)}, epochs from 1)")
            found[curve][epoch] = record["result"]
        return found

    def _load_checkpoint(self) -> dict[str, Any]:
        try:
            saved = torch.load(self.checkpoint, map_location="cpu", weights_only=True)
        except Exception as exc:  # torch raises many kinds on a damaged file
            raise StoreError(f"{self.checkpoint} is not a readable checkpoint: {exc}") from exc
        if not (isinstance(saved, dict) and saved.get("format") == CHECKPOINT_FORMAT
                and isinstance(saved.get("config"), dict) and isinstance(saved.get("epoch"), int)
                and isinstance(saved.get("rows"), dict)):
            raise StoreError(f"{self.checkpoint} is not a neuroemu epoch checkpoint ({CHECKPOINT_FORMAT})")
        self._mismatch(saved["config"], str(self.checkpoint))
        return saved

    def resume(self, epochs: int) -> Resumed:
        """What is finished of a run of ``epochs`` epochs, and the state to continue from; a file or a
        checkpoint of other options (or a checkpoint that does not fit the file) is a
        :class:`~neuroemu.experiments.store.StoreError`."""
        lines = self._lines()
        done = min((len(by_epoch) for by_epoch in lines.values()), default=0)
        for curve, by_epoch in lines.items():
            if sorted(by_epoch) != list(range(1, len(by_epoch) + 1)):
                raise StoreError(f"{self.path}: the {curve} lines skip an epoch ({sorted(by_epoch)})")
        if done >= epochs:  # everything asked for is in the file
            return Resumed(epochs, None,
                           {c: [lines[c][e] for e in range(1, epochs + 1)] for c in self.curves})
        if not self.checkpoint.exists():
            if any(lines.values()):
                raise StoreError(f"{self.path} holds {done} finished epoch(s) but its checkpoint "
                                 f"{self.checkpoint} is missing: cannot continue; remove {self.path} to "
                                 "start again")
            return Resumed(0, None, {c: [] for c in self.curves})
        saved = self._load_checkpoint()
        epoch, rows = saved["epoch"], saved["rows"]
        if any(len(by_epoch) > epoch for by_epoch in lines.values()) or \
                any(len(rows.get(c, [])) != epoch for c in self.curves):
            raise StoreError(f"{self.checkpoint} (epoch {epoch}) does not fit {self.path} (epochs up to "
                             f"{max(map(len, lines.values()))}): remove both to start again")
        for curve in self.curves:  # a kill between the checkpoint and its lines: append them now
            for number in range(len(lines[curve]) + 1, epoch + 1):
                self._append(curve, number, rows[curve][number - 1])
        state = saved.get("state") if epoch < epochs else None
        return Resumed(epoch, state, {c: list(rows[c][:epochs]) for c in self.curves})

    # ------------------------------------------------------------------ writing
    def finish_epoch(self, epoch: int, state: Any, results: Mapping[str, dict[str, Any]],
                     resumed: Resumed) -> None:
        """Record finished ``epoch``: the checkpoint (``state`` and every line so far), then one line per
        curve (``results``: curve → its result). ``resumed`` collects the rows (updated in place)."""
        for curve in self.curves:
            resumed.rows.setdefault(curve, []).append(dict(results[curve]))
        resumed.epoch = epoch
        atomic_save({"format": CHECKPOINT_FORMAT, "config": self.config, "epoch": epoch, "state": state,
                     "rows": resumed.rows}, self.checkpoint)
        for curve in self.curves:
            self._append(curve, epoch, results[curve])

    def _append(self, curve: str, epoch: int, result: Mapping[str, Any]) -> None:
        config = {**self.config, "curve": curve, "epoch": epoch}
        self.store.append({"hash": config_hash(config), "status": "ok", "config": config,
                           "result": dict(result), "versions": versions(),
                           "finished": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")})


def _show(value: Any) -> str:
    return "(not given)" if value is None else str(value)
