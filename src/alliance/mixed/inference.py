"""Small-sample inference for fixed effects: Satterthwaite and HLM containment df.

Satterthwaite's method follows lmerTest (Kuznetsova, Brockhoff & Christensen 2017, J Stat Softw
82(13)): with ``varpar = (theta, rho, sigma)``, ``A = 2 H^{-1}`` where ``H`` is the Hessian of
the unprofiled deviance ``d(theta, sigma) = log|L|^2 + r2(theta)/sigma^2 + n log(2 pi sigma^2)``
(plus ``log|R_X|^2 - p log(2 pi sigma^2)`` under REML), and for a contrast ``l``::

    df = 2 (l' C l)^2 / (g' A g),   C = sigma^2 (X' V^-1 X)^-1,   g = d(l' C l) / d varpar

``g`` and the sigma row and column of ``H`` are exact; the ``(theta, rho)`` block of ``H`` is
the Hessian of the profiled deviance (a central difference of its exact gradient, one compiled
call each, in scale-free coordinates) plus ``H_ts H_st / H_ss`` (at the optimum the profile's
Hessian is the Schur complement of the sigma entry: :func:`satterthwaite_df`),
so the df do not change when the response or a predictor is rescaled. At lme4's optimum the df
equal lmerTest's within 1e-6 relative on sleepstudy, Dyestuff, Pastes, Orthodont, Oxboys, Pixel
and a three-level alliance study (``tests/mixed/test_inference.py``).

Containment df follow HLM (Raudenbush & Bryk 2002, chs. 3 and 8): each fixed effect is a
coefficient of the equation of a random coefficient at some level and is tested with the number
of units of that level minus the coefficients estimated in that equation, or, when it belongs
to no random coefficient, with the level-1 ``N - p`` (:func:`containment_df`).

:func:`denominator_df` chooses among them by the result's ``df_method``, for any contrast.
"""

from __future__ import annotations

import weakref
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import special

from alliance.mixed.differences import central_columns
from alliance.mixed.objective import Evaluation, ProfiledDeviance
from alliance.mixed.spec import MixedModelSpec

if TYPE_CHECKING:
    from alliance.mixed.result import MixedResult

FIXED_COLUMNS = ["term", "estimate", "std_error", "df", "t", "p", "ci_low", "ci_high"]


#: Finite-difference step of the Hessian, in units of each parameter's scale
#: (:func:`parameter_scales`): a truncation error of about 1e-8 relative, and rounding far below.
HESSIAN_STEP = 1e-4


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


def _profiled_hessian(objective: ProfiledDeviance, evaluation: Evaluation,
                      scales: np.ndarray) -> np.ndarray:
    """Hessian of the profiled deviance in ``u``, ``[theta, rho] = params + scales u``.

    Central differences of the exact gradient (one compiled call each) with step
    ``HESSIAN_STEP`` in ``u``. Like numDeriv in lmerTest, the differences cross a bound (a
    diagonal theta at 0) rather than stop at it: the deviance is defined for a negative
    diagonal entry (``Lambda Lambda'`` is still a covariance matrix), and at 0 with the rest
    of the row at 0 it is even in that entry, so the contrast variances do not move to first
    order and the df reduce to the residual df, as lmerTest's do (Dyestuff2: 29 under REML).

    A level's elimination does not depend on the theta of the levels around it, so the
    columns of an outer level's theta eliminate only that level and the ones around it again
    (:meth:`ProfiledDeviance.outer_gradient`; the therapist level of a growth model: 2,000
    groups against 40,000 patients in a network study) and give the rows of those levels'
    theta; the rows of the inner levels' theta and of ``rho`` come from those parameters' own
    columns, which are complete (the Hessian is symmetric). Entries that two columns give are
    averaged, as a symmetrised central-difference Hessian's are.

    ``evaluation`` is the elimination at the point (``evaluation.params``); every column works
    in its buffers (a fitted model keeps one set, see :meth:`ProfiledDeviance.forward`), which
    hold the elimination at that point again on return.
    """
    layout = objective.layout
    params = evaluation.params
    steps = HESSIAN_STEP * scales
    owner = np.full(layout.size, -1)  # the level of each theta; -1 for rho
    for index, where in enumerate(layout.levels):
        owner[where.start : where.stop] = index
    quotients = np.full((layout.size, layout.size), np.nan)
    # outer levels first: each re-eliminates its own level and the outer ones in the
    # evaluation's buffers, leaving the inner levels as eliminated at params; then the
    # complete columns, which eliminate every level there
    buffers = evaluation.workspace
    complete = np.flatnonzero(owner <= 0)
    try:
        for index in range(len(layout.levels) - 1, 0, -1):
            columns = np.flatnonzero(owner == index)
            rows = np.flatnonzero(owner >= index)

            def outer(point: np.ndarray, first_level: int = index) -> np.ndarray:
                return objective.outer_gradient(point, first_level, buffers)

            quotients[np.ix_(rows, columns)] = central_columns(
                outer, params, steps, columns)[rows]
        quotients[:, complete] = central_columns(
            lambda point: objective.value_and_gradient(point, buffers)[1], params, steps,
            complete)
    finally:  # every level as eliminated at params again
        objective.eliminate_again(evaluation, 0)
    mirrored = quotients.T
    hessian = np.where(np.isnan(quotients), mirrored,
                       np.where(np.isnan(mirrored), quotients, 0.5 * (quotients + mirrored)))
    return hessian * np.outer(scales, scales)


