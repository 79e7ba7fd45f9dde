"""The data behind the report's figures (the report draws them; nothing is drawn here).

* observed trajectories: mean, SD and count of the alliance per rater and session;
* implied trajectories: the growth model's fixed part per rater for a therapist 1 SD below,
  at and 1 SD above the mean of one factor (other predictors at their means, i.e. 0 after
  centring), over sessions from the first to the last observed;
* forest: each factor's effect on level and growth per rater with its confidence interval;
* caterpillar: the therapists' random intercepts of each rater's null model (conditional
  modes) with ``mode +- z sqrt(conditional variance)`` intervals, ranked from lowest (rank 1);
  therapist ids only with ``show_identifiers``;
* individual trajectories: the observed alliance of a reproducible random sample of patients
  per rater, drawn in two stages from the seed of the study: up to :data:`SAMPLE_THERAPISTS`
  therapists, then up to :data:`SAMPLE_PATIENTS` of their patients; therapists and patients are
  numbered within the sample (no identifiers);
* residual diagnostics of each rater's growth model: conditional residuals ``y - X beta - Z b``
  against fitted values ``X beta + Z b`` (every point up to :data:`MAX_SCATTER` rows, beyond
  that a 2-D histogram of all of them), with the mean residual in bins of the fitted values;
  and normal quantile-quantile data (R's ``qqnorm``/``qqline``) of the residuals and of the
  conditional modes of each random effect, thinned beyond :data:`MAX_QQ` values.

Every part has a size bounded independently of the number of sessions, so results.json and
the figures drawn from it stay small and quick for 100,000 sessions and more.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy import special

from alliance.mixed import MixedResult
from alliance.study.config import FACTOR_NAMES, RATERS
from alliance.study.models import AnalysisData, GrowthModel, NullModel

#: Points of the implied trajectories between the first and the last observed session.
TRAJECTORY_POINTS = 50
FACTOR_LEVELS = (-1, 0, 1)
#: Individual trajectories: therapists drawn per rater (one colour each in the figure), and
#: patients drawn among theirs.
SAMPLE_THERAPISTS = 8
SAMPLE_PATIENTS = 30
#: Residuals against fitted values: every point up to this many rows, else a 2-D histogram.
MAX_SCATTER = 2000
HISTOGRAM_BINS = (60, 40)
#: Bins (equal counts) of the fitted values for the mean residual.
TREND_BINS = 20
#: Quantile-quantile data: every value up to this many, else the TAIL_POINTS smallest and
#: largest and evenly spaced ranks between them, MAX_QQ in all.
MAX_QQ = 1000
TAIL_POINTS = 100
#: Labels of the random-effect terms (as :func:`alliance.study.models.coefficient_reliability`).
COEFFICIENT_LABELS = {"(Intercept)": "intercept", "time": "slope"}


def observed_trajectories(analysis: AnalysisData) -> list[dict[str, Any]]:
    """Mean, SD (``ddof = 1``; None for one observation) and count per rater and session."""
    grouped = analysis.frame.groupby(["rater", "session"])["alliance"]
    table = grouped.agg(["mean", "std", "count"]).reset_index()
    return [
        {"rater": str(rater), "session": float(session), "mean": float(mean),
         "sd": None if np.isnan(sd) else float(sd), "n": int(n)}
        for rater, session, mean, sd, n in zip(
            table["rater"], table["session"].to_numpy(float), table["mean"].to_numpy(float),
            table["std"].to_numpy(float), table["count"].to_numpy(int), strict=True
        )
    ]


def implied_trajectories(
    growth: Mapping[str, GrowthModel], analysis: AnalysisData, coding: str
) -> list[dict[str, Any]]:
    """The fixed part of each rater's growth model at factor levels -1, 0 and +1 SD."""
    sessions = analysis.frame["session"].to_numpy()
    grid = np.unique(np.round(np.linspace(sessions.min(), sessions.max(), TRAJECTORY_POINTS)))
    time = analysis.time_axis.time(grid, coding)
    rows = []
    for rater in RATERS:
        estimate = growth[rater].fit.fixed_effects.set_index("term")["estimate"]
        for factor in FACTOR_NAMES:
            for level in FACTOR_LEVELS:
                curve = (estimate["(Intercept)"] + estimate["time"] * time
                         + level * (estimate[factor] + estimate[f"time:{factor}"] * time))
                rows += [
                    {"rater": rater, "factor": factor, "factor_level": level,
                     "session": float(s), "alliance": float(a)}
                    for s, a in zip(grid, curve, strict=True)
                ]
    return rows


