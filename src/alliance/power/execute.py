"""Run batches of replicates in this process, on local worker processes, or on a Dask cluster.

Replicates are grouped into batches (:class:`~alliance.power.replicate.Task`, 25 replicates by
default) so that the cost of scheduling a task and shipping its design (milliseconds) stays
small next to its fits (about 25 ms each on the reference design). Results come back as each
batch finishes, in whatever order; since every replicate's random numbers depend only on its
(seed, grid point, replicate id), the results are the same whatever the number of workers.

- ``workers=1``: in this process, one batch after the other (no pool to start).
- otherwise, without a scheduler: :class:`concurrent.futures.ProcessPoolExecutor` with
  ``workers`` processes (default: all cores). Where the platform can fork (Linux) the
  workers are forked, so they start with the engine already imported and its compiled kernels
  loaded (the caller fits a template study first), and a script needs no ``__main__`` guard;
  elsewhere they are spawned (and the usual ``if __name__ == "__main__":`` guard applies).
  The workers only compute and return rows: they never print or write files.
- ``scheduler``: a Dask distributed scheduler address (``tcp://host:8786``) or a
  ``dask.distributed.Client``; its workers need ``alliance`` installed.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

import pandas as pd

from alliance.errors import SpecificationError
from alliance.power.design import PowerDesign
from alliance.power.replicate import Task, run_task

#: Replicates per task.
DEFAULT_BATCH_SIZE = 25


def plan_tasks(
    tasks: Sequence[tuple[int, str, PowerDesign, Sequence[int]]], seed: int, batch_size: int
) -> list[Task]:
    """Cut each ``(point, hypothesis, design, replicate ids)`` into batches of ``batch_size``."""
    out = []
    for point, hypothesis, design, replicates in tasks:
        ids = sorted(replicates)
        for start in range(0, len(ids), batch_size):
            out.append(Task(point, hypothesis, design, tuple(ids[start:start + batch_size]),
                            seed))
    return out


def default_workers() -> int:
    """Every core this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def run_tasks(
    tasks: Sequence[Task], *, workers: int | None = None, scheduler: Any = None
) -> Iterator[pd.DataFrame]:
    """Run ``tasks`` and yield the replicate rows of each as soon as it finishes."""
    if not tasks:
        return
    if scheduler is not None:
        yield from _run_dask(tasks, scheduler)
    elif (workers or default_workers()) == 1:
        for task in tasks:
            yield run_task(task)
    else:
        yield from _run_processes(tasks, workers or default_workers())


def _run_processes(tasks: Sequence[Task], workers: int) -> Iterator[pd.DataFrame]:
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    executor = ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=context)
    pending: set[Future[pd.DataFrame]] = set()
    try:
        pending = {executor.submit(run_task, task) for task in tasks}
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                yield future.result()
    finally:
        for future in pending:
            future.cancel()
        executor.shutdown(wait=True, cancel_futures=True)


def _run_dask(tasks: Sequence[Task], scheduler: Any) -> Iterator[pd.DataFrame]:
    from dask.distributed import Client, as_completed

    own = not isinstance(scheduler, Client)
    try:
        client = Client(scheduler) if own else scheduler
    except (OSError, TimeoutError, ValueError) as error:
        raise SpecificationError(
            f"cannot reach the Dask scheduler at {scheduler!r} ({error}); start one with "
            "`dask scheduler` and workers with `dask worker ADDRESS` (alliance installed), or "
            "leave --scheduler out to use local processes."
        ) from error
    futures: list[Any] = []
    try:
        futures = client.map(run_task, list(tasks), pure=False)
        for future in as_completed(futures):
            yield future.result()
    finally:
        client.cancel(futures)
        if own:
            client.close()