#: The Hessian part of Satterthwaite's df per objective and optimum: the fixed-effects table,
#: the contrasts and the study's difference tests of one fit share it. Keyed weakly by the
#: objective, so that it is freed with the fit.
_Basis = tuple[Evaluation, np.ndarray, np.ndarray]
_BASES: weakref.WeakKeyDictionary[ProfiledDeviance, dict[bytes, _Basis]] = (
    weakref.WeakKeyDictionary()
)


def _satterthwaite_basis(
    objective: ProfiledDeviance, params: np.ndarray, sigma: float,
    evaluation: Evaluation | None = None,
) -> _Basis:
    """The elimination at ``params``, ``A = 2 H^-1`` and the scale-free coordinates' scales.

    What :func:`satterthwaite_df` needs for any contrast (a Hessian costs two exact gradients
    per covariance parameter); computed once per objective and optimum. ``evaluation``, the
    elimination at ``params`` if the caller has it (a result's own), is used instead of a
    new one: its buffers are the size of the data's groups.
    """
    key = np.append(params, sigma).tobytes()
    cached = _BASES.setdefault(objective, {})
    if key in cached:
        return cached[key]
    if evaluation is None or not np.array_equal(evaluation.params, params):
        evaluation = objective.forward(params)
    scales = np.append(parameter_scales(objective, params), sigma)
    size = len(scales)
    count = objective.residual_df
    hessian = np.empty((size, size))
    d_r2 = objective.backward(evaluation, log_det_weight=0.0, rx_weight=0.0, r2_weight=1.0)
    hessian[:-1, -1] = hessian[-1, :-1] = -2.0 / sigma**3 * d_r2 * scales[:-1] * sigma
    hessian[-1, -1] = (6.0 * evaluation.r2 / sigma**4 - 2.0 * count / sigma**2) * sigma**2
    # the (theta, rho) block from the profiled deviance: at the optimum sigma minimises d for
    # the given (theta, rho), so the Hessian of the profile is the Schur complement
    # H_pp = H_tt - H_ts H_ss^-1 H_st (envelope theorem), i.e. H_tt = H_pp + H_ts H_st / H_ss
    hessian[:-1, :-1] = _profiled_hessian(objective, evaluation, scales[:-1]) + np.outer(
        hessian[:-1, -1], hessian[-1, :-1]) / hessian[-1, -1]
    try:
        asymptotic = 2.0 * np.linalg.inv(hessian)
    except np.linalg.LinAlgError:
        asymptotic = 2.0 * np.linalg.pinv(hessian)
    cached[key] = (evaluation, asymptotic, scales)
    return evaluation, asymptotic, scales


