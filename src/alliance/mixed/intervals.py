"""Confidence intervals for a mixed model's parameters: Wald and profile likelihood.

The covariance parameters are put on the scale lme4's ``profile()`` uses: per grouping level the
standard deviation of each random effect and the correlation of each correlated pair, the residual
SD ratio of each extra residual stratum, and the residual ``sigma`` (:class:`CovarianceParameters`).
The deviance on that scale is the unprofiled (RE)ML deviance of lmerTest's ``devfun_vp`` with the
fixed effects profiled out::

    d(sd, cor, ratio, sigma) = log|L|^2 [+ log|R_X|^2] + r2 / sigma^2 + m log(2 pi sigma^2)
                               + sum_s 2 n_s log(ratio_s),      m = n (ML) or n - p (REML)

with ``theta`` built from ``Lambda = diag(sd / sigma) chol(R)`` per block and its exact gradient
from the adjoint of :class:`ProfiledDeviance` (chain rule through the Cholesky factor of the
correlation matrix).

* :func:`wald_intervals`: fixed effects ``estimate +- z SE`` (lme4's ``confint(method = "Wald")``;
  the t-based intervals with the chosen df are in ``result.fixed_effects``), covariance parameters
  by the delta method, ``cov = 2 H^-1`` with ``H`` the Hessian of ``d`` on the SD scale (central
  differences of the exact gradient). These intervals are approximate: SDs have skewed sampling
  distributions, and parameters at the boundary (an SD at 0) get none.
* :func:`profile_intervals`: lme4's ``confint(method = "profile")``. Each parameter is fixed on a
  grid, the others re-optimised, and the limits are where the signed root deviance
  ``zeta = sign(v - v_hat) sqrt(d_profile(v) - d_min)`` crosses ``+-z_(1+level)/2`` (Brent's
  method on ``zeta`` itself rather than lme4's spline through it). As lme4 does, a REML fit is
  refitted by ML and profiled on the ML deviance. Fixed effects are profiled by refitting the model
  with the coefficient's column moved into an offset. Checked against lme4 on sleepstudy
  ``(Days | Subject)`` and Pastes ``(1 | batch/cask)`` (tests/mixed/test_intervals.py).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import special

from alliance.errors import SpecificationError
from alliance.mixed.compare import INTERIOR_START, interior_start, refit_ml
from alliance.mixed.differences import central_hessian
from alliance.mixed.minimiser import SINGULAR_TOLERANCE, minimise
from alliance.mixed.objective import ProfiledDeviance
from alliance.mixed.result import MixedResult
from alliance.mixed.statistics import compute_statistics

WALD_COLUMNS = ["parameter", "estimate", "std_error", "ci_low", "ci_high"]
PROFILE_COLUMNS = ["parameter", "estimate", "ci_low", "ci_high"]
#: The deviance reported where it cannot be evaluated (the optimizer then steps back).
_FAR_AWAY = 1e100
#: Correlations are profiled inside (-1, 1) up to this margin (their Cholesky factor is singular at +-1).
_CORRELATION_MARGIN = 1e-6


@dataclasses.dataclass(frozen=True)
class _Block:
    level: int
    offset: int
    size: int
    start: int
    correlated: bool


class CovarianceParameters:
    """The covariance parameters of a model on the SD / correlation scale, and the deviance there.

    The vector ``v`` holds, per level and term block in ``theta`` order, the SD of each effect and
    the correlation of each pair (lower triangle by columns: ``sd_1, cor_21, sd_2`` as lme4), then
    ``log`` of each residual SD ratio, then ``sigma``. ``names`` follow lme4's
    ``confint(oldNames = FALSE)``: ``sd_(Intercept)|Subject``, ``cor_Days.(Intercept)|Subject``,
    ``sigma``; ratios are ``sd_ratio_<stratum>``.
    """

    def __init__(self, result: MixedResult) -> None:
        self.objective: ProfiledDeviance = result.objective
        layout = self.objective.layout
        self.n_theta = layout.n_theta
        self.size = layout.size + 1
        names: list[str] = []
        kinds: list[str] = []
        self.blocks: list[_Block] = []
        for index, (level, parameters) in enumerate(
            zip(result.spec.levels, layout.levels, strict=True)
        ):
            offset, start = 0, parameters.start
            for block in level.blocks:
                self.blocks.append(_Block(index, offset, block.size, start, block.correlated))
                for j in range(block.size):
                    for i in range(j, block.size if block.correlated else j + 1):
                        if i == j:
                            names.append(f"sd_{block.names[i]}|{level.name}")
                            kinds.append("sd")
                        else:
                            names.append(f"cor_{block.names[i]}.{block.names[j]}|{level.name}")
                            kinds.append("cor")
                        start += 1
                offset += block.size
        names += [f"sd_ratio_{label}" for label in layout.strata_labels[1:]]
        kinds += ["ratio"] * (layout.n_strata - 1)
        self.names = tuple([*names, "sigma"])
        self.kinds = tuple([*kinds, "sigma"])
        margin = 1.0 - _CORRELATION_MARGIN
        floor = {"sd": 0.0, "cor": -margin, "ratio": -np.inf, "sigma": 1e-6 * result.sigma}
        self.lower = np.array([floor[k] for k in self.kinds])
        self.upper = np.array([{"cor": margin}.get(k, np.inf) for k in self.kinds])

    def from_fit(self, params: np.ndarray, sigma: float) -> np.ndarray:
        """``v`` at the optimizer's ``[theta, rho]`` and ``sigma``."""
        values = np.empty(self.size)
        lambdas = self.objective.layout.lambdas(params)
        for block in self.blocks:
            span = slice(block.offset, block.offset + block.size)
            factor = lambdas[block.level][span, span]
            cov = factor @ factor.T
            sd = np.sqrt(np.diag(cov))
            position = block.start
            for j in range(block.size):
                for i in range(j, block.size if block.correlated else j + 1):
                    if i == j:
                        values[position] = sigma * sd[i]
                    else:
                        product = sd[i] * sd[j]
                        values[position] = cov[i, j] / product if product > 0 else 0.0
                    position += 1
        values[self.n_theta : -1] = params[self.n_theta :]
        values[-1] = sigma
        return values

    def to_fit(self, values: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
        """``[theta, rho]``, ``sigma`` and the Jacobian of ``[theta, rho, sigma]`` wrt ``v``."""
        sigma = float(values[-1])
        params = np.empty(self.size - 1)
        jacobian = np.zeros((self.size, self.size))
        params[self.n_theta :] = values[self.n_theta : -1]
        jacobian[self.n_theta :, self.n_theta :] = np.eye(self.size - self.n_theta)
        for block in self.blocks:
            m = block.size if block.correlated else 1
            entries = [(i, j) for j in range(m) for i in range(j, m)]
            where = {pair: block.start + k for k, pair in enumerate(entries)}
            scale = np.array([values[where[(i, i)]] for i in range(m)]) / sigma
            correlation = np.eye(m)
            for (i, j), position in where.items():
                if i != j:
                    correlation[i, j] = correlation[j, i] = values[position]
            chol = np.linalg.cholesky(correlation)
            inverse = np.linalg.inv(chol)
            factor = scale[:, None] * chol
            for (i, j), position in where.items():
                params[position] = factor[i, j]
                jacobian[position, -1] = -factor[i, j] / sigma
                jacobian[position, where[(i, i)]] = chol[i, j] / sigma
            for (a, b), column in where.items():
                if a == b:
                    continue
                d_factor = scale[:, None] * _cholesky_derivative(chol, inverse, a, b)
                for (i, j), position in where.items():
                    jacobian[position, column] = d_factor[i, j]
        return params, sigma, jacobian

    def deviance(self, values: np.ndarray) -> tuple[float, np.ndarray]:
        """The unprofiled deviance ``d(v)`` of the module docstring and its gradient."""
        objective = self.objective
        params, sigma, jacobian = self.to_fit(values)
        evaluation = objective.forward(params)
        counts = objective.statistics.n_per_stratum[1:]
        dof = objective.residual_df
        value = (
            evaluation.log_det_l + (evaluation.log_det_rx if objective.reml else 0.0)
            + evaluation.r2 / sigma**2 + dof * np.log(2.0 * np.pi * sigma**2)
            + 2.0 * float((counts * params[self.n_theta :]).sum())
        )
        gradient = objective.backward(
            evaluation, log_det_weight=1.0, rx_weight=1.0 if objective.reml else 0.0,
            r2_weight=1.0 / sigma**2,
        )
        gradient[self.n_theta :] += 2.0 * counts
        d_sigma = -2.0 * evaluation.r2 / sigma**3 + 2.0 * dof / sigma
        return float(value), jacobian.T @ np.append(gradient, d_sigma)

    def scale(self, values: np.ndarray) -> np.ndarray:
        """Typical sizes of the parameters (for the optimizer): SDs relative to sigma."""
        sized = np.isin(np.array(self.kinds), ["sd", "sigma"])
        return np.where(sized, np.maximum(np.abs(values), 0.1 * values[-1]), 1.0)

    def report(self, values: np.ndarray) -> np.ndarray:
        """Values as reported: residual SD ratios instead of their logs."""
        ratio = np.array([kind == "ratio" for kind in self.kinds])
        return np.where(ratio, np.exp(np.where(ratio, values, 0.0)), values)


def _cholesky_derivative(chol: np.ndarray, inverse: np.ndarray, a: int, b: int) -> np.ndarray:
    """Derivative of ``C = chol(R)`` wrt the correlation ``R[a, b] = R[b, a]``.

    ``dC = C Phi(C^-1 dR C^-T)`` with ``Phi`` the lower triangle and half the diagonal.
    """
    inner = np.outer(inverse[:, a], inverse[:, b])
    inner += inner.T
    return chol @ (np.tril(inner, -1) + 0.5 * np.diag(np.diag(inner)))


def variance_parameters(result: MixedResult) -> pd.Series:
    """SDs, correlations, residual SD ratios and sigma of ``result``, named as lme4's ``confint``."""
    parameters = CovarianceParameters(result)
    values = parameters.from_fit(result.params, result.sigma)
    return pd.Series(parameters.report(values), index=list(parameters.names), dtype=float)


def variance_parameter_values(result: MixedResult) -> np.ndarray:
    """The values of :func:`variance_parameters`, without their names (for many refits)."""
    parameters = CovarianceParameters(result)
    return parameters.report(parameters.from_fit(result.params, result.sigma))


def _on_boundary(parameters: CovarianceParameters, values: np.ndarray) -> np.ndarray:
    """SDs at zero (lme4's singularity tolerance) and the correlations that involve them."""
    boundary = np.zeros(parameters.size, dtype=bool)
    sigma = values[-1]
    for block in parameters.blocks:
        m = block.size if block.correlated else 1
        entries = [(i, j) for j in range(m) for i in range(j, m)]
        where = {pair: block.start + k for k, pair in enumerate(entries)}
        zero = {i for i in range(m) if values[where[(i, i)]] < SINGULAR_TOLERANCE * sigma}
        for (i, j), position in where.items():
            boundary[position] = i in zero or j in zero
            if i != j and abs(values[position]) > 1.0 - 1e-4:
                boundary[position] = True
    return boundary


def parameter_covariance(
    result: MixedResult,
) -> tuple[CovarianceParameters, np.ndarray, np.ndarray, np.ndarray]:
    """The covariance parameters on the SD scale and their large-sample covariance.

    ``C = 2 H^-1`` over the parameters off the boundary, ``H`` the Hessian of the fit's own
    deviance (REML or ML) on the SD / correlation scale; rows and columns of parameters on the
    boundary (SDs at zero and the correlations that involve them) are 0.

    Returns
    -------
    tuple
        The :class:`CovarianceParameters`, their values ``v``, ``C`` and the mask of the
        parameters off the boundary.
    """
    parameters = CovarianceParameters(result)
    values = parameters.from_fit(result.params, result.sigma)
    free = ~_on_boundary(parameters, values)
    index = np.flatnonzero(free)
    steps = 1e-4 * np.maximum(np.abs(values[index]), 0.1)
    steps = np.minimum(steps, 0.5 * (parameters.upper[index] - values[index]))  # inside bounds
    hessian = central_hessian(lambda x: parameters.deviance(x)[1], values, steps, index)
    try:
        inverse = np.linalg.inv(hessian)
    except np.linalg.LinAlgError:
        inverse = np.linalg.pinv(hessian)
    covariance = np.zeros((parameters.size, parameters.size))
    index = np.flatnonzero(free)
    covariance[np.ix_(index, index)] = 2.0 * inverse
    return parameters, values, covariance, free


def wald_intervals(result: MixedResult, level: float = 0.95) -> pd.DataFrame:
    """Approximate Wald intervals for every parameter (see the module docstring).

    Fixed effects: ``estimate +- z SE``, as lme4's ``confint(method = "Wald")`` (checked against
    the fixtures' ``wald_ci``). Covariance parameters: delta method on the SD scale from the Hessian
    of the fit's own deviance (REML or ML), limits clipped to the parameter space (SD >= 0,
    correlation in [-1, 1]); SDs at zero and correlations involving them get no interval (NaN).

    Returns
    -------
    pandas.DataFrame
        parameter, estimate, std_error, ci_low, ci_high; covariance parameters first (named as
        :func:`variance_parameters`), then the fixed effects.
    """
    z = _quantile(level)
    parameters, values, covariance, free = parameter_covariance(result)
    variance = np.full(parameters.size, np.nan)
    variance[free] = np.diag(covariance)[free]
    std_error = np.sqrt(np.where(variance > 0, variance, np.nan))
    low, high = values - z * std_error, values + z * std_error
    kinds = np.array(parameters.kinds)
    estimate = parameters.report(values)
    std_error = np.where(kinds == "ratio", estimate * std_error, std_error)
    low, high = parameters.report(low), parameters.report(high)
    low = np.where(np.isin(kinds, ["sd", "sigma"]), np.maximum(low, 0.0), low)
    low = np.where(kinds == "cor", np.maximum(low, -1.0), low)
    high = np.where(kinds == "cor", np.minimum(high, 1.0), high)
    beta, beta_se = result.beta, np.sqrt(np.diag(result.vcov_beta))
    return pd.DataFrame({
        "parameter": [*parameters.names, *result.spec.fixed_names],
        "estimate": np.concatenate([estimate, beta]),
        "std_error": np.concatenate([std_error, beta_se]),
        "ci_low": np.concatenate([low, beta - z * beta_se]),
        "ci_high": np.concatenate([high, beta + z * beta_se]),
    }, columns=WALD_COLUMNS)


def _quantile(level: float) -> float:
    if not 0.0 < level < 1.0:
        raise SpecificationError(f"the confidence level must be between 0 and 1, not {level}")
    return float(special.ndtri(0.5 + level / 2.0))


def _minimise_bounded(
    function: Callable[[np.ndarray], tuple[float, np.ndarray]], start: np.ndarray,
    lower: np.ndarray, upper: np.ndarray, scale: np.ndarray,
) -> tuple[float, np.ndarray]:
    """L-BFGS-B on ``v / scale``; a point where the deviance cannot be evaluated (``X' V^-1 X``
    singular) counts as very bad, so that the line search steps back."""

    def scaled(x: np.ndarray) -> tuple[float, np.ndarray]:
        try:
            value, gradient = function(x * scale)
        except (np.linalg.LinAlgError, ArithmeticError):
            return _FAR_AWAY, np.zeros_like(x)
        if not np.isfinite(value):
            return _FAR_AWAY, np.zeros_like(x)
        return value, gradient * scale

    # imported here: scipy.optimize takes about 0.3 s to import, and only profiles need it
    from scipy import optimize

    start = np.clip(start, lower, upper) / scale
    found = optimize.minimize(scaled, start, jac=True, method="L-BFGS-B",
                              bounds=optimize.Bounds(lower / scale, upper / scale),
                              options={"ftol": 1e-12, "gtol": 1e-6, "maxiter": 2000})
    return float(found.fun), np.asarray(found.x) * scale


class _VarianceProfile:
    """``d_profile(v_k = c)``: the deviance minimised over every other covariance parameter."""

    def __init__(self, parameters: CovarianceParameters, optimum: np.ndarray, k: int) -> None:
        self.parameters = parameters
        self.k = k
        self.free = np.arange(parameters.size) != k
        self.start = optimum.copy()
        self.scale = parameters.scale(optimum)
        self.sd = np.array([kind == "sd" for kind in parameters.kinds])

    def __call__(self, value: float) -> float:
        full = self.start.copy()
        # an SD at zero is a stationary point of the deviance: restart it inside
        stuck = self.sd & (full < SINGULAR_TOLERANCE * self.scale)
        full[stuck] = INTERIOR_START * self.scale[stuck]
        full[self.k] = value

        def reduced(free_values: np.ndarray) -> tuple[float, np.ndarray]:
            full[self.free] = free_values
            deviance, gradient = self.parameters.deviance(full)
            return deviance, gradient[self.free]

        deviance, best = _minimise_bounded(
            reduced, full[self.free].copy(), self.parameters.lower[self.free],
            self.parameters.upper[self.free], self.scale[self.free],
        )
        self.start[self.free] = best
        return deviance


class _FixedProfile:
    """``d_profile(beta_j = c)``: the ML deviance of the model with ``c x_j`` as an offset."""

    def __init__(self, result: MixedResult, j: int) -> None:
        spec = result.spec
        self.spec = dataclasses.replace(
            spec, x=np.delete(spec.x, j, axis=1),
            fixed_names=spec.fixed_names[:j] + spec.fixed_names[j + 1 :],
        )
        self.column = spec.x[:, j]
        self.y = spec.y
        self.layout = result.objective.layout
        self.start = result.params.copy()

    def __call__(self, value: float) -> float:
        spec = dataclasses.replace(self.spec, y=self.y - value * self.column)
        objective = ProfiledDeviance(compute_statistics(spec), self.layout, reml=False)
        params, _ = minimise(objective, interior_start(self.layout, self.start))
        self.start = params
        return objective(params)


def _limit(
    profile: Callable[[float], float], minimum: float, estimate: float, step: float,
    side: int, bound: float, z: float,
) -> float:
    """Where ``zeta`` crosses ``side * z``; ``bound`` when the profile stays below it."""

    seen: dict[float, float] = {}

    def zeta(value: float) -> float:
        # remembered, so that the bracket's ends keep the signs they were chosen for
        if value not in seen:
            excess = max(profile(value) - minimum, 0.0)
            seen[value] = float(np.sign(value - estimate) * np.sqrt(excess))
        return seen[value]

    previous = estimate
    for _ in range(60):
        trial = estimate + side * step
        at_bound = side * (trial - bound) >= 0
        trial = bound if at_bound else trial
        if side * zeta(trial) >= z:
            from scipy import optimize  # see _minimise_bounded

            tolerance = 1e-7 * max(abs(trial), abs(previous), 1e-3)
            return float(optimize.brentq(lambda v: zeta(v) - side * z, previous, trial,
                                         xtol=tolerance, rtol=1e-10))
        if at_bound:
            return bound
        previous = trial
        step *= 2.0
    warnings.warn(f"the profile did not reach the {'upper' if side > 0 else 'lower'} limit",
                  stacklevel=3)
    return float("nan")


def profile_intervals(
    result: MixedResult, level: float = 0.95, parameters: list[str] | None = None
) -> pd.DataFrame:
    """Profile-likelihood intervals, as lme4's ``confint(fit, method = "profile")``.

    Parameters
    ----------
    result : MixedResult
        The fit. A REML fit is refitted by ML first and profiled on the ML deviance, as lme4's
        ``profile()`` does; the estimates reported are ``result``'s own.
    level : float
        Confidence level.
    parameters : list of str, optional
        Names to profile (default: all), from :func:`variance_parameters` and the fixed-effect
        terms.

    Returns
    -------
    pandas.DataFrame
        parameter, estimate, ci_low, ci_high. A limit that the profile does not reach within the
        parameter space is the boundary: 0 for an SD (as lme4), +-1 for a correlation.

    Notes
    -----
    Matches lme4 1.1-31 on sleepstudy ``(Days | Subject)`` and Pastes ``(1 | batch/cask)`` to
    1e-3 relative (lme4 interpolates the profile with a spline; the limits here are roots of the
    profile itself). Costs two root searches per parameter, each a few dozen refits of the
    remaining parameters.
    """
    z = _quantile(level)
    ml = refit_ml(result)
    covariance = CovarianceParameters(ml)
    start = covariance.from_fit(ml.params, ml.sigma)
    minimum, optimum = _minimise_bounded(covariance.deviance, start, covariance.lower,
                                         covariance.upper, covariance.scale(start))
    wald = wald_intervals(ml, level).set_index("parameter")["std_error"]
    reported = pd.concat([variance_parameters(result),
                          pd.Series(result.beta, index=list(result.spec.fixed_names))])
    names = list(reported.index) if parameters is None else list(parameters)
    unknown = [name for name in names if name not in reported.index]
    if unknown:
        raise SpecificationError(
            f"no parameter named {unknown}; the parameters are {list(reported.index)}"
        )
    rows = []
    for name in names:
        step = float(wald.get(name, np.nan))
        profile: Callable[[float], float]
        if name in covariance.names:
            k = covariance.names.index(name)
            profile = _VarianceProfile(covariance, optimum, k)
            center, kind = optimum[k], covariance.kinds[k]
            bounds = (covariance.lower[k], covariance.upper[k])
            if kind == "ratio":
                step /= np.exp(center)
        else:
            j = ml.spec.fixed_names.index(name)
            profile = _FixedProfile(ml, j)
            center, kind, bounds = float(ml.beta[j]), "fixed", (-np.inf, np.inf)
        if not np.isfinite(step) or step <= 0:
            step = 0.25 * max(abs(center), 0.1 * ml.sigma if kind == "sd" else 0.1)
        low, high = (_limit(profile, minimum, center, step, side, bound, z)
                     for side, bound in zip((-1, 1), bounds, strict=True))
        if kind == "cor":
            low, high = (-1.0 if low == bounds[0] else low), (1.0 if high == bounds[1] else high)
        if kind == "ratio":
            low, high = float(np.exp(low)), float(np.exp(high))
        rows.append({"parameter": name, "estimate": float(reported[name]),
                     "ci_low": low, "ci_high": high})
    return pd.DataFrame(rows, columns=PROFILE_COLUMNS)


def confidence_intervals(
    result: MixedResult, method: str = "profile", level: float = 0.95
) -> pd.DataFrame:
    """Intervals for all parameters by ``method``: ``"profile"`` or ``"wald"``."""
    if method == "profile":
        return profile_intervals(result, level)
    if method == "wald":
        return wald_intervals(result, level)
    raise SpecificationError(f"method must be 'profile' or 'wald', not '{method}'")
