"""From replicate rows to the power table: power, type I error, bias, coverage, with Monte Carlo CIs.

For each grid point and tested effect, over the replicates whose fit produced a p value
(``fitted``; failed fits and undefined df are counted apart, never silently dropped):

- ``power``: share of alternative replicates with ``p < alpha``, with the Wilson score
  interval at 95% (Wilson 1927; what simr's and mixedlm's ``powerSim`` report).
- ``type_i_error``: share of null replicates (tested effects set to 0) with ``p < alpha``.
  The null need not be fitted again: a null replicate uses the same random numbers as its
  alternative (alliance.power.replicate), so its outcome is ``y - X_k g_k``, and the (RE)ML
  criterion, hence the variance components, standard errors and df, is invariant to such a
  shift of the fixed part (it depends on ``y`` only through its residual from the GLS fit),
  while the estimate shifts by exactly ``g_k``. The null test is therefore the test of
  ``H0: gamma = g_k`` in the alternative fit, which rejects exactly when the ``1 - alpha``
  confidence interval misses the true value: ``type_i_error = 1 - coverage`` with the same
  Monte Carlo precision as the power, at no cost (``type_i_method`` "shifted alternative").
  tests/power/test_replicate.py checks the identity against explicitly simulated nulls (equal
  estimates to 1e-10 and identical decisions), which ``null_replicates > 0`` still runs
  ("null simulation").
- ``bias = mean(estimate) - true``, ``relative_bias = bias / true``, ``empirical_se`` (SD of the
  estimates), ``mean_std_error`` (mean model-based SE; close to ``empirical_se`` when the SEs
  are right), ``rmse``, and ``coverage`` of the ``1 - alpha`` confidence intervals (Wilson CI).
- ``not_converged`` and ``singular``: fits the engine flagged (they still count, as in simr).
- ``unit``: what one unit of the predictor is ("1 SD" of a normal one, "1 vs 0" for a binary
  one); ``true_value`` is per unit, ``cohens_d`` as defined in :mod:`alliance.power.effects`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import special

from alliance.power.analytic import AnalyticPower
from alliance.power.design import PowerDesign

#: Level of the Monte Carlo confidence intervals.
MONTE_CARLO_CONFIDENCE = 0.95

SUMMARY_COLUMNS = [
    "point", "grid_value", "term", "predictor", "unit", "part", "true_value", "cohens_d",
    "therapists",
    "mean_patients", "mean_obs", "replicates", "fitted", "failed", "not_converged", "singular",
    "power", "power_ci_low", "power_ci_high", "analytic_power", "analytic_std_error",
    "analytic_method", "null_replicates", "null_fitted", "type_i_error", "type_i_ci_low",
    "type_i_ci_high", "type_i_method", "bias", "relative_bias", "empirical_se", "mean_std_error", "rmse",
    "coverage", "coverage_ci_low", "coverage_ci_high", "mean_df",
]  # fmt: skip


def wilson_interval(
    successes: int, trials: int, confidence: float = MONTE_CARLO_CONFIDENCE
) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (NaN without trials).

    ``(p + z^2/2n -+ z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)``; matches R's
    ``prop.test(x, n, correct = FALSE)$conf.int``.
    """
    if trials == 0:
        return float("nan"), float("nan")
    z = special.ndtri(0.5 + confidence / 2.0)
    share = successes / trials
    denominator = 1.0 + z**2 / trials
    centre = (share + z**2 / (2 * trials)) / denominator
    half = z * np.sqrt(share * (1 - share) / trials + z**2 / (4 * trials**2)) / denominator
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def sort_replicates(frame: pd.DataFrame, points: Sequence[PowerDesign]) -> pd.DataFrame:
    """Rows in a canonical order (point, hypothesis, replicate, effect order), whatever order
    the batches finished in, so that every statistic is computed identically."""
    order = {term: k for k, term in enumerate(e.term for e in points[0].tested)}
    frame = frame.assign(_effect=frame["term"].map(order))
    frame = frame.sort_values(["point", "hypothesis", "replicate", "_effect"], kind="stable")
    return frame.drop(columns="_effect").reset_index(drop=True)


def _rate(flags: pd.Series) -> tuple[float, float, float]:
    successes, trials = int(flags.sum()), int(flags.shape[0])
    low, high = wilson_interval(successes, trials)
    return (successes / trials if trials else float("nan")), low, high


def summarise(
    replicates: pd.DataFrame,
    points: Sequence[PowerDesign],
    analytic: Sequence[tuple[AnalyticPower, ...]],
    grid_values: Sequence[float | None],
) -> pd.DataFrame:
    """One row per grid point and tested effect (:data:`SUMMARY_COLUMNS`)."""
    rows = []
    for point, design in enumerate(points):
        units = {p.name: p.unit for p in design.predictors}
        mine = replicates[replicates["point"] == point]
        for effect, exact in zip(design.tested, analytic[point], strict=True):
            rows_of = mine[mine["term"] == effect.term]
            alternative = rows_of[rows_of["hypothesis"] == "alternative"]
            null = rows_of[rows_of["hypothesis"] == "null"]
            fitted = alternative[np.isfinite(alternative["p"].to_numpy(float))]
            null_fitted = null[np.isfinite(null["p"].to_numpy(float))]
            power = _rate(fitted["significant"])
            estimates = fitted["estimate"].to_numpy(float)
            error = estimates - effect.value
            with_ci = fitted[np.isfinite(fitted["ci_low"].to_numpy(float))]
            coverage = _rate(with_ci["covered"])
            if null_fitted.shape[0]:
                type_i, type_i_method = _rate(null_fitted["significant"]), "null simulation"
            else:
                type_i, type_i_method = _rate(~with_ci["covered"]), "shifted alternative"
            bias = float(error.mean()) if error.size else float("nan")
            rows.append({
                "point": point,
                "grid_value": grid_values[point],
                "term": effect.term,
                "predictor": effect.predictor,
                "unit": units[effect.predictor],
                "part": effect.part,
                "true_value": effect.value,
                "cohens_d": effect.cohens_d,
                "therapists": design.therapists,
                "mean_patients": float(alternative["n_patients"].mean()),
                "mean_obs": float(alternative["n_obs"].mean()),
                "replicates": int(alternative.shape[0]),
                "fitted": int(fitted.shape[0]),
                "failed": int(alternative["failed"].sum()),
                "not_converged": int((~alternative["converged"] & ~alternative["failed"]).sum()),
                "singular": int(alternative["singular"].sum()),
                "power": power[0],
                "power_ci_low": power[1],
                "power_ci_high": power[2],
                "analytic_power": exact.power,
                "analytic_std_error": exact.std_error,
                "analytic_method": exact.method,
                "null_replicates": int(null.shape[0]),
                "null_fitted": int(null_fitted.shape[0]),
                "type_i_error": type_i[0],
                "type_i_ci_low": type_i[1],
                "type_i_ci_high": type_i[2],
                "type_i_method": type_i_method,
                "bias": bias,
                "relative_bias": bias / effect.value if effect.value != 0 else float("nan"),
                "empirical_se": float(estimates.std(ddof=1)) if estimates.size > 1
                else float("nan"),
                "mean_std_error": float(fitted["std_error"].mean()),
                "rmse": float(np.sqrt((error**2).mean())) if error.size else float("nan"),
                "coverage": coverage[0],
                "coverage_ci_low": coverage[1],
                "coverage_ci_high": coverage[2],
                "mean_df": float(fitted["df"].replace(np.inf, np.nan).mean()),
            })
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
