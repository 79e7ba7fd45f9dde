"""Step 6 (simulated data): each estimate beside the true value it estimates.

True values come from the simulation's truth (:func:`alliance.simulate.truth.build_truth`,
``truth.json``): fixed effects per rater on the WAI mean-score metric, covariate effects,
the 4 x 4 covariance matrices of the random effects between therapists and between patients
(terms ``patient_rated_intercept``, ``patient_rated_time``, ``therapist_rated_intercept``,
``therapist_rated_time``) and the residual variance per rater. Fixed effects carry their
confidence interval and whether it covers the true value; their true values are exact on the
mean-score metric (``exact`` is True; :mod:`alliance.simulate.mean_score`). Variance
components have no exact true value on that metric (the truth lists them as approximate: the
linear metric before the items are rounded to categories), no interval (``ci_low``,
``ci_high`` and ``covered`` are None) and ``exact`` False: they are shown, never counted as
recovered.

Factor effects are per SD of the *true* factor scores. The models estimate them on that metric
when the factor scores are Croon-corrected (``factors.correction = "croon"``, the default);
the naive scores (``"none"``) are per SD of the estimated scores and attenuate the effects.
The intercept and slope refer to predictors at their population means, whereas the models
centre them at the sample means. The models compared are those of the truth's time scale.

When the analysis codes time as the truth does but from another origin or in another unit,
its models are a reparameterisation of the truth's (:meth:`TimeAxis.affine_map`: ``t_truth = a
+ b t``): the fixed effects of the truth's axis are linear combinations of the fitted ones
(``beta_x - (a / b) beta_{time:x}`` for a term ``x`` and ``beta_{time:x} / b`` for its time
interaction) and the random-effect covariance matrices become ``M Sigma M'`` with the same map
``M``. :func:`retimed_estimates` reads them off the fitted models, with intervals from the
contrasts' own Satterthwaite df (:meth:`MixedResult.contrast`; the df are invariant under the
reparameterisation), instead of fitting the models again. Where the models are not such a
reparameterisation (uncorrelated random intercepts and slopes, a time interaction without its
main term, other df methods, cluster-robust SEs) it returns None and the caller refits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from alliance.mixed import MixedResult
from alliance.study.config import RATERS
from alliance.study.joint import joint_term

RECOVERY_COLUMNS = ("model", "parameter", "true", "exact", "estimate", "ci_low", "ci_high",
                    "covered")
#: The time variable of the growth models' formulas.
TIME = "time"


@dataclass(frozen=True)
class Estimates:
    """What the recovery table reads of one fitted model, on the truth's time axis.

    ``fixed`` has the columns ``term``, ``estimate``, ``ci_low``, ``ci_high``; ``covariances``
    the random-effect covariance matrix of each level (by level name, innermost first);
    ``residual_sd_ratios`` the residual SD of each stratum relative to the first.
    """

    fixed: pd.DataFrame
    covariances: dict[str, pd.DataFrame]
    residual_variance: float
    residual_sd_ratios: dict[str, float]


def estimates(result: MixedResult) -> Estimates:
    """The estimates of ``result`` as fitted."""
    return Estimates(result.fixed_effects[["term", "estimate", "ci_low", "ci_high"]],
                     result.covariance_matrices(), result.residual_variance,
                     result.residual_sd_ratios)


def _factors(name: str) -> frozenset[str]:
    return frozenset() if name == "(Intercept)" else frozenset(name.split(":"))


def _retiming(names: list[str], shift: float, scale: float) -> np.ndarray | None:
    """``M`` with ``coefficients_truth = M coefficients`` for columns ``names`` (see the module
    docstring), or None when a time column lacks its column without time."""
    index = {_factors(name): i for i, name in enumerate(names)}
    matrix = np.eye(len(names))
    for factors, i in index.items():
        if TIME not in factors:
            continue
        partner = index.get(factors - {TIME})
        if partner is None:
            return None
        matrix[i, i] = 1.0 / scale
        matrix[partner, i] = -shift / scale
    return matrix


def retimed_estimates(result: MixedResult, shift: float, scale: float) -> Estimates | None:
    """The estimates ``result`` implies on the axis ``t_truth = shift + scale t``, or None when
    they cannot be read off it (see the module docstring)."""
    if result.df_method != "satterthwaite":
        return None
    names = list(result.spec.fixed_names)
    fixed_map = _retiming(names, shift, scale)
    if fixed_map is None:
        return None
    covariances = {}
    for level, matrix in zip(result.spec.levels, result.covariance_matrices().values(),
                             strict=True):
        block_of = {name: (index, block.correlated) for index, block in enumerate(level.blocks)
                    for name in block.names}
        columns = list(matrix.columns)
        random_map = _retiming(columns, shift, scale)
        if random_map is None:
            return None
        for i, j in zip(*np.nonzero(random_map - np.diag(np.diag(random_map))), strict=True):
            first, second = block_of[columns[i]], block_of[columns[j]]
            if first[0] != second[0] or not first[1]:
                return None  # a reparameterisation would correlate what the model keeps apart
        values = random_map @ matrix.to_numpy() @ random_map.T
        covariances[level.name] = pd.DataFrame(values, index=columns, columns=columns)
    # a row that only rescales its coefficient (1 / scale, or 1) keeps the coefficient's df:
    # its interval is the table's, rescaled; the others are contrasts with their own df
    table = result.fixed_effects.set_index("term").loc[names]
    factor = np.diag(fixed_map)
    read = {key: table[key].to_numpy() * factor for key in ("estimate", "ci_low", "ci_high")}
    mixed = np.flatnonzero(np.count_nonzero(fixed_map, axis=1) > 1)
    if len(mixed):
        tests = result.contrast(fixed_map[mixed])
        for key, values in read.items():
            values[mixed] = tests[key].to_numpy()
    fixed = pd.DataFrame({"term": names, **read})
    return Estimates(fixed, covariances, result.residual_variance, result.residual_sd_ratios)


def truth_axis_estimates(
    fits: Mapping[str, MixedResult], shift: float, scale: float
) -> dict[str, Estimates] | None:
    """The estimates of each fit on the axis ``t_truth = shift + scale t``; None when one of them
    cannot be read off its fit (:func:`retimed_estimates`)."""
    if shift == 0.0 and scale == 1.0:
        return {name: estimates(fit) for name, fit in fits.items()}
    found = {name: retimed_estimates(fit, shift, scale) for name, fit in fits.items()}
    if any(value is None for value in found.values()):
        return None
    return {name: value for name, value in found.items() if value is not None}


def recovery_table(
    truth: Mapping[str, Any], growth: Mapping[str, Estimates], joint: Estimates
) -> pd.DataFrame:
    """One row per parameter with a known true value (see the module docstring)."""
    rows: list[dict[str, Any]] = []
    terms = list(truth["random_effects"]["terms"])
    between = {
        "therapist": np.asarray(truth["random_effects"]["between_therapists"], dtype=float),
        "patient": np.asarray(truth["random_effects"]["between_patients"], dtype=float),
    }
    for rater in RATERS:
        model = f"growth ({rater})"
        result = growth[rater]
        true_fixed = {**truth["fixed_effects"][rater], **truth["covariate_effects"][rater]}
        rows += _fixed_rows(model, result, {t: true_fixed[t] for t in true_fixed})
        index = [terms.index(f"{rater}_rated_intercept"), terms.index(f"{rater}_rated_time")]
        for level, matrix in result.covariances.items():
            who = "therapist" if level == "therapist" else "patient"
            truth_matrix = between[who][np.ix_(index, index)]
            rows += _covariance_rows(model, who, matrix, truth_matrix)
        rows.append(_row(model, "var(Residual)", truth["residual_variance"][rater],
                         result.residual_variance))

    result = joint
    true_fixed = {
        joint_term(rater, term): value
        for rater in RATERS
        for term, value in {**truth["fixed_effects"][rater],
                            **truth["covariate_effects"][rater]}.items()
    }
    rows += _fixed_rows("joint", result, true_fixed)
    order = [terms.index(f"{rater}_rated_{part}") for part in ("intercept", "time")
             for rater in RATERS]
    for level, matrix in result.covariances.items():
        who = "therapist" if level == "therapist" else "patient"
        rows += _covariance_rows("joint", who, matrix, between[who][np.ix_(order, order)])
    ratios = result.residual_sd_ratios
    for rater in RATERS:
        rows.append(_row("joint", f"var(Residual:{rater})", truth["residual_variance"][rater],
                         result.residual_variance * ratios[rater] ** 2))
    return pd.DataFrame(rows, columns=list(RECOVERY_COLUMNS))


def _fixed_rows(model: str, result: Estimates, true: Mapping[str, float]) -> list[dict]:
    rows = []
    for term, estimate, low, high in result.fixed[
        ["term", "estimate", "ci_low", "ci_high"]
    ].itertuples(index=False):
        if term in true:
            value = float(true[term])
            rows.append({"model": model, "parameter": term, "true": value, "exact": True,
                         "estimate": float(estimate), "ci_low": float(low),
                         "ci_high": float(high), "covered": bool(low <= value <= high)})
    return rows


def _covariance_rows(
    model: str, who: str, matrix: pd.DataFrame, truth: np.ndarray
) -> list[dict[str, Any]]:
    """Variances and covariances of one level's random effects against the truth."""
    names = list(matrix.columns)
    values = matrix.to_numpy()
    rows = []
    for i, first in enumerate(names):
        rows.append(_row(model, f"var({who}:{first})", truth[i, i], values[i, i]))
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            rows.append(_row(model, f"cov({who}:{names[i]},{names[j]})", truth[i, j],
                             values[i, j]))
    return rows


def _row(model: str, parameter: str, true: float, estimate: float) -> dict[str, Any]:
    return {"model": model, "parameter": parameter, "true": float(true), "exact": False,
            "estimate": float(estimate), "ci_low": None, "ci_high": None, "covered": None}
