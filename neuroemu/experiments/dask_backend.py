"""Running points on a Dask distributed cluster: a running one (``tcp://HOST:PORT``) or a local one started
for the run.

Each point is one task that runs :func:`neuroemu.experiments.runner.guarded_run` on its configuration in a
worker, with one torch thread (a worker's cores are shared between tasks, not between threads of one);
only configurations and results travel, and workers load data sets and models themselves (from their own
``NEUROEMU_DATA`` and checkpoint paths). Results come back as they finish, in any order; every random draw
derives from the spec's seed and the trial, so they equal those of the serial and pool backends.

A point that raises is recorded as failed, like on the other backends; so is one whose worker died under
it more often than the scheduler allows (``distributed.scheduler.allowed-failures``, e.g. out of memory).
Losing the scheduler stops the run with an error, and the points not yet finished run again next time.

dask and distributed are an optional extra (``pip install "neuroemu[dask]"``): they are imported when a
Dask backend is made, never when neuroemu is imported.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import ExitStack, suppress
from typing import Any

import torch

from neuroemu.experiments.runner import Outcome, guarded_run

__all__ = ["DaskBackend", "DaskUnavailableError"]

#: how long to wait for a running scheduler to answer, in seconds
CONNECT_TIMEOUT_S = 30


class DaskUnavailableError(ImportError):
    """dask or distributed cannot be imported: the ``dask`` extra is not installed."""


def _distributed() -> Any:
    """The ``distributed`` package, or :class:`DaskUnavailableError` saying how to install it."""
    try:
        import dask.distributed  # distributed's public names, through dask (both come with the extra)
    except ImportError as exc:
        raise DaskUnavailableError(
            f"a Dask backend needs dask and distributed, which cannot be imported ({exc}); install them "
            'with: pip install "neuroemu[dask]"') from exc
    return dask.distributed


def run_task(config: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    """One point in a worker: :func:`guarded_run` with one torch thread (set by the task, in the worker thread
    that runs it: torch's OpenMP thread count belongs to the calling thread)."""
    torch.set_num_threads(1)
    return guarded_run(config)


class DaskBackend:
    """Run points on the Dask scheduler at ``scheduler`` (``"tcp://HOST:PORT"``), or on a local cluster of
    ``local_workers`` single-threaded worker processes started for each run and closed after it (default,
    when neither is given: one worker per core). Raises :class:`DaskUnavailableError` when the ``dask``
    extra is not installed."""

    def __init__(self, scheduler: str | None = None, local_workers: int | None = None) -> None:
        if scheduler is not None and local_workers is not None:
            raise ValueError("give scheduler or local_workers, not both")
        if scheduler is not None and (not isinstance(scheduler, str) or "://" not in scheduler):
            raise ValueError(f"scheduler must be an address like tcp://HOST:PORT, got {scheduler!r}")
        whole = isinstance(local_workers, int) and not isinstance(local_workers, bool)
        if local_workers is not None and (not whole or local_workers < 1):
            raise ValueError(f"local_workers must be an integer >= 1, got {local_workers!r}")
        self.scheduler = scheduler
        self.local_workers = local_workers
        _distributed()  # fail here, before any work, when the extra is missing

    def __repr__(self) -> str:
        where = self.scheduler or f"local_workers={self.local_workers or 'cores'}"
        return f"DaskBackend({where})"

    def _client(self, stack: ExitStack) -> Any:
        distributed = _distributed()
        if self.scheduler is not None:
            return stack.enter_context(distributed.Client(self.scheduler, timeout=CONNECT_TIMEOUT_S))
        cluster = stack.enter_context(distributed.LocalCluster(
            n_workers=self.local_workers, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address=None))
        return stack.enter_context(distributed.Client(cluster))

    def run(self, configs: Sequence[dict[str, Any]]) -> Iterator[Outcome]:
        """Yield ``(index, outcome, error)`` per configuration, in the order the points finish."""
        if not configs:
            return
        distributed = _distributed()
        with ExitStack() as stack:
            client = self._client(stack)
            futures = client.map(run_task, list(configs), pure=False)
            index = {future.key: i for i, future in enumerate(futures)}
            try:
                for future in distributed.as_completed(futures):
                    yield (index[future.key], *_outcome(future))
            finally:
                with suppress(Exception):  # stopped early (an error, an interrupt): drop what is left
                    client.cancel(futures)


def _outcome(future: Any) -> tuple[dict[str, Any] | None, str | None]:
    """A finished task's (outcome, error); a task that errored is a failed point, a cancelled one (the
    scheduler or the connection lost) stops the run."""
    if future.status == "error":
        exc = future.exception()
        return None, f"{type(exc).__name__}: {exc} (on a Dask worker)"
    return future.result()
