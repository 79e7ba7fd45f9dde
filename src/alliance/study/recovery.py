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
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from alliance.mixed import MixedResult
from alliance.study.config import RATERS
from alliance.study.joint import JointModel, joint_term
from alliance.study.models import GrowthModel

RECOVERY_COLUMNS = ("model", "parameter", "true", "exact", "estimate", "ci_low", "ci_high",
                    "covered")


def recovery_table(
    truth: Mapping[str, Any], growth: Mapping[str, GrowthModel], joint: JointModel
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
        result = growth[rater].fit
        true_fixed = {**truth["fixed_effects"][rater], **truth["covariate_effects"][rater]}
        rows += _fixed_rows(model, result, {t: true_fixed[t] for t in true_fixed})
        index = [terms.index(f"{rater}_rated_intercept"), terms.index(f"{rater}_rated_time")]
        for level in result.spec.levels:
            who = "therapist" if level.name == "therapist" else "patient"
            truth_matrix = between[who][np.ix_(index, index)]
            rows += _covariance_rows(model, who, result, level.name, truth_matrix)
        rows.append(_row(model, "var(Residual)", truth["residual_variance"][rater],
                         result.residual_variance))

    result = joint.fit
    true_fixed = {
        joint_term(rater, term): value
        for rater in RATERS
        for term, value in {**truth["fixed_effects"][rater],
                            **truth["covariate_effects"][rater]}.items()
    }
    rows += _fixed_rows("joint", result, true_fixed)
    order = [terms.index(f"{rater}_rated_{part}") for part in ("intercept", "time")
             for rater in RATERS]
    for level in result.spec.levels:
        who = "therapist" if level.name == "therapist" else "patient"
        rows += _covariance_rows("joint", who, result, level.name,
                                 between[who][np.ix_(order, order)])
    ratios = result.residual_sd_ratios
    for rater in RATERS:
        rows.append(_row("joint", f"var(Residual:{rater})", truth["residual_variance"][rater],
                         result.residual_variance * ratios[rater] ** 2))
    return pd.DataFrame(rows, columns=list(RECOVERY_COLUMNS))


def _fixed_rows(model: str, result: MixedResult, true: Mapping[str, float]) -> list[dict]:
    rows = []
    for term, estimate, low, high in result.fixed_effects[
        ["term", "estimate", "ci_low", "ci_high"]
    ].itertuples(index=False):
        if term in true:
            value = float(true[term])
            rows.append({"model": model, "parameter": term, "true": value, "exact": True,
                         "estimate": float(estimate), "ci_low": float(low),
                         "ci_high": float(high), "covered": bool(low <= value <= high)})
    return rows


def _covariance_rows(
    model: str, who: str, result: MixedResult, level: str, truth: np.ndarray
) -> list[dict[str, Any]]:
    """Variances and covariances of one level's random effects against the truth."""
    matrix = result.covariance_matrices()[level]
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
