"""Small-sample inference for fixed effects: Satterthwaite and HLM containment df.

Satterthwaite's method follows lmerTest (Kuznetsova, Brockhoff & Christensen 2017, J Stat Softw
82(13)): with ``varpar = (theta, rho, sigma)``, ``A = 2 H^{-1}`` where ``H`` is the Hessian of
the unprofiled deviance ``d(theta, sigma) = log|L|^2 + r2(theta)/sigma^2 + n log(2 pi sigma^2)``
(plus ``log|R_X|^2 - p log(2 pi sigma^2)`` under REML), and for a contrast ``l``::

    df = 2 (l' C l)^2 / (g' A g),   C = sigma^2 (X' V^-1 X)^-1,   g = d(l' C l) / d varpar

``g`` and the sigma row and column of ``H`` are exact; the ``(theta, rho)`` block of ``H`` is a
central difference of the exact gradient in scale-free coordinates (:func:`satterthwaite_df`),
so the df do not change when the response or a predictor is rescaled. At lme4's optimum the df
equal lmerTest's within 1e-6 relative on sleepstudy, Dyestuff, Pastes, Orthodont, Oxboys, Pixel
and a three-level alliance study (``tests/mixed/test_inference.py``).

The containment rule (as HLM reports): a coefficient whose predictor varies only between groups
of level ``l``, or that is the intercept of a coefficient random at level ``l``, is tested
with ``J_l - S - 1`` df, ``J_l`` the number of level-``l`` groups and ``S`` the number of
level-``l`` predictors in the same equation (Raudenbush & Bryk 2002, ch. 3 and 8).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from alliance.mixed.objective import ProfiledDeviance
from alliance.mixed.spec import ModelSpec

if TYPE_CHECKING:
    from alliance.mixed.result import MixedResult

FIXED_COLUMNS = ["term", "estimate", "std_error", "df", "t", "p", "ci_low", "ci_high"]


#: Finite-difference step of the Hessian, in units of each parameter's scale
#: (:func:`parameter_scales`): a truncation error of about 1e-8 relative, and rounding far below.
HESSIAN_STEP = 1e-4


def _deviance_gradient(
    objective: ProfiledDeviance, params: np.ndarray, sigma: float
) -> np.ndarray:
    """Gradient of lmerTest's ``devfun_vp`` with respect to ``[theta, rho]`` at fixed sigma."""
    evaluation = objective.forward(params)
    grad = objective.backward(
        evaluation, log_det_weight=1.0, rx_weight=1.0 if objective.reml else 0.0,
        r2_weight=1.0 / sigma**2,
    )
    grad[objective.layout.n_theta :] += 2.0 * objective.statistics.n_per_stratum[1:]
    return grad


def parameter_scales(objective: ProfiledDeviance, params: np.ndarray) -> np.ndarray:
    """The scale on which the deviance varies with each of ``[theta, rho]``.

    A theta entry in row ``i`` of a level's factor ``Lambda`` (the random effect ``b_i``,
    in units of sigma) gets ``max(|Lambda[i, :]|, 1 / sqrt(mean_g sum_s w_s P[g, s, i, i]))``:
    the relative SD of ``b_i``, or, near zero, the relative SD at which ``b_i`` starts to
    matter against the residual (``P`` the per-group ``z_i'z_i``). Both are unchanged when the
    response is rescaled and scale as ``1 / c`` when ``z_i`` is multiplied by ``c``, as the row
    does, so steps proportional to them are the same steps in every unit of measurement.
    ``rho`` (log SD ratios) gets 1.
    """
    layout = objective.layout
    weights = layout.strata_weights(params)
    scales = np.ones(layout.size)
    for where, level, factor in zip(
        layout.levels, objective.statistics.levels, layout.lambdas(params), strict=True
    ):
        information = np.einsum("s,gsii->i", weights, level.p) / level.p.shape[0]
        with np.errstate(divide="ignore"):
            floor = np.where(information > 0, 1.0 / np.sqrt(information), 1.0)
        rows = np.maximum(np.linalg.norm(factor, axis=1), floor)
        scales[where.start : where.stop] = rows[where.rows]
    return scales


