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
  The workers only compute and return rows: they never print or write files. They ignore
  Ctrl-C and end on SIGTERM; when the caller stops early (an error, an interruption) it ends
  them, so that no worker outlives the run.
- ``scheduler``: a Dask distributed scheduler address (``tcp://host:8786``) or a
  ``dask.distributed.Client``; its workers need ``alliance`` installed.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import signal
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

import pandas as pd

from alliance.errors import SpecificationError
from alliance.power.design import PowerDesign
from alliance.power.replicate import Task, run_task

#: Replicates per task.
DEFAULT_BATCH_SIZE = 25
#: Tasks scheduled at a time per worker (the others wait in the lazy plan).
IN_FLIGHT = 2


def plan_tasks(
    tasks: Iterable[tuple[int, str, PowerDesign, Iterable[int]]], seed: int, batch_size: int
) -> Iterator[Task]:
    """Cut each ``(point, hypothesis, design, ascending replicate ids)`` into batches of
    ``batch_size``, lazily: memory does not grow with the number of replicates."""
    for point, hypothesis, design, replicates in tasks:
        batch: list[int] = []
        for replicate in replicates:
            batch.append(replicate)
            if len(batch) == batch_size:
                yield Task(point, hypothesis, design, tuple(batch), seed)
                batch = []
        if batch:
            yield Task(point, hypothesis, design, tuple(batch), seed)


def default_workers() -> int:
    """Every core this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def run_tasks(
    tasks: Iterable[Task], *, workers: int | None = None, scheduler: Any = None
) -> Iterator[pd.DataFrame]:
    """Run ``tasks`` and yield the replicate rows of each as soon as it finishes.

    At most :data:`IN_FLIGHT` tasks per worker are scheduled at a time, taken from ``tasks``
    as earlier ones finish.
    """
    if scheduler is not None:
        yield from _run_dask(tasks, scheduler)
    elif (workers or default_workers()) == 1:
        for task in tasks:
            yield run_task(task)
    else:
        yield from _run_processes(tasks, workers or default_workers())


def _worker_signals() -> None:
    """In a worker: ignore Ctrl-C (the parent stops the workers) and end on SIGTERM."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _run_processes(tasks: Iterable[Task], workers: int) -> Iterator[pd.DataFrame]:
    queue = iter(tasks)
    first = list(itertools.islice(queue, IN_FLIGHT * workers))
    if not first:
        return
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    executor = ProcessPoolExecutor(max_workers=min(workers, len(first)), mp_context=context,
                                   initializer=_worker_signals)
    pending: set[Future[pd.DataFrame]] = set()
    try:
        pending = {executor.submit(run_task, task) for task in first}
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            pending |= {executor.submit(run_task, task)
                        for task in itertools.islice(queue, len(finished))}
            for future in finished:
                yield future.result()
    finally:
        if pending:
            # stopped early (an error, Ctrl-C, SIGTERM): end the batches in flight too
            for process in list((executor._processes or {}).values()):
                process.terminate()
        executor.shutdown(wait=True, cancel_futures=True)


def _run_dask(tasks: Iterable[Task], scheduler: Any) -> Iterator[pd.DataFrame]:
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
    queue = iter(tasks)
    futures: list[Any] = []
    try:
        width = IN_FLIGHT * max(1, len(client.scheduler_info().get("workers", {})))
        futures = [client.submit(run_task, task, pure=False)
                   for task in itertools.islice(queue, width)]
        running = as_completed(futures)
        for future in running:
            for task in itertools.islice(queue, 1):
                futures.append(client.submit(run_task, task, pure=False))
                running.add(futures[-1])
            yield future.result()
    finally:
        client.cancel(futures)
        if own:
            client.close()