def forest(growth: Mapping[str, GrowthModel]) -> list[dict[str, Any]]:
    """Each factor's effect on level (``x``) and growth (``time:x``), per rater."""
    rows = []
    for rater in RATERS:
        table = growth[rater].fit.fixed_effects.set_index("term")
        for outcome, prefix in (("level", ""), ("growth", "time:")):
            for factor in FACTOR_NAMES:
                values = table.loc[f"{prefix}{factor}", ["estimate", "ci_low", "ci_high"]]
                estimate, low, high = np.asarray(values, dtype=float)
                rows.append({"rater": rater, "outcome": outcome, "factor": factor,
                             "estimate": float(estimate), "ci_low": float(low),
                             "ci_high": float(high)})
    return rows


def caterpillar(
    null: Mapping[str, NullModel], confidence: float, show_identifiers: bool
) -> dict[str, list[dict[str, Any]]]:
    """Ranked therapist random intercepts of each rater's null model."""
    z = float(special.ndtri(0.5 + confidence / 2.0))
    out = {}
    for rater in RATERS:
        modes = null[rater].fit.ranef(condvar=True)["therapist"]
        estimate = modes["(Intercept)"].to_numpy(dtype=float)
        half = z * np.sqrt(modes["var((Intercept))"].to_numpy(dtype=float))
        labels = modes.index.astype(str).to_numpy()
        order = np.lexsort((labels, estimate))
        rows = []
        for rank, j in enumerate(order, start=1):
            entry: dict[str, Any] = {"rank": rank, "estimate": float(estimate[j]),
                                     "ci_low": float(estimate[j] - half[j]),
                                     "ci_high": float(estimate[j] + half[j])}
            if show_identifiers:
                entry["therapist"] = str(labels[j])
            rows.append(entry)
        out[rater] = rows
    return out


def individual_trajectories(analysis: AnalysisData, seed: int) -> dict[str, dict[str, Any]]:
    """Observed alliance of a random sample of patients per rater, numbered, not identified.

    Two-stage sample from ``numpy.random.default_rng(seed)``, per rater: up to
    :data:`SAMPLE_THERAPISTS` therapists drawn without replacement from the rater's therapists
    (sorted by id, so the draw does not depend on row order), then up to
    :data:`SAMPLE_PATIENTS` patients drawn without replacement from their patients. Therapists
    are numbered 1, 2, ... in the order drawn; patients 1, 2, ... by therapist number and id.

    Returns
    -------
    dict
        ``{rater: {seed, n_therapists, n_patients, sampled_therapists, sampled_patients,
        points: [{therapist, patient, session, alliance}]}}``: counts of the rater's
        therapists and patients, of those sampled, and the sampled patients' administrations.
    """
    out = {}
    for rater in RATERS:
        frame = analysis.frame.loc[analysis.frame["rater"] == rater]
        rng = np.random.default_rng(seed)
        therapists = np.sort(frame["therapist"].astype(str).unique())
        drawn = rng.choice(therapists, size=min(SAMPLE_THERAPISTS, len(therapists)),
                           replace=False)
        number = {label: index for index, label in enumerate(drawn, start=1)}
        pool = frame.loc[frame["therapist"].astype(str).isin(number)]
        patients = np.sort(pool["patient"].astype(str).unique())
        chosen = set(rng.choice(patients, size=min(SAMPLE_PATIENTS, len(patients)),
                                replace=False))
        sample = pool.loc[pool["patient"].astype(str).isin(chosen)]
        sample = sample.assign(therapist_number=sample["therapist"].astype(str).map(number))
        sample = sample.sort_values(["therapist_number", "patient", "session"], kind="stable")
        patient_number = {label: index for index, label in enumerate(
            dict.fromkeys(sample["patient"].astype(str)), start=1)}
        points = [
            {"therapist": int(t), "patient": patient_number[str(p)], "session": float(s),
             "alliance": float(a)}
            for t, p, s, a in zip(sample["therapist_number"], sample["patient"],
                                  sample["session"].to_numpy(float),
                                  sample["alliance"].to_numpy(float), strict=True)
        ]
        out[rater] = {"seed": int(seed), "n_therapists": int(len(therapists)),
                      "n_patients": int(frame["patient"].nunique()),
                      "sampled_therapists": len(number), "sampled_patients": len(patient_number),
                      "points": points}
    return out


def residual_diagnostics(growth: Mapping[str, GrowthModel]) -> dict[str, dict[str, Any]]:
    """Residual and random-effect diagnostics of each rater's growth model.

    Returns
    -------
    dict
        ``{rater: {model, n_obs, sigma, residuals: fitted_residual_data(...),
        qq: [{quantity, level, term, variance, **normal_qq_data(...)}]}}``: ``quantity``
        ``residual`` (``level`` and ``term`` None, ``variance`` sigma^2) or
        ``<level>_<coefficient>`` (``patient_intercept``, ``therapist_slope``, ...) for the
        conditional modes of each random effect, ``variance`` its estimated variance.
    """
    return {rater: model_diagnostics(growth[rater].fit) for rater in RATERS}


