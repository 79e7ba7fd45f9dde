"""True fixed effects on the metric an analysis estimates: the mean of ordinal WAI item scores.

The growth model describes a latent alliance ``A``; the analysis models the mean of the
observed items, ``Y = mean_k y_k`` with ``y_k`` the category of ``y*_k = nu_k + lambda_k A + e_k``
(``e_k ~ N(0, s_k^2)``) between the thresholds ``tau_1 < ... < tau_J``. Given the predictors
``x`` (time, true factor scores, centred covariates), ``A ~ N(mu(x), v(t))`` with ``mu`` the
fixed part of the growth model and ``v(t) = z' (T + P) z + sigma^2`` the variance of the random
effects at time ``t`` (``z = (1, t)``) plus the occasion residual. Because a normal mixed over a
normal is normal, the expected mean score is exact in closed form (no quadrature)::

    E[Y | x] = scale_min + mean_k sum_j Phi((nu_k + lambda_k mu(x) - tau_j)
                                             / sqrt(lambda_k^2 v(t) + s_k^2))

This curve bends near the ends of the scale, so no linear model holds exactly on the mean-score
metric. The true value of each fixed effect is then the coefficient of the best linear
approximation of ``E[Y | x]`` in the model's terms (``1, t, x, t x``) over the population of
administrations the design generates, by least squares with one weight per administration: the
value a large study estimates (checked against fits of large simulated studies in
tests/simulate/test_mean_score.py). The expectation over the population is taken by
quadrature: the times of the schedule weighted by the probability that a treatment lasts until
them, Gauss-Hermite nodes for the normal factor scores and, only when covariates have effects,
a fixed-seed sample of covariate values; so the values are deterministic. Variance components have no such exact counterpart (the
rounding makes the occasion errors non-normal and heteroscedastic): their true values stay on
the linear metric before discretisation and are marked approximate.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from alliance.simulate.design import StudyDesign
from alliance.simulate.design_alliance import RATERS
from alliance.simulate.design_measures import WaiModel
from alliance.simulate.sample import draw_gamma

#: Gauss-Hermite points per therapist factor.
FACTOR_NODES = 24
#: Draws of the covariates, when they have effects (fixed seed: deterministic true values).
COVARIATE_DRAWS = 512
POPULATION_SEED = 20130483


def expected_mean_score(wai: WaiModel, mean: np.ndarray, variance: np.ndarray) -> np.ndarray:
    """``E[Y]`` when the latent alliance is ``N(mean, variance)`` (module docstring formula)."""
    mean = np.asarray(mean, dtype=float)[..., None]
    variance = np.asarray(variance, dtype=float)[..., None]
    thresholds = np.asarray(wai.thresholds, dtype=float)
    total = np.zeros(mean.shape[:-1])
    for intercept, loading, noise in zip(wai.intercepts, wai.loadings, wai.residual_sd,
                                         strict=True):
        scale = np.sqrt(loading**2 * variance + noise**2)
        total += ndtr((intercept + loading * mean - thresholds) / scale).sum(axis=-1)
    return wai.scale_min + total / wai.n_items


def mean_score_effects(design: StudyDesign) -> dict[str, dict[str, float]]:
    """True fixed effects per rater on the mean-score metric, by model term.

    Terms: ``(Intercept)``, ``time``, each predictor (factors, then covariates, centred at
    their population means) and ``time:<predictor>``: the linear approximation of the module
    docstring. A predictor without effect in a rater's model gets exactly 0 (it is normal and
    jointly normal with the other factors, or independent of everything else, so that its
    population coefficient is 0) and is left out of that rater's approximation.
    """
    alliance = design.alliance
    names = design.predictors
    times, time_weights = _time_distribution(design)
    between = alliance.between_therapists.covariance + alliance.between_patients.covariance
    effects = {}
    for column, rater in enumerate(RATERS):
        model = alliance.raters[rater]
        level = np.array([model.level_effect(name) for name in names])
        growth = np.array([model.growth_effect(name) for name in names])
        active = np.flatnonzero((level != 0) | (growth != 0))
        values, value_weights = _predictor_distribution(design, active)
        time = np.repeat(times, len(value_weights))
        weights = np.repeat(time_weights, len(value_weights)) * np.tile(value_weights,
                                                                         len(times))
        x = np.tile(values, (len(times), 1))
        mean = (model.intercept + model.time * time + x @ level[active]
                + time * (x @ growth[active]))
        block = between[2 * column : 2 * column + 2, 2 * column : 2 * column + 2]
        variance = (block[0, 0] + 2 * block[0, 1] * time + block[1, 1] * time**2
                    + model.residual_sd**2)
        expected = expected_mean_score(design.wai, mean, variance)
        basis = np.column_stack([np.ones_like(time), time, x, time[:, None] * x])
        root = np.sqrt(weights)
        coefficients, *_ = np.linalg.lstsq(basis * root[:, None], expected * root, rcond=None)
        terms = ("(Intercept)", "time", *(names[k] for k in active),
                 *(f"time:{names[k]}" for k in active))
        fitted = dict(zip(terms, map(float, coefficients), strict=True))
        effects[rater] = {
            term: fitted.get(term, 0.0)
            for term in ("(Intercept)", "time", *names, *(f"time:{name}" for name in names))
        }
    return effects


def _time_distribution(design: StudyDesign) -> tuple[np.ndarray, np.ndarray]:
    """Time of each scheduled session and the expected number of administrations there.

    A treatment of ``n = clip(rint(median exp(log_sd z)), min, max)`` sessions is assessed at
    every scheduled session ``s <= n``: ``P(n >= s) = 1 - Phi((ln(s - 1/2) - ln median) /
    log_sd)`` between the clipping bounds.
    """
    treatment = design.treatment
    sessions = design.schedule.sessions_until(treatment.max_sessions)
    if treatment.log_sd > 0:
        reach = 1.0 - ndtr((np.log(sessions - 0.5) - np.log(treatment.median_sessions))
                           / treatment.log_sd)
    else:
        reach = (np.rint(treatment.median_sessions) >= sessions).astype(float)
    reach = np.where(sessions <= treatment.min_sessions, 1.0, reach)
    keep = reach > 0
    return design.alliance.time_of(sessions[keep]), reach[keep]


def _predictor_distribution(design: StudyDesign, active: np.ndarray
                            ) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of the active predictors' joint distribution.

    Factors: tensor Gauss-Hermite rule of :data:`FACTOR_NODES` points per factor, mapped by the
    Cholesky factor of their correlation matrix (exact for the polynomial and smooth parts).
    Covariates (independent Gamma, rounded as simulated): a fixed-seed sample of
    :data:`COVARIATE_DRAWS` values, equally weighted.
    """
    n_factors = len(design.qpl.factors)
    factors = [int(k) for k in active if k < n_factors]
    covariates = [int(k) - n_factors for k in active if k >= n_factors]
    nodes = np.zeros((1, 0))
    weights = np.ones(1)
    if factors:
        points, point_weights = np.polynomial.hermite_e.hermegauss(FACTOR_NODES)
        grid = np.stack(np.meshgrid(*[points] * len(factors), indexing="ij"), -1).reshape(
            -1, len(factors))
        grid_weights = np.prod(np.stack(np.meshgrid(*[point_weights] * len(factors),
                                                    indexing="ij"), -1).reshape(
            -1, len(factors)), axis=1)
        correlation = design.qpl.correlation_matrix[np.ix_(factors, factors)]
        nodes = grid @ np.linalg.cholesky(correlation).T
        weights = grid_weights / grid_weights.sum()
    if covariates:
        draws = _covariate_draws(design)[:, covariates]
        nodes = np.column_stack([np.repeat(nodes, len(draws), axis=0),
                                 np.tile(draws, (len(weights), 1))])
        weights = np.repeat(weights, len(draws)) / len(draws)
    return nodes, weights


def _covariate_draws(design: StudyDesign) -> np.ndarray:
    """Centred experience and severity, drawn as :func:`alliance.simulate.simulate_study` does."""
    rng = np.random.default_rng(POPULATION_SEED)
    covariates = design.covariates
    experience = np.rint(np.minimum(
        draw_gamma(covariates.experience_mean, covariates.experience_sd, rng, COVARIATE_DRAWS),
        covariates.experience_max,
    ))
    severity = np.round(draw_gamma(covariates.severity_mean, covariates.severity_sd, rng,
                                   COVARIATE_DRAWS), 2)
    return np.column_stack([experience - covariates.experience_mean,
                            severity - covariates.severity_mean])
