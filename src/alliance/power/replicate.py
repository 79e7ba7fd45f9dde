"""One batch of replicates: draw each study, fit the model, test the effects; one row per effect.

Replicate ``r`` of grid point ``g`` draws everything from
``numpy.random.default_rng(SeedSequence(seed, spawn_key=(g, r)))``, which is the generator of
``SeedSequence(seed).spawn(G)[g].spawn(R)[r]`` (tests/power/test_replicate.py checks it): a
replicate's numbers depend on ``(seed, g, r)`` only, never on the batch it ran in, the worker
that ran it or the number of workers. The null and the alternative of a replicate use the same
generator (common random numbers), with the tested effects set to 0 under the null.

Each fit is :func:`alliance.mixed.fit_spec` (REML) started at the generating parameters
(:func:`alliance.power.model.true_parameters`); a fit that does not converge from there is
repeated from lme4's default start and the lower REML criterion kept. The tests are
two-sided at ``alpha`` with the design's reference distribution: Satterthwaite or containment
df (:func:`alliance.mixed.inference.denominator_df`, computed for the tested terms only), or
the normal (``z``). Confidence intervals have level ``1 - alpha``, so that
their coverage mirrors the test.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from alliance.errors import BoundaryWarning, ConvergenceWarning
from alliance.mixed import MixedModelSpec, fit_spec
from alliance.mixed.inference import denominator_df
from alliance.power.design import LARGE_SAMPLE_DF_METHOD, PowerDesign
from alliance.power.generate import draw_layout, draw_response
from alliance.power.model import ModelBuilder

#: Columns of the replicate table, one row per replicate per tested effect.
REPLICATE_COLUMNS = [
    "point", "hypothesis", "replicate", "term", "true_value", "estimate", "std_error", "df",
    "t", "p", "ci_low", "ci_high", "significant", "covered", "converged", "singular", "failed",
    "error", "n_obs", "n_patients", "fit_seconds",
]  # fmt: skip

#: Failures of a single fit that are counted (``failed``) rather than raised: numerical
#: breakdown of a degenerate simulated study.
FIT_FAILURES = (np.linalg.LinAlgError, FloatingPointError, ZeroDivisionError, ValueError)


def replicate_rng(seed: int, point: int, replicate: int) -> np.random.Generator:
    """The generator of replicate ``replicate`` of grid point ``point``."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(point, replicate)))


@dataclass(frozen=True)
class Task:
    """A batch of replicates of one grid point under one hypothesis (the unit of scheduling)."""

    point: int
    hypothesis: str
    design: PowerDesign
    replicates: tuple[int, ...]
    seed: int


@dataclass(frozen=True)
class EffectTests:
    """Estimates and tests of the tested effects in one fitted replicate (arrays per effect)."""

    estimate: np.ndarray
    std_error: np.ndarray
    df: np.ndarray
    t: np.ndarray
    p: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    converged: bool
    singular: bool


def fit_and_test(
    spec: MixedModelSpec, columns: list[int], df_method: str, alpha: float,
    start: np.ndarray | None = None,
) -> EffectTests:
    """Fit ``spec`` by REML from ``start`` and test the effects at ``columns`` at ``alpha``."""
    with warnings.catch_warnings():
        # recorded in the converged / singular columns instead
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", BoundaryWarning)
        # a z test reads no df: the fit's (default) df method is then never used
        method = "satterthwaite" if df_method == LARGE_SAMPLE_DF_METHOD else df_method
        result = fit_spec(spec, reml=True, df_method=method, start=start)
        if not result.converged and start is not None:
            again = fit_spec(spec, reml=True, df_method=method)
            if again.deviance < result.deviance:
                result = again
    estimate = result.beta[columns]
    # the SEs the df belong to: Kenward-Roger's adjusted ones, model-based otherwise
    std_error = np.sqrt(np.diag(result.vcov_fixed)[columns])
    if df_method == LARGE_SAMPLE_DF_METHOD:
        df = np.full(len(columns), np.inf)
    else:
        df = denominator_df(result, np.eye(spec.n_fixed)[columns])
    statistic = estimate / std_error
    p = 2.0 * special.stdtr(df, -np.abs(statistic))
    half_width = special.stdtrit(df, 1.0 - alpha / 2.0) * std_error
    return EffectTests(estimate, std_error, df, statistic, p, estimate - half_width,
                       estimate + half_width, result.converged, result.singular)


def run_task(task: Task) -> pd.DataFrame:
    """Run a batch: the replicate table rows (:data:`REPLICATE_COLUMNS`) of its replicates."""
    design = task.design
    builder = ModelBuilder(design)
    effects = design.tested
    columns = [builder.template.fixed_names.index(effect.term) for effect in effects]
    fixed = design.fixed_effects(null=task.hypothesis == "null")
    truth = np.array([fixed[effect.term] for effect in effects])
    records = []
    for replicate in task.replicates:
        rng = replicate_rng(task.seed, task.point, replicate)
        layout = draw_layout(design, rng)
        y = draw_response(design, layout, fixed, rng)
        began = time.perf_counter()
        error = ""
        try:
            tests = fit_and_test(builder.spec(layout, y), columns, design.df_method,
                                 design.alpha, builder.start)
        except FIT_FAILURES as failure:
            error = f"{type(failure).__name__}: {failure}"
            nan = np.full(len(effects), np.nan)
            tests = EffectTests(nan, nan, nan, nan, nan, nan, nan, False, False)
        seconds = time.perf_counter() - began
        for k, effect in enumerate(effects):
            p = float(tests.p[k])
            records.append((
                task.point, task.hypothesis, replicate, effect.term, float(truth[k]),
                float(tests.estimate[k]), float(tests.std_error[k]), float(tests.df[k]),
                float(tests.t[k]), p, float(tests.ci_low[k]), float(tests.ci_high[k]),
                bool(p < design.alpha), bool(tests.ci_low[k] <= truth[k] <= tests.ci_high[k]),
                tests.converged, tests.singular, bool(error), error, layout.n_obs,
                layout.n_patients, seconds,
            ))
    return pd.DataFrame.from_records(records, columns=REPLICATE_COLUMNS)
