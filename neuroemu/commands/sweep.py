"""What the sweep commands (``mc``, ``sc-sweep``, ``snn-sweep``, ``energy``) share: their points run through
the one runner (:mod:`neuroemu.experiments.runner`), resumable with ``--out FILE``, and their models are
checked against the substrate before any work."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import neuroemu
from neuroemu.experiments.point import Point
from neuroemu.experiments.runner import SerialBackend, run_points
from neuroemu.experiments.store import ResultStore, StoreError
from neuroemu.nets import CheckpointError, UnknownModelError, load_checkpoint
from neuroemu.specs import SpecError, options
from neuroemu.usage import UsageError

__all__ = ["check_mappable", "run_command_points", "sweep_rows"]


def check_mappable(model: str, spec: Any) -> None:
    """Map ``model`` onto ``spec`` once, so that a model the substrate cannot run (or an unknown one) is
    refused before any point runs (one trial of it: mapping does not depend on how many chips are drawn)."""
    if "trials" in {o.name for o in options(spec)}:
        spec = dataclasses.replace(spec, trials=1)
    try:
        neuroemu.map(load_checkpoint(model).build(), spec)
    except UnknownModelError as exc:
        raise UsageError(str(exc)) from exc
    except CheckpointError:
        raise
    except ValueError as exc:
        if type(exc) in (ValueError, SpecError):  # the substrate's refusal, naming the layer
            raise UsageError(str(exc)) from exc
        raise


def run_command_points(points: Sequence[Point], out: Path | None, *, batch_size: int | None = None,
                       progress: bool = False) -> list[dict[str, Any]]:
    """Run ``points`` in this process (appending to and resuming from ``out`` when given; failed points
    are run again); a failed point stops the command with its error."""
    store = ResultStore(out) if out is not None else None
    try:
        records = run_points(points, store, backend=SerialBackend(batch_size), retry_failed=True,
                             progress=progress)
    except StoreError as exc:
        raise UsageError(str(exc)) from exc
    failed = [r for r in records if r["status"] == "failed"]
    if failed:
        raise UsageError(f"{len(failed)} point(s) failed; the first: {failed[0]['error']}")
    return records


def sweep_rows(points: Sequence[Point], records: Sequence[dict[str, Any]], axis: str) -> list[dict[str, Any]]:
    """The ``points`` of a sweep command's JSON: the swept value, accuracy, wall time and ledger of each."""
    return [{axis: point.axes[axis], "accuracy": record["result"]["accuracy"]["mean"],
             "wall_s": record["wall_s"], "ledger": record["result"]["ledger"]}
            for point, record in zip(points, records, strict=True)]
