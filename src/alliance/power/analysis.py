"""``power_analysis``: simulate, fit and test a design's studies, over a grid, on any executor.

The chain is: grid points (:class:`Grid`) -> batches of replicates not yet stored
(:func:`~alliance.power.execute.plan_tasks`) -> executor (:func:`~alliance.power.execute.run_tasks`)
-> rows streamed to the store (:class:`~alliance.power.store.ReplicateStore`, when a folder is
given) -> canonical order -> summary (:func:`~alliance.power.summary.summarise`) beside the
analytic power (:func:`~alliance.power.analytic.analytic_power`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from alliance.defaults import POWER_SEED as DEFAULT_SEED
from alliance.errors import SpecificationError
from alliance.power.analytic import analytic_power
from alliance.power.budget import Budget
from alliance.power.design import PowerDesign
from alliance.power.execute import DEFAULT_BATCH_SIZE, default_workers, plan_tasks, run_tasks
from alliance.power.model import ModelBuilder
from alliance.power.power_result import PowerResult
from alliance.power.replicate import FIT_FAILURES, REPLICATE_COLUMNS, fit_and_test
from alliance.power.store import ReplicateStore
from alliance.power.summary import sort_replicates, summarise

#: ``spawn_key`` entry of the analytic power's designs (never a replicate id).
ANALYTIC_STREAM = 2**31
#: Short names of the values a power curve usually varies.
GRID_ALIASES = {
    "therapists": "sample.therapists",
    "patients_per_therapist": "sample.patients_per_therapist",
    "dispersion": "sample.dispersion",
    "dropout": "schedule.dropout",
    "icc_slope": "variance.icc_slope",
    "icc_pre_cluster": "variance.icc_pre_cluster",
    "var_ratio": "variance.var_ratio",
}

#: ``progress(done, total)``: replicates finished (including any resumed) out of all.
ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class Grid:
    """A power curve: one design value (a dotted path into the design) and its values.

    ``Grid("therapists", (30, 50, 70, 100, 150))``; ``parameter`` is a short name of
    :data:`GRID_ALIASES` or a path such as ``"effects.time:personal_burdens"``.
    """

    parameter: str
    values: tuple[Any, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "parameter", GRID_ALIASES.get(self.parameter, self.parameter))
        object.__setattr__(self, "values", tuple(self.values))
        if not self.values:
            raise SpecificationError(
                f"the grid of {self.parameter} has no values; give at least one, e.g. 30,50,70."
            )

    def designs(self, base: PowerDesign) -> tuple[PowerDesign, ...]:
        """The design at each grid value."""
        out = []
        section, _, key = self.parameter.partition(".")
        for value in self.values:
            override: dict[str, Any] = {section: {key: value}} if key else {section: value}
            try:
                out.append(base.updated(override))
            except SpecificationError as error:
                raise SpecificationError(
                    f"grid point {self.parameter} = {value!r}: {error}"
                ) from error
        return tuple(out)


def _check_count(value: int, name: str, minimum: int) -> None:
    if not isinstance(value, int | np.integer) or not minimum <= value < ANALYTIC_STREAM:
        raise SpecificationError(
            f"{name} is {value!r}, but it must be a whole number of at least {minimum}."
        )


def _missing(done: set[tuple[int, str, int]], point: int, hypothesis: str,
             count: int) -> Iterator[int]:
    """Replicate ids ``0 .. count - 1`` of ``(point, hypothesis)`` not yet in ``done``."""
    return (r for r in range(count) if (point, hypothesis, r) not in done)


def power_analysis(
    design: PowerDesign,
    *,
    replicates: int = 1000,
    null_replicates: int = 0,
    seed: int = DEFAULT_SEED,
    grid: Grid | None = None,
    workers: int | None = None,
    scheduler: Any = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    out: str | Path | None = None,
    progress: ProgressCallback | None = None,
    analytic_realisations: int = 200,
    allow_large: bool = False,
) -> PowerResult:
    """Simulation-based power of the tested effects of ``design``, beside the analytic power.

    Parameters
    ----------
    design : PowerDesign
        The planned study.
    replicates : int
        Simulated studies per grid point with the effects as given (power, bias, coverage).
    null_replicates : int
        Studies per grid point simulated and fitted again with the tested effects set to 0.
        Not needed for the type I error, which the alternative replicates give exactly
        (:mod:`alliance.power.summary`); a check of that identity.
    seed : int
        Root of every random number: the result depends on it, not on the executor.
    grid : Grid, optional
        A design value to vary (a power curve).
    workers : int, optional
        Local worker processes (default all cores; 1 runs in this process).
    scheduler : str or dask.distributed.Client, optional
        Run on a Dask cluster instead (``"tcp://host:8786"``).
    batch_size : int
        Replicates per scheduled task.
    out : path, optional
        Run folder: replicate rows are streamed there as Parquet, and a run interrupted
        earlier is resumed (:mod:`alliance.power.store`).
    progress : callable, optional
        ``progress(done, total)`` after every finished batch (and once at the start).
    analytic_realisations : int
        Drawn designs over which the GLS power of an unbalanced design is averaged.
    allow_large : bool
        Run even when the estimated time or memory is beyond the limits of
        :mod:`alliance.power.budget` (otherwise refused before anything runs).

    Returns
    -------
    PowerResult

    Raises
    ------
    SpecificationError
        Invalid counts, a grid value that makes the design invalid, a model the engine cannot
        fit on the design, a run too large for the machine (unless ``allow_large``), or an
        output folder holding a different analysis or in use by another run.
    """
    began = time.perf_counter()
    _check_count(replicates, "replicates", 1)
    _check_count(null_replicates, "null_replicates", 0)
    _check_count(batch_size, "batch_size", 1)
    _check_count(analytic_realisations, "analytic_realisations", 1)
    if workers is not None:
        _check_count(workers, "workers", 1)
    if not isinstance(seed, int | np.integer) or seed < 0:
        raise SpecificationError(f"seed is {seed!r}, but it must be a whole number of 0 or more.")
    points = grid.designs(design) if grid is not None else (design,)
    seconds_per_fit = 0.0
    for point in points:
        # the engine validates and fits each point's template study before anything runs
        # (which also loads its compiled kernels once, before local workers are forked)
        builder = ModelBuilder(point)
        try:
            fit_and_test(builder.template, [builder.template.n_fixed - 1], point.df_method,
                         point.alpha, builder.start)
            began_fit = time.perf_counter()
            fit_and_test(builder.template, [builder.template.n_fixed - 1], point.df_method,
                         point.alpha, builder.start)
        except FIT_FAILURES as error:
            raise SpecificationError(
                f"the model {builder.formula} cannot be fitted to a study of this design "
                f"({type(error).__name__}: {error}); add therapists, patients or waves, or "
                "simplify the variance components."
            ) from error
        seconds_per_fit = max(seconds_per_fit, time.perf_counter() - began_fit)
    counts = {"alternative": replicates, "null": null_replicates}
    total = len(points) * (replicates + null_replicates)
    n_effects = len(design.tested)
    Budget(total, seconds_per_fit, 1 if scheduler is not None else workers or default_workers(),
           total * n_effects).check(allow_large)
    grid_values: Sequence[Any] = grid.values if grid is not None else (None,)
    store = None
    done: set[tuple[int, str, int]] = set()
    if out is not None:
        fingerprint = {
            "seed": seed,
            "grid": None if grid is None else grid.parameter,
            "points": [point.to_dict() for point in points],
        }
        store = ReplicateStore(out, fingerprint)
        done = store.completed()
    try:
        finished = sum(1 for g, h, r in done if g < len(points) and r < counts.get(h, 0))
        resumed = finished
        if progress is not None:
            progress(finished, total)
        frames = []
        todo = ((g, h, points[g], _missing(done, g, h, n))
                for g in range(len(points)) for h, n in counts.items())
        for frame in run_tasks(plan_tasks(todo, seed, batch_size), workers=workers,
                               scheduler=scheduler):
            if store is not None:
                store.write(frame)
            else:
                frames.append(frame)
            finished += int(frame["replicate"].nunique())
            if progress is not None:
                progress(finished, total)
    finally:
        if store is not None:
            store.close()
    if store is not None:
        rows = store.read()
    else:
        rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
            columns=REPLICATE_COLUMNS)
    # only the replicates asked for (a folder may hold more from an earlier, longer run);
    # a batch stored twice holds identical rows
    keep = (pd.to_numeric(rows["replicate"]).to_numpy()
            < rows["hypothesis"].astype(str).map(counts).fillna(0).to_numpy())
    rows = sort_replicates(rows[keep], points)
    rows = rows.drop_duplicates(subset=["point", "hypothesis", "replicate", "term"])
    analytic = [
        analytic_power(point, np.random.default_rng(
            np.random.SeedSequence(seed, spawn_key=(g, ANALYTIC_STREAM))), analytic_realisations)
        for g, point in enumerate(points)
    ]
    table = summarise(rows, points, analytic, grid_values)
    executor = ("dask" if scheduler is not None else
                "in-process" if (workers or default_workers()) == 1 else "processes")
    settings = {
        "replicates": replicates,
        "null_replicates": null_replicates,
        "seed": seed,
        "batch_size": batch_size,
        "executor": executor,
        "workers": None if scheduler is not None else workers or default_workers(),
        "resumed_replicates": resumed,
        "analytic_realisations": analytic_realisations,
        "out": None if out is None else str(out),
    }
    return PowerResult(
        design=design,
        points=points,
        grid_parameter=None if grid is None else grid.parameter,
        grid_values=tuple(grid_values),
        table=table,
        replicates=rows.reset_index(drop=True),
        settings=settings,
        seconds=time.perf_counter() - began,
    )