def satterthwaite_df(
    objective: ProfiledDeviance, params: np.ndarray, sigma: float, contrasts: np.ndarray,
    evaluation: Evaluation | None = None,
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

    Checked against lmerTest 3.1.3 (numDeriv's Richardson-extrapolated Hessian and Jacobian) at
    lme4's optimum: within 1e-6 relative (largest 1.7e-7) on sleepstudy, Dyestuff, Pastes,
    Orthodont, Oxboys, Pixel and a three-level alliance study, and on Orthodont, STAR, High
    School and Beyond and egsingle models in ``tests/reference/containment_df.json``.

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
    evaluation : Evaluation, optional
        The elimination at ``params``, when the caller has it (a result's own).
    """
    contrasts = np.atleast_2d(np.asarray(contrasts, dtype=float))
    params = np.asarray(params, dtype=float)
    evaluation, asymptotic, scales = _satterthwaite_basis(objective, params, sigma, evaluation)
    size = len(scales)
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
    """Whether ``values`` are constant within every group, relative to the column's size."""
    low = np.full(n_groups, np.inf)
    high = np.full(n_groups, -np.inf)
    np.minimum.at(low, codes, values)
    np.maximum.at(high, codes, values)
    return bool(np.all(high - low <= 1e-10 * np.max(np.abs(values), initial=0.0)))


def _unit_level(values: np.ndarray, spec: MixedModelSpec, rows: np.ndarray | None = None) -> int:
    """1 if ``values`` vary within the innermost groups, else 1 + the outermost grouping level
    (``spec.levels``, innermost first) within whose groups they are constant. ``values``
    belong to the observations ``rows`` (all when None)."""
    level = 1
    for index, grouping in enumerate(spec.levels):
        codes = grouping.codes if rows is None else grouping.codes[rows]
        if _constant_within(values, codes, grouping.n_groups):
            level = index + 2
    return level


def _factor_levels(spec: MixedModelSpec) -> dict[str, int]:
    """The unit level of every factor of the fixed-effect terms (``time`` in ``time:x``).

    A factor that is not a column of its own (``rater:time`` without ``time``) is read as the
    ratio of two columns that differ by it (``rater:time`` / ``rater``), on the rows where
    the denominator is not 0; a factor that appears in no such pair is left out (its terms
    are then placed by their own column).
    """
    names = list(spec.fixed_names)
    factors = [frozenset() if name == "(Intercept)" else frozenset(name.split(":"))
               for name in names]
    column = {parts: j for j, parts in enumerate(factors)}
    levels: dict[str, int] = {}
    for factor in sorted(set().union(*factors)):
        if frozenset([factor]) in column:
            levels[factor] = _unit_level(spec.x[:, column[frozenset([factor])]], spec)
            continue
        for parts in sorted(column, key=len):
            if factor in parts or parts | {factor} not in column:
                continue
            rows = spec.x[:, column[parts]] != 0
            ratio = spec.x[rows, column[parts | {factor}]] / spec.x[rows, column[parts]]
            levels[factor] = _unit_level(ratio, spec, rows)
            break
    return levels


def containment_level(spec: MixedModelSpec) -> tuple[list[int], list[frozenset[str]]]:
    """Where HLM estimates each fixed effect: its level and the coefficient it predicts.

    Units are numbered as HLM numbers them: 1 the observations, ``k >= 2`` the groups of
    ``spec.levels[k - 2]``. A term is the product of its factors (``time:burdens``), each at
    the unit level where it varies (:func:`_unit_level`). Seen from level ``k``, the factors
    that vary below ``k`` form the coefficient the term belongs to (``time``; none: the
    intercept) and the others predict it. The term is estimated at the highest ``k >= 2`` at
    which that coefficient is random (has a random effect for the level-``k`` grouping), and
    at level 1 when there is none. Returns the level and the coefficient (its factors) of each
    term, in the order of ``spec.fixed_names``.
    """
    names = list(spec.fixed_names)
    known = _factor_levels(spec)
    random_at = {
        index + 2: {frozenset(name.split(":")) - {"(Intercept)"} for name in grouping.column_names}
        for index, grouping in enumerate(spec.levels)
    }
    levels: list[int] = []
    coefficients: list[frozenset[str]] = []
    for j, name in enumerate(names):
        factors = [] if name == "(Intercept)" else name.split(":")
        factor_levels = [
            known[factor] if factor in known else _unit_level(spec.x[:, j], spec)
            for factor in factors
        ]
        level, coefficient = 1, frozenset(factors)
        for k in range(len(spec.levels) + 1, 1, -1):
            base = frozenset(
                factor for factor, at in zip(factors, factor_levels, strict=True) if at < k
            )
            if base in random_at[k]:
                level, coefficient = k, base
                break
        levels.append(level)
        coefficients.append(coefficient)
    return levels, coefficients


def containment_df(spec: MixedModelSpec) -> np.ndarray:
    """HLM's df of each fixed effect (Raudenbush & Bryk 2002; the HLM 6/7 programs).

    HLM writes a nested model as a level-1 regression whose coefficients are the outcomes of
    regressions at the next level, and so on up; a fixed effect is a coefficient of one of
    these equations, and its t-ratio is referred to a t distribution with the number of units
    of the level where that equation is estimated minus the coefficients estimated in it
    (:func:`containment_level` finds the level and the equation):

    - the equation of a coefficient that is random at level ``k >= 2`` (the intercept or a
      slope): ``df = J_k - S - 1``, ``J_k`` the number of level-``k`` units and ``S`` the
      predictors estimated in that equation (Raudenbush & Bryk 2002, ch. 3, the t-ratio of
      ``gamma_qs`` with ``J - S_q - 1`` df, ``S_q`` the level-2 predictors in the model for
      ``beta_q``; ch. 8 for three levels). A predictor of a coefficient that is not random at
      the predictor's own level drops to the equation below: STAR's class-level ``small`` and
      ``aide`` with ``(1 | sch/tch)`` predict the classes' intercepts, estimated among the 337
      classes, ``337 - 2 - 1 = 334``;
    - a coefficient that is random at no level (a fixed slope, with every predictor of it,
      such as ``age:Sex`` in Orthodont's ``distance ~ age * Sex + (1 | Subject)``) is
      estimated at level 1: ``df = N - p``, ``N`` the observations and ``p`` all fixed
      effects (104 for ``age:Sex``). HLM's printed output for fixed level-1 slopes has these
      numbers (UCLA's HLM runs of textbook examples: Hox's popularity data, N = 2000, a fixed
      SEX slope, 1998 df; Snijders & Bosker's example 4.2, N = 2287, a fixed IQ slope, 2285
      df), with the group means not removed as nlme removes them. These examples have p = 2,
      where ``N - p`` and ``N - (level-1 coefficients) - 1`` agree; HLM's documentation
      available here does not separate the two, and ``N - p`` is the smaller.

    Checked against HLM's published df for the High School and Beyond model of Raudenbush &
    Bryk (2002, Table 4.5: ``mAch ~ (meanses + sector) * cses + (cses | school)``, 160
    schools, 157 for all six coefficients); the rule's numbers for the cases above are in
    ``tests/mixed/test_inference.py``. Whether a term varies within groups is decided relative
    to the size of its column, so the df do not depend on the units of any variable.

    nlme (Pinheiro & Bates 2000, sec. 2.4.2) estimates a term among the units of the
    outermost grouping level within whose groups it is constant (the observations when it
    varies within the innermost groups, and always for the intercept), with ``df = m_i -
    m_(i+1) - p_i``: the units at that level, minus those at the next level out (1 above the
    outermost), minus the terms other than the intercept estimated there. It gives Orthodont's
    ``age:Sex`` 108 - 27 - 2 = 79 (HLM: 104), STAR's ``small`` 337 - 79 - 2 = 256 (HLM: 334)
    and the High School and Beyond intercept 7185 - 160 - 3 = 7022 (HLM: 157). Both sets of
    numbers, with lmerTest's Satterthwaite df, are in ``tests/reference/containment_df.json``.
    """
    levels, coefficients = containment_level(spec)
    names = list(spec.fixed_names)
    factors = [frozenset() if name == "(Intercept)" else frozenset(name.split(":"))
               for name in names]
    df = np.empty(len(names))
    for j, (level, coefficient) in enumerate(zip(levels, coefficients, strict=True)):
        if level == 1:
            df[j] = spec.n_obs - spec.n_fixed
            continue
        predictors = sum(
            1 for other in range(len(names))
            if levels[other] == level and coefficients[other] == coefficient
            and factors[other] != coefficient
        )
        df[j] = spec.levels[level - 2].n_groups - predictors - 1
    return df


def denominator_df(result: MixedResult, contrasts: np.ndarray) -> np.ndarray:
    """The df of the t test of each row of ``contrasts``, by ``result.df_method``.

    The one place that maps a result's df method to the df of a linear combination ``l'
    beta`` of its fixed effects; the fixed-effects table (the rows of the identity), the
    contrasts of :mod:`alliance.mixed.contrasts` and the difference tests of the study and of
    the power simulation all read their df here.

    - ``"satterthwaite"``: :func:`satterthwaite_df` of each row at the result's optimum
      (lmerTest's ``contest1D``);
    - ``"containment"``: the smallest :func:`containment_df` among the coefficients with a
      non-zero weight in the row. HLM refers a single coefficient to the df of the equation
      it is estimated in; a combination that involves coefficients of several equations is
      given the fewest df among them, the most conservative of their references. A unit row
      gives the coefficient's own containment df;
    - ``"residual"``: ``n - p`` for every row;
    - ``"kenward-roger"``: pbkrtest's ``Lb_ddf`` of each row
      (:meth:`alliance.mixed.kenward_roger.KenwardRoger.t_df`);
    - ``"bell-mccaffrey"``: the Satterthwaite df of the CR2 variance of each row
      (:meth:`alliance.mixed.robust.ClusterRobust.df`, clubSandwich's ``coef_test``).

    Parameters
    ----------
    result : MixedResult
        The fitted model.
    contrasts : numpy.ndarray
        ``k x p`` matrix (or a length-``p`` vector), one contrast per row.

    Returns
    -------
    numpy.ndarray
        ``k`` df, one per row.
    """
    spec = result.spec
    contrasts = np.atleast_2d(np.asarray(contrasts, dtype=float))
    if contrasts.shape[1] != spec.n_fixed:
        raise ValueError(
            f"a contrast needs {spec.n_fixed} weights (one per fixed effect), "
            f"not {contrasts.shape[1]}"
        )
    if result.df_method == "satterthwaite":
        return satterthwaite_df(result.objective, result.params, result.sigma, contrasts,
                                result.evaluation)
    elif result.df_method == "containment":
        involved = contrasts != 0
        if not np.all(involved.any(axis=1)):
            raise ValueError("a contrast with all weights 0 has no containment df")
        per_coefficient = containment_df(spec)
        return np.array([per_coefficient[row].min() for row in involved], dtype=float)
    elif result.df_method == "residual":
        return np.full(len(contrasts), float(spec.n_obs - spec.n_fixed))
    elif result.df_method == "kenward-roger":
        return result.kenward_roger.t_df(contrasts)
    elif result.df_method == "bell-mccaffrey":
        return result.cluster_robust.df(contrasts)
    raise ValueError(f"no denominator df for df_method {result.df_method!r}")


def fixed_effects_table(result: MixedResult) -> pd.DataFrame:
    """The fixed-effects table: estimates, SEs, df by ``result.df_method``, t, p and CIs.

    The SEs are those of ``result.vcov_fixed``: model-based, Kenward-Roger adjusted or CR2
    cluster-robust, by the df method."""
    spec = result.spec
    std_error = np.sqrt(np.diag(result.vcov_fixed))
    df = denominator_df(result, np.eye(spec.n_fixed))
    t_value = result.beta / std_error
    # scipy.special's t functions (what scipy.stats.t calls, bit for bit) import in a
    # fraction of the time scipy.stats takes
    half_width = special.stdtrit(df, 0.5 + result.confidence / 2.0) * std_error
    return pd.DataFrame(
        {
            "term": list(spec.fixed_names),
            "estimate": result.beta,
            "std_error": std_error,
            "df": df,
            "t": t_value,
            "p": 2.0 * special.stdtr(df, -np.abs(t_value)),
            "ci_low": result.beta - half_width,
            "ci_high": result.beta + half_width,
        },
        columns=FIXED_COLUMNS,
    )
