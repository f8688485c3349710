"""Running points: skip the finished ones, run the rest on a backend, append each result as it finishes.

:func:`run_points` is the one loop every study goes through (``neuroemu run``, ``mc``, ``sc-sweep``,
``snn-sweep``, ``energy``). Backends run :func:`~neuroemu.experiments.point.run_point` on point
configurations and yield results as they come:

- ``serial``: in this process, one point after another (the sweep commands' default);
- ``pool``: a local process pool (``workers`` processes, started fresh with ``spawn``, each with one torch
  thread: the machine's cores are shared between processes, not between threads of one);
- a Dask distributed cluster (:mod:`neuroemu.experiments.dask_backend`).

Workers load data and models themselves; only configurations and results travel. A point that raises is
recorded as failed with its error and does not stop the others. Every random draw derives from the spec's
seed and the trial, so the results are the same whatever the backend and the number of workers.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import threading
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import ExitStack
from typing import Any, Protocol

import torch
from tqdm import tqdm

from neuroemu.experiments.point import Point, finished_record, run_point
from neuroemu.experiments.store import ResultStore

__all__ = ["Backend", "PoolBackend", "SerialBackend", "guarded_run", "run_points"]

#: what a backend yields per point: (index, outcome of run_point or None, error text or None)
Outcome = tuple[int, dict[str, Any] | None, str | None]


def guarded_run(config: dict[str, Any], batch_size: int | None = None
                ) -> tuple[dict[str, Any] | None, str | None]:
    """:func:`run_point`, with a failure turned into its error text (``Type: message`` and where it arose):
    a failed point is a result to record, not the end of the study."""
    try:
        return run_point(config, batch_size), None
    except Exception as exc:  # any failure of one point is recorded with that point
        where = traceback.extract_tb(exc.__traceback__)[-1]
        return None, f"{type(exc).__name__}: {exc} ({os.path.basename(where.filename)}:{where.lineno})"


class Backend(Protocol):
    """Runs point configurations, yielding ``(index, outcome, error)`` in the order they finish."""

    def run(self, configs: Sequence[dict[str, Any]]) -> Iterator[Outcome]: ...


class SerialBackend:
    """In this process, one point after another (``batch_size``: images per forward, memory only)."""

    def __init__(self, batch_size: int | None = None) -> None:
        if batch_size is not None and batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.batch_size = batch_size

    def run(self, configs: Sequence[dict[str, Any]]) -> Iterator[Outcome]:
        for index, config in enumerate(configs):
            outcome, error = guarded_run(config, self.batch_size)
            yield index, outcome, error


def _init_worker() -> None:
    """A pool worker: one torch thread, and it ends when the process that started it is gone."""
    torch.set_num_threads(1)
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent.sentinel,), name="neuroemu-parent-watch",
                         daemon=True).start()


def _exit_with(sentinel: int) -> None:
    """End this worker once ``sentinel`` (its parent's) is ready, i.e. the parent has died (killed, say):
    its points have no one to report to, and a worker left behind would hold its memory for good."""
    multiprocessing.connection.wait([sentinel])
    os._exit(1)


def _stop(pool: ProcessPoolExecutor) -> None:
    """Drop the queued points and end the workers now, the points in flight with them (a run stopped by an
    interrupt or an error loses only those, which the next run does again)."""
    workers = list(pool._processes.values())  # the executor offers no public way before Python 3.14
    pool.shutdown(wait=False, cancel_futures=True)
    for worker in workers:
        worker.terminate()
    for worker in workers:
        worker.join()


class PoolBackend:
    """A local pool of ``workers`` processes (default: the machine's cores)."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        if self.workers < 1:
            raise ValueError(f"workers must be >= 1, got {self.workers}")

    def run(self, configs: Sequence[dict[str, Any]]) -> Iterator[Outcome]:
        if not configs:
            return
        context = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(self.workers, mp_context=context, initializer=_init_worker)
        finished = False
        try:
            pending: dict[Future, int] = {pool.submit(guarded_run, c): i for i, c in enumerate(configs)}
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    index = pending.pop(future)
                    outcome, error = future.result()
                    yield index, outcome, error
            finished = True
        finally:
            if finished:
                pool.shutdown()
            else:  # stopped early: an interrupt, an error, or the caller stopped reading
                _stop(pool)


def run_points(points: Iterable[Point], store: ResultStore | None = None, *, backend: Backend | None = None,
               retry_failed: bool = False, progress: bool = False,
               on_result: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
    """Every point's record, in the order of ``points``: finished ones from ``store``, the rest run on
    ``backend`` (default serial) and appended to ``store`` as each finishes."""
    points = list(points)
    backend = backend or SerialBackend()
    with ExitStack() as stack:
        if store is not None:  # read under the lock: a run that held it just before may have added points
            stack.enter_context(store.writing())
        done = store.finished(retry_failed=retry_failed) if store is not None else {}
        records: dict[str, dict[str, Any]] = {p.hash: done[p.hash] for p in points if p.hash in done}
        todo = list({p.hash: p for p in points if p.hash not in records}.values())  # each configuration once
        bar = stack.enter_context(tqdm(total=len(todo), desc="points", unit="point",
                                       disable=not progress or not todo))
        for index, outcome, error in backend.run([p.config for p in todo]):
            record = finished_record(todo[index], outcome, error)
            if store is not None:
                store.append(record)
            records[record["hash"]] = record
            if on_result is not None:
                on_result(record)
            bar.update()
    return [records[p.hash] for p in points]