def _hessian(
    objective: ProfiledDeviance, params: np.ndarray, sigma: float, scales: np.ndarray
) -> np.ndarray:
    """Hessian of ``devfun_vp`` in ``u``, ``[theta, rho] = params + scales u``, sigma fixed.

    Central differences of the exact gradient with step ``HESSIAN_STEP`` in ``u``. Like
    numDeriv in lmerTest, the differences cross a bound (a diagonal theta at 0) rather than stop
    at it: the deviance is defined for a negative diagonal entry (``Lambda Lambda'`` is still a
    covariance matrix), and at 0 with the rest of the row at 0 it is even in that entry, so the
    contrast variances do not move to first order and the df reduce to the residual df, as
    lmerTest's do (Dyestuff2: 29 under REML).
    """
    size = len(params)
    hessian = np.empty((size, size))
    for index in range(size):
        shift = np.zeros(size)
        shift[index] = HESSIAN_STEP * scales[index]
        difference = (
            _deviance_gradient(objective, params + shift, sigma)
            - _deviance_gradient(objective, params - shift, sigma)
        ) / (2.0 * HESSIAN_STEP)
        hessian[:, index] = difference * scales
    return 0.5 * (hessian + hessian.T)


def satterthwaite_df(
    objective: ProfiledDeviance, params: np.ndarray, sigma: float, contrasts: np.ndarray
) -> np.ndarray:
    """Satterthwaite df for each row of ``contrasts`` (lmerTest's ``contest1D``).

    With ``varpar = (theta, rho, sigma)``, ``d`` lmerTest's ``devfun_vp`` (module docstring),
    ``M = X'V^-1 X`` per unit sigma^2, ``C = sigma^2 M^-1`` and ``v = M^-1 l``::

        df = 2 (l'C l)^2 / (g' A g),   A = 2 H^-1,   H = d^2 d / d varpar^2,
        g = d(l'C l) / d varpar:   d/d(theta, rho) = -sigma^2 v' (dM / d(theta, rho)) v,
                                   d/d sigma = 2 sigma l'M^-1 l

    ``g`` is exact (the adjoint of the elimination seeded with ``v v'`` in place of ``M^-1``),
    and so are the sigma row and column of ``H`` (``d^2 d / d sigma^2 = 6 r2 / sigma^4 - 2 m /
    sigma^2``, ``d^2 d / d sigma d phi = -2 / sigma^3 d r2 / d phi``, ``m = n - p`` under REML,
    ``n`` under ML); the ``(theta, rho)`` block is a central difference of the exact gradient,
    with steps proportional to :func:`parameter_scales`. ``H`` and ``g`` are taken in the
    scale-free coordinates ``u`` (``phi = params + scales u``, ``sigma (1 + u_sigma)``), in which
    a model with its response or a predictor rescaled, at the correspondingly rescaled
    parameters, has the same ``H``, ``g`` and df up to rounding; the df itself does not depend
    on the coordinates (``H`` and ``g`` transform together).

    Checked against lmerTest 3.1.3 (numDeriv's Richardson-extrapolated Hessian and Jacobian) on
    sleepstudy, Dyestuff, Pastes, Orthodont, Oxboys, Pixel and a three-level alliance study,
    and on mlmRev/nlme data sets in ``tests/reference/lmertest_df.json``.

    Parameters
    ----------
    objective : ProfiledDeviance
        The model's deviance function.
    params : numpy.ndarray
        The optimum ``[theta, rho]``.
    sigma : float
        The residual standard deviation at the optimum.
    contrasts : numpy.ndarray
        ``k x p`` matrix, one contrast per row.
    """
    contrasts = np.atleast_2d(np.asarray(contrasts, dtype=float))
    params = np.asarray(params, dtype=float)
    evaluation = objective.forward(params)
    scales = np.append(parameter_scales(objective, params), sigma)
    size = len(scales)
    count = objective.residual_df
    hessian = np.empty((size, size))
    hessian[:-1, :-1] = _hessian(objective, params, sigma, scales[:-1])
    d_r2 = objective.backward(evaluation, log_det_weight=0.0, rx_weight=0.0, r2_weight=1.0)
    hessian[:-1, -1] = hessian[-1, :-1] = -2.0 / sigma**3 * d_r2 * scales[:-1] * sigma
    hessian[-1, -1] = (6.0 * evaluation.r2 / sigma**4 - 2.0 * count / sigma**2) * sigma**2
    try:
        asymptotic = 2.0 * np.linalg.inv(hessian)
    except np.linalg.LinAlgError:
        asymptotic = 2.0 * np.linalg.pinv(hessian)
    unit = evaluation.txx_inverse
    jacobian = np.empty((size, len(contrasts)))
    for row, contrast in enumerate(contrasts):
        v = unit @ contrast
        seeded = replace(evaluation, txx_inverse=np.outer(v, v))
        jacobian[:-1, row] = -sigma**2 * objective.backward(
            seeded, log_det_weight=0.0, rx_weight=1.0, r2_weight=0.0
        )
        jacobian[-1, row] = 2.0 * sigma * (contrast @ v)
    jacobian *= scales[:, None]
    variance = sigma**2 * np.einsum("ki,ij,kj->k", contrasts, unit, contrasts)
    denominator_df = np.einsum("ik,ij,jk->k", jacobian, asymptotic, jacobian)
    with np.errstate(divide="ignore", invalid="ignore"):
        df = 2.0 * variance**2 / denominator_df
    return np.where(np.isfinite(df) & (df > 0), df, np.nan)