def model_diagnostics(result: MixedResult) -> dict[str, Any]:
    """The diagnostics of :func:`residual_diagnostics` for one fitted model."""
    fitted = np.asarray(result.fitted, dtype=float)
    residuals = np.asarray(result.residuals, dtype=float)
    qq = [{"quantity": "residual", "level": None, "term": None,
           "variance": float(result.residual_variance), **normal_qq_data(residuals)}]
    modes = result.ranef(condvar=False)
    matrices = result.covariance_matrices()
    for level in result.spec.levels:
        name = level.name.split(":")[0]
        variances = np.diag(matrices[level.name].to_numpy(dtype=float))
        for term, variance in zip(level.column_names, variances, strict=True):
            qq.append({"quantity": f"{name}_{COEFFICIENT_LABELS.get(term, term)}",
                       "level": name, "term": term, "variance": float(variance),
                       **normal_qq_data(modes[level.name][term].to_numpy(dtype=float))})
    return {"model": "growth", "n_obs": int(len(residuals)), "sigma": float(result.sigma),
            "residuals": fitted_residual_data(fitted, residuals), "qq": qq}


def fitted_residual_data(fitted: np.ndarray, residuals: np.ndarray) -> dict[str, Any]:
    """Residuals against fitted values, bounded in size whatever the number of rows.

    Up to :data:`MAX_SCATTER` rows every point (``kind`` ``points``: ``fitted``,
    ``residual``); beyond, a 2-D histogram of all rows (``kind`` ``histogram``:
    ``fitted_edges``, ``residual_edges`` and ``counts[i][j]`` of fitted bin ``i`` and residual
    bin ``j``, :data:`HISTOGRAM_BINS` equal-width bins over the range). Always ``trend``: the
    mean fitted value and mean residual in :data:`TREND_BINS` bins of (nearly) equal counts of
    the sorted fitted values (fewer with fewer than 10 rows per bin), the binned analogue of
    the smoother of a residual plot.
    """
    fitted = np.asarray(fitted, dtype=float)
    residuals = np.asarray(residuals, dtype=float)
    n = len(fitted)
    data: dict[str, Any]
    if n <= MAX_SCATTER:
        data = {"kind": "points", "n": n, "fitted": fitted.tolist(),
                "residual": residuals.tolist()}
    else:
        counts, fitted_edges, residual_edges = np.histogram2d(fitted, residuals,
                                                              bins=HISTOGRAM_BINS)
        data = {"kind": "histogram", "n": n, "fitted_edges": fitted_edges.tolist(),
                "residual_edges": residual_edges.tolist(),
                "counts": counts.astype(int).tolist()}
    order = np.argsort(fitted, kind="stable")
    bins = [part for part in np.array_split(order, max(1, min(TREND_BINS, n // 10))) if len(part)]
    data["trend"] = {"fitted": [float(fitted[part].mean()) for part in bins],
                     "residual": [float(residuals[part].mean()) for part in bins]}
    return data


def normal_qq_data(values: np.ndarray) -> dict[str, Any]:
    """Normal quantile-quantile data of ``values``, as R's ``qqnorm`` and ``qqline``.

    The sorted values against the standard normal quantiles of the plotting positions
    ``(i - a) / (n + 1 - 2a)``, ``a = 3/8`` for ``n <= 10`` and ``1/2`` otherwise (R's
    ``ppoints``); the reference line passes through the first and third quartiles of the
    values (type-7 quantiles) against those of the normal distribution (R's ``qqline``).
    Beyond :data:`MAX_QQ` values only the :data:`TAIL_POINTS` smallest and largest and evenly
    spaced ranks between them are kept (``thinned``): the kept points lie exactly on the full
    plot's curve.

    Returns
    -------
    dict
        ``n``, ``thinned``, ``theoretical``, ``sample``, ``line`` ``{intercept, slope}``.
    """
    values = np.sort(np.asarray(values, dtype=float))
    n = len(values)
    a = 3.0 / 8.0 if n <= 10 else 0.5
    ranks = np.arange(n)
    thinned = n > MAX_QQ
    if thinned:
        middle = np.unique(np.round(np.linspace(TAIL_POINTS, n - 1 - TAIL_POINTS,
                                                MAX_QQ - 2 * TAIL_POINTS)).astype(int))
        ranks = np.concatenate([np.arange(TAIL_POINTS), middle,
                                np.arange(n - TAIL_POINTS, n)])
    theoretical = special.ndtri((ranks + 1 - a) / (n + 1 - 2 * a))
    low, high = np.quantile(values, [0.25, 0.75]) if n else (np.nan, np.nan)
    z_low, z_high = special.ndtri(np.array([0.25, 0.75]))
    slope = (high - low) / (z_high - z_low)
    return {"n": n, "thinned": bool(thinned), "theoretical": theoretical.tolist(),
            "sample": values[ranks].tolist(),
            "line": {"intercept": float(low - slope * z_low), "slope": float(slope)}}
