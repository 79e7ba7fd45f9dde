"""The true values behind a simulated study, on the metric an analysis of it estimates.

From the latent alliance to the observed WAI mean score
-------------------------------------------------------
The growth model (:mod:`alliance.simulate.design_alliance`) describes a latent alliance
``A``. Item ``k`` has latent response ``y*_k = nu_k + lambda_k A + e_k``; the mean of the
``K`` latent responses is ``mean(nu) + mean(lambda) A + mean(e)``. Hence, before
discretisation, a fixed effect ``b`` of the latent model is ``mean(lambda) * b`` on the mean-
score metric, the intercept is ``mean(nu) + mean(lambda) * b0``, random-effect covariances are
multiplied by ``mean(lambda)^2`` and the occasion residual variance gains
``sum(residual_sd_k^2) / K^2`` from the item noise. These are the values reported under
``fixed_effects``, ``random_effects`` and ``residual_variance``; with the default items
(``nu = 0`` on average, ``lambda = 1``) the two metrics coincide.

The observed responses are discretised: thresholds halfway between categories round ``y*_k``
to the nearest category, which leaves its expectation nearly unchanged (at one fixed alliance
value a periodic bias remains, at most about 0.012 for the default items, 0.05 for item noise
SDs of 0.3; it averages out over the spread of alliance values) and adds about 1/12 to each
item's variance; the end categories, however, absorb every ``y*_k`` beyond them. Where the
alliance approaches the ceiling of the scale (5) the expected item response falls short of
``y*_k`` and growth and predictor effects estimated from mean scores are attenuated
(compressed towards 0). With the default design this attenuation is small but not nil (the
mean patient-rated score at session 20 is about 0.02 below its latent value); the true values
here are therefore the targets of an analysis of mean scores as far as they can be stated,
and an estimator is expected to recover them slightly shrunk towards 0. Checked in
tests/simulate/test_truth.py against large simulated samples, with the discretised expectation
computed by quadrature. Therapist-factor effects are per standard
deviation of the *true* factor scores; factor scores estimated from QPL items are noisier,
which attenuates estimated effects once more (regression dilution).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from alliance.simulate.design import COVARIATES, StudyDesign
from alliance.simulate.design_alliance import RANDOM_TERMS, RATERS

METRIC_NOTE = (
    "fixed_effects, random_effects and residual_variance are on the WAI item mean-score "
    "metric before discretisation (latent effects times the mean item loading); ordinal "
    "discretisation attenuates them near the ends of the scale. Factor effects are per SD of "
    "the true factor scores; covariate effects per unit of deviation from their population "
    "means. See alliance.simulate.truth."
)


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


def mean_score_fixed_effects(design: StudyDesign) -> dict[str, dict[str, float]]:
    """Fixed effects of ``alliance ~ time * (factors)`` per rater, WAI mean-score metric."""
    loading, intercept = design.wai.mean_loading, design.wai.mean_intercept
    effects = {}
    for rater, terms in latent_fixed_effects(design).items():
        scaled = {term: loading * value for term, value in terms.items()}
        scaled["(Intercept)"] += intercept
        effects[rater] = scaled
    return effects


def covariate_effects(design: StudyDesign) -> dict[str, dict[str, float]]:
    """Effects of the centred covariates per rater, WAI mean-score metric."""
    loading = design.wai.mean_loading
    return {
        rater: {
            **{name: loading * model.level_effect(name) for name in COVARIATES},
            **{f"time:{name}": loading * model.growth_effect(name) for name in COVARIATES},
        }
        for rater, model in design.alliance.raters.items()
    }


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
    """Expected mean score at each listed session, for a therapist at the factor means."""
    sessions = np.asarray(design.schedule.sessions)
    time = design.alliance.time_of(sessions)
    fixed = mean_score_fixed_effects(design)
    return {
        rater: {
            str(session): fixed[rater]["(Intercept)"] + fixed[rater]["time"] * float(t)
            for session, t in zip(sessions, time, strict=True)
        }
        for rater in RATERS
    }


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

    Keys: ``seed``; ``parameters`` (``design.to_dict()``); ``time`` (scale and definition);
    ``metric`` (a note on metrics); ``model_terms``; ``fixed_effects`` (per rater, the terms
    of ``alliance ~ time * (factors)``, mean-score metric) and ``latent_fixed_effects``;
    ``covariate_effects``; ``random_effects`` (4 x 4 covariances between therapists and
    between patients, in ``terms`` order, mean-score metric); ``residual_variance`` per rater
    and ``residual_covariance`` (mean-score metric, before discretisation);
    ``expected_mean_score`` per rater and listed session; ``latent_item_loadings`` per rater;
    ``therapist_factor_scores``, ``therapist_random_effects`` and ``patient_random_effects``
    (column-wise, with ids; random effects on the latent metric); ``counts`` of scheduled and
    missing administrations and missing items.
    """
    loading2 = design.wai.mean_loading**2
    alliance = design.alliance
    return {
        "seed": seed,
        "parameters": design.to_dict(),
        "time": {"scale": alliance.time_scale, "definition": alliance.time_definition},
        "metric": METRIC_NOTE,
        "model_terms": list(model_terms(design.qpl.factors)),
        "fixed_effects": mean_score_fixed_effects(design),
        "latent_fixed_effects": latent_fixed_effects(design),
        "covariate_effects": covariate_effects(design),
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
