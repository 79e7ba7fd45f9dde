"""The true values behind a simulated study, on the metric an analysis of it estimates.

Fixed effects: exact on the mean-score metric
---------------------------------------------
The growth model (:mod:`alliance.simulate.design_alliance`) describes a latent alliance ``A``;
an analysis models the mean of the ordinal WAI item scores. The true fixed effects
(``fixed_effects``, ``covariate_effects``) are those of the mean-score metric, computed
exactly from the ordinal item model by :func:`alliance.simulate.mean_score.mean_score_effects`
(the closed-form expected mean score given the predictors, and its best linear approximation in
the model's terms over the design's population of administrations). Near the ceiling of the
scale they are smaller than the latent effects (``latent_fixed_effects``): with the default
design the patient-rated growth is 0.092 rather than 0.100 and the Burdens growth effect -0.080
rather than -0.090, and a growth effect adds a small level effect. A large simulated study
recovers these values (tests/simulate/test_mean_score.py). ``expected_mean_score`` is the
expected mean score at each listed session over the whole population (exact when the covariates
have no effect; their Gamma distributions are otherwise treated as normal).

Variance components: approximate
--------------------------------
Item ``k`` has latent response ``y*_k = nu_k + lambda_k A + e_k``; before discretisation the
mean of the ``K`` latent responses has random-effect covariances ``mean(lambda)^2`` times
those of ``A`` and an occasion residual variance ``mean(lambda)^2 sigma^2 + sum(s_k^2) / K^2``.
These are the values under ``random_effects``, ``residual_variance`` and
``residual_covariance``. The rounding to categories makes the occasion errors non-normal and
heteroscedastic and compresses the spread near the ceiling, so no exact counterpart exists on
the mean-score metric: these values are approximate (listed in ``approximate``) and make no
recovery claim. Therapist-factor effects are per SD of the *true* factor scores.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from alliance.simulate.design import COVARIATES, StudyDesign
from alliance.simulate.design_alliance import RANDOM_TERMS, RATERS, TIME_AXIS
from alliance.simulate.mean_score import expected_mean_score, mean_score_effects

METRIC_NOTE = (
    "fixed_effects and covariate_effects are exact on the WAI item mean-score metric (the "
    "ordinal items' expected mean score, linearly approximated over the design's population; "
    "alliance.simulate.mean_score). random_effects, residual_variance and residual_covariance "
    "are approximate: the linear metric before discretisation (latent values times the mean "
    "item loading, plus item noise). Factor effects are per SD of the true factor scores; "
    "covariate effects per unit of deviation from their population means. See "
    "alliance.simulate.truth."
)
#: Truth keys whose values are approximate on the mean-score metric (no recovery claim).
APPROXIMATE = ("random_effects", "residual_variance", "residual_covariance")


def model_terms(factors: tuple[str, ...]) -> tuple[str, ...]:
    """Terms of ``alliance ~ time * (factor1 + factor2 + ...)``, named as lme4 names them."""
    return ("(Intercept)", "time", *factors, *(f"time:{name}" for name in factors))


def latent_fixed_effects(design: StudyDesign) -> dict[str, dict[str, float]]:
    """Fixed effects of ``alliance ~ time * (factors)`` per rater, latent metric."""
    effects: dict[str, dict[str, float]] = {}
    for rater, model in design.alliance.raters.items():
        terms = {"(Intercept)": model.intercept, "time": model.time}
        terms.update({name: model.level_effect(name) for name in design.qpl.factors})
        terms.update({f"time:{name}": model.growth_effect(name) for name in design.qpl.factors})
        effects[rater] = terms
    return effects


def residual_variances(design: StudyDesign) -> dict[str, float]:
    """Occasion residual variance of the mean score per rater, before discretisation."""
    wai = design.wai
    item_part = float(np.sum(np.square(wai.residual_sd))) / wai.n_items**2
    return {
        rater: wai.mean_loading**2 * model.residual_sd**2 + item_part
        for rater, model in design.alliance.raters.items()
    }


def latent_variance(design: StudyDesign, rater_index: int, time: float) -> float:
    """Variance of the latent alliance across patients at ``time``, for one rater.

    Sums the random effects of both levels, the therapist factors (with their correlations),
    the covariates and the occasion residual.
    """
    rater = RATERS[rater_index]
    model = design.alliance.raters[rater]
    z = np.zeros(len(RANDOM_TERMS))
    z[2 * rater_index : 2 * rater_index + 2] = (1.0, time)
    alliance = design.alliance
    random = z @ (alliance.between_therapists.covariance + alliance.between_patients.covariance) @ z
    factors = np.array(
        [model.level_effect(name) + time * model.growth_effect(name) for name in design.qpl.factors]
    )
    covariate_sd = {
        "experience": design.covariates.experience_sd,
        "severity": design.covariates.severity_sd,
    }
    covariates = sum(
        ((model.level_effect(name) + time * model.growth_effect(name)) * covariate_sd[name]) ** 2
        for name in COVARIATES
    )
    return float(
        random
        + factors @ design.qpl.correlation_matrix @ factors
        + covariates
        + model.residual_sd**2
    )


def latent_item_loadings(design: StudyDesign) -> dict[str, list[float]]:
    """Standardised loading of each WAI item's latent response at the first scheduled session.

    ``lambda_k sd(A) / sqrt(lambda_k^2 var(A) + residual_sd_k^2)``, with ``var(A)`` from
    :func:`latent_variance`: the loadings a factor analysis of polychoric correlations of one
    wave would find.
    """
    time = float(design.alliance.time_of(np.array([design.schedule.sessions[0]]))[0])
    loadings = np.asarray(design.wai.loadings, dtype=float)
    noise = np.square(np.asarray(design.wai.residual_sd, dtype=float))
    result = {}
    for index, rater in enumerate(RATERS):
        variance = latent_variance(design, index, time)
        standardised = loadings * np.sqrt(variance) / np.sqrt(loadings**2 * variance + noise)
        result[rater] = standardised.tolist()
    return result


def expected_mean_scores(design: StudyDesign) -> dict[str, dict[str, float]]:
    """Expected mean score at each listed session over the population (module docstring)."""
    sessions = np.asarray(design.schedule.sessions)
    time = design.alliance.time_of(sessions)
    out = {}
    for index, rater in enumerate(RATERS):
        model = design.alliance.raters[rater]
        variance = np.array([latent_variance(design, index, float(t)) for t in time])
        expected = expected_mean_score(design.wai, model.intercept + model.time * time, variance)
        out[rater] = {str(session): float(value)
                      for session, value in zip(sessions, expected, strict=True)}
    return out


def build_truth(
    design: StudyDesign,
    seed: int,
    therapist_ids: list[str],
    factor_scores: np.ndarray,
    therapist_effects: np.ndarray,
    patient_ids: list[str],
    patient_effects: np.ndarray,
    counts: dict[str, int],
) -> dict[str, Any]:
    """Every parameter and every true value of one simulated study, JSON-ready.

    Keys: ``seed``; ``parameters`` (``design.to_dict()``); ``time`` (scale, definition, origin and unit of linear time);
    ``metric`` (a note on metrics) and ``approximate`` (keys without an exact true value);
    ``model_terms``; ``fixed_effects`` (per rater, the terms of ``alliance ~ time *
    (factors)``, exact on the mean-score metric) and ``latent_fixed_effects``;
    ``covariate_effects`` (exact, mean-score metric); ``random_effects`` (4 x 4 covariances between therapists and
    between patients, in ``terms`` order, mean-score metric); ``residual_variance`` per rater
    and ``residual_covariance`` (mean-score metric, before discretisation);
    ``expected_mean_score`` per rater and listed session; ``latent_item_loadings`` per rater;
    ``therapist_factor_scores``, ``therapist_random_effects`` and ``patient_random_effects``
    (column-wise, with ids; random effects on the latent metric); ``counts`` of scheduled and
    missing administrations and missing items.
    """
    loading2 = design.wai.mean_loading**2
    alliance = design.alliance
    exact = mean_score_effects(design)
    terms = model_terms(design.qpl.factors)
    return {
        "seed": seed,
        "parameters": design.to_dict(),
        "time": {"coding": alliance.time_coding, "definition": alliance.time_definition,
                 "origin": TIME_AXIS.origin, "unit": TIME_AXIS.unit},
        "metric": METRIC_NOTE,
        "approximate": list(APPROXIMATE),
        "model_terms": list(terms),
        "fixed_effects": {rater: {term: effects[term] for term in terms}
                          for rater, effects in exact.items()},
        "latent_fixed_effects": latent_fixed_effects(design),
        "covariate_effects": {rater: {term: value for term, value in effects.items()
                                      if term not in terms}
                              for rater, effects in exact.items()},
        "random_effects": {
            "terms": list(RANDOM_TERMS),
            "between_therapists": (loading2 * alliance.between_therapists.covariance).tolist(),
            "between_patients": (loading2 * alliance.between_patients.covariance).tolist(),
        },
        "residual_variance": residual_variances(design),
        "residual_covariance": loading2
        * alliance.residual_correlation
        * alliance.patient_rated.residual_sd
        * alliance.therapist_rated.residual_sd,
        "expected_mean_score": expected_mean_scores(design),
        "latent_item_loadings": latent_item_loadings(design),
        "therapist_factor_scores": {
            "therapist": list(therapist_ids),
            **{name: factor_scores[:, k].tolist() for k, name in enumerate(design.qpl.factors)},
        },
        "therapist_random_effects": {
            "therapist": list(therapist_ids),
            **{term: therapist_effects[:, k].tolist() for k, term in enumerate(RANDOM_TERMS)},
        },
        "patient_random_effects": {
            "patient": list(patient_ids),
            **{term: patient_effects[:, k].tolist() for k, term in enumerate(RANDOM_TERMS)},
        },
        "counts": dict(counts),
    }