def _constant_within(values: np.ndarray, codes: np.ndarray, n_groups: int) -> bool:
    low = np.full(n_groups, np.inf)
    high = np.full(n_groups, -np.inf)
    np.minimum.at(low, codes, values)
    np.maximum.at(high, codes, values)
    return bool(np.all(high - low <= 1e-10 * (1.0 + np.abs(high))))


def containment_df(spec: ModelSpec) -> np.ndarray:
    """HLM-style df of each fixed effect (see the module docstring)."""
    x = spec.x
    n_levels = len(spec.levels)
    names = spec.fixed_names
    # Level of each fixed-effect factor: the outermost level within whose groups it is constant.
    def column_level(values: np.ndarray) -> int:
        level = 0
        for index, grouping in enumerate(spec.levels):
            if _constant_within(values, grouping.codes, grouping.n_groups):
                level = index + 1
        return level

    column_levels = [column_level(x[:, j]) for j in range(x.shape[1])]
    random_levels: dict[str, list[int]] = {}
    for index, grouping in enumerate(spec.levels):
        for name in grouping.column_names:
            random_levels.setdefault(name, []).append(index + 1)
    equations: dict[str, str] = {}
    predictor_level: dict[str, int] = {}
    for j, name in enumerate(names):
        parts = name.split(":")
        base_parts, predictor_parts = [], []
        for part in parts:
            known = part in names
            if known and (column_levels[names.index(part)] == 0 or part in random_levels):
                base_parts.append(part)
            else:
                predictor_parts.append(part)
        base = ":".join(base_parts) if base_parts else "(Intercept)"
        if not predictor_parts:
            predictor_level[name] = max(random_levels.get(base, [0]))
        elif all(part in names for part in predictor_parts):
            predictor_level[name] = min(
                column_levels[names.index(part)] for part in predictor_parts
            )
        else:
            predictor_level[name] = column_levels[j]
        equations[name] = base
    df = np.empty(len(names))
    for j, name in enumerate(names):
        level = predictor_level[name]
        if level == 0:
            df[j] = spec.n_obs - spec.n_fixed
            continue
        peers = [
            other for other in names
            if equations[other] == equations[name] and other != equations[other]
            and predictor_level[other] == level and other not in random_levels
        ]
        df[j] = spec.levels[min(level, n_levels) - 1].n_groups - len(peers) - 1
    return df


def fixed_effects_table(result: MixedResult) -> pd.DataFrame:
    """The fixed-effects table: estimates, SEs, df by ``result.df_method``, t, p and CIs."""
    spec = result.spec
    p = spec.n_fixed
    std_error = np.sqrt(np.diag(result.vcov_beta))
    if result.df_method == "satterthwaite":
        df = satterthwaite_df(result.objective, result.params, result.sigma, np.eye(p))
    elif result.df_method == "containment":
        df = containment_df(spec)
    else:
        df = np.full(p, float(spec.n_obs - p))
    t_value = result.beta / std_error
    half_width = stats.t.ppf(0.5 + result.confidence / 2.0, df) * std_error
    return pd.DataFrame(
        {
            "term": list(spec.fixed_names),
            "estimate": result.beta,
            "std_error": std_error,
            "df": df,
            "t": t_value,
            "p": 2.0 * stats.t.sf(np.abs(t_value), df),
            "ci_low": result.beta - half_width,
            "ci_high": result.beta + half_width,
        },
        columns=FIXED_COLUMNS,
    )
