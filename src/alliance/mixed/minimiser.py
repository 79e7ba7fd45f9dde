"""Stage 4 of a fit: minimise the profiled deviance; record how the optimum was reached.

A quasi-Newton method (BFGS, compiled: :mod:`alliance.mixed.bfgs`) driven by the exact
adjoint gradient. The deviance is searched without lme4's bounds
``theta_diag >= 0``: it is an even, smooth function of each column of a relative factor, so
the bound only adds a trap (at ``theta_diag = 0`` its derivative vanishes, and a search that
lands there by projection cannot leave), and the optimum is mapped back to lme4's
representative with non-negative diagonals. Written here rather than calling
scipy's L-BFGS-B because, measured on these problems (3 to 20 parameters), scipy's per-iteration
overhead (about 1 ms) exceeded the cost of a deviance evaluation on 3,000 sessions, and a
gradient-based method needs 20-60 evaluations where derivative-free BOBYQA-type search needs
150-400. Every setting and outcome is kept in :class:`FitInfo` (cf. MixedModels.jl's
``OptSummary``) so that a fit explains how it was obtained.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np

from alliance.mixed.bfgs import MESSAGES, START_NOT_POSITIVE_DEFINITE
from alliance.mixed.boundary import MAX_ROUNDS, probe_inside, settle_on_boundary
from alliance.mixed.engine import SEARCH
from alliance.mixed.objective import ProfiledDeviance

#: lme4's ``isSingular`` tolerance on the diagonal of the relative covariance factors.
SINGULAR_TOLERANCE = 1e-4
#: A fit whose projected gradient exceeds this (in deviance units) is not called converged.
GRADIENT_TOLERANCE = 1e-3
#: Fits with at least this many outermost groups start from a fit to a subset of them.
WARM_START_MIN_GROUPS = 1000
#: Number of outermost groups in that subset.
WARM_START_GROUPS = 200


@dataclass(frozen=True)
class FitInfo:
    """How the optimum was obtained.

    Attributes
    ----------
    optimizer : str
        Name of the method.
    n_evaluations : int
        Deviance (and gradient) evaluations on the full data.
    n_warm_start_evaluations : int
        Evaluations on a subset of the outermost groups that found the starting point
        (0 when the data are small enough to start from lme4's default).
    n_iterations : int
        Optimizer iterations.
    converged : bool
        The optimizer reported success and the projected gradient is below ``gradient_tolerance``.
    message : str
        The optimizer's own message.
    start : numpy.ndarray
        Starting parameters (by default :func:`default_start`).
    gradient : numpy.ndarray
        Gradient of the deviance at the optimum.
    projected_gradient : float
        Largest gradient component not blocked by a bound.
    scaled_gradient : float
        The convergence measure compared with ``gradient_tolerance``: the projected gradient,
        or where that is above the tolerance, lme4's Hessian-scaled gradient.
    gradient_tolerance : float
        Threshold used for ``converged``.
    options : dict
        Optimizer settings.
    seconds : float
        Wall time of the optimisation.
    warnings : tuple of str
        Everything a user should know about this fit (non-convergence, boundary).
    boundary_restarts : int
        Searches continued from a point inside after the search had stopped with a factor
        column at zero and the deviance was lower inside (:mod:`alliance.mixed.boundary`).
    inverse_hessian : numpy.ndarray
        The search's final quasi-Newton inverse Hessian, in its scaled coordinates and the
        signs of the returned parameters: the starting matrix of a refit from this optimum
        (:func:`minimise`'s ``inverse_hessian``; empty when unknown).
    """

    optimizer: str
    n_evaluations: int
    n_warm_start_evaluations: int
    n_iterations: int
    converged: bool
    message: str
    start: np.ndarray
    gradient: np.ndarray
    projected_gradient: float
    scaled_gradient: float
    gradient_tolerance: float
    options: dict[str, float | int] = field(default_factory=dict)
    seconds: float = 0.0
    warnings: tuple[str, ...] = ()
    boundary_restarts: int = 0
    inverse_hessian: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))


def projected_gradient(params: np.ndarray, gradient: np.ndarray, lower: np.ndarray) -> np.ndarray:
    """The gradient with the components that push against an active bound set to zero."""
    blocked = (params <= lower) & (gradient > 0)
    return np.where(blocked, 0.0, gradient)


@dataclass(frozen=True)
class SearchOutcome:
    """End point of :func:`run_bfgs`."""

    x: np.ndarray
    value: float
    gradient: np.ndarray
    inverse_hessian: np.ndarray
    iterations: int
    message: str
    reached_optimum: bool


def run_bfgs(
    objective: ProfiledDeviance,
    x0: np.ndarray,
    *,
    max_iterations: int,
    gtol: float,
    ftol: float,
    inverse_hessian: np.ndarray | None = None,
    decrement_tol: float = 1e-8,
) -> SearchOutcome:
    """Run the compiled BFGS search (:func:`alliance.mixed.bfgs.bfgs`, through the entry
    point :func:`alliance.mixed.engine.run`) on ``objective``."""
    outcome = objective.run(
        SEARCH, x0, scale=objective.parameter_scale, inverse_hessian=inverse_hessian,
        max_iterations=max_iterations, gtol=gtol, ftol=ftol, decrement_tol=decrement_tol,
    )
    if outcome.code == START_NOT_POSITIVE_DEFINITE:
        raise np.linalg.LinAlgError(MESSAGES[outcome.code])
    return SearchOutcome(
        outcome.x, float(outcome.value), outcome.gradient, outcome.inverse_hessian,
        int(outcome.iterations), MESSAGES[outcome.code], bool(outcome.reached),
    )


def _warm_start(
    objective: ProfiledDeviance, x0: np.ndarray, options: dict[str, float | int]
) -> tuple[np.ndarray, np.ndarray | None, int]:
    """Optimise on an evenly spread subset of outermost groups first.

    With thousands of therapists the optimum on a few hundred of them is close to the full
    one; starting there, with the subsample's quasi-Newton matrix rescaled by the share of the
    data, the full-data search needs a handful of evaluations instead of dozens. The final
    optimum is still the full data's: the full search and its convergence checks follow.
    """
    n_outer = objective.statistics.levels[-1].p.shape[0]
    if n_outer < WARM_START_MIN_GROUPS:
        return x0, None, 0
    chosen = np.unique(np.linspace(0, n_outer - 1, WARM_START_GROUPS).round().astype(np.int64))
    small = ProfiledDeviance(objective.statistics.subset(chosen), objective.layout,
                             objective.reml)
    outcome = run_bfgs(
        small, x0, max_iterations=int(options["max_iterations"]),
        gtol=float(options["gtol"]), ftol=1e-10,
    )
    share = small.statistics.n_obs / objective.statistics.n_obs
    return outcome.x, outcome.inverse_hessian * share, small.n_evaluations


def scaled_gradient(
    objective: ProfiledDeviance, params: np.ndarray, gradient: np.ndarray, lower: np.ndarray
) -> float:
    """lme4's convergence measure: the gradient scaled by the Cholesky factor of the Hessian.

    ``max |min(|L^-1 g|, |g|)|`` over the free parameters, with ``H = L L'`` the Hessian by
    forward differences of the exact gradient (as lme4's ``checkConv``, tolerance 0.002). With
    hundreds of thousands of observations the raw gradient at the optimum is dominated by
    rounding; the scaled gradient is not.
    """
    free = np.flatnonzero(~((params <= lower) & (gradient > 0)))
    if free.size == 0:
        return 0.0
    hessian = np.empty((free.size, free.size))
    for column, index in enumerate(free):
        step = 1e-5 * max(abs(params[index]), 0.1)
        shifted = params.copy()
        shifted[index] += step
        hessian[:, column] = (objective.value_and_gradient(shifted)[1][free] - gradient[free]) / step
    hessian = 0.5 * (hessian + hessian.T)
    try:
        chol = np.linalg.cholesky(hessian)
    except np.linalg.LinAlgError:
        return float(np.max(np.abs(gradient[free])))
    scaled = np.linalg.solve(chol, gradient[free])
    return float(np.max(np.minimum(np.abs(scaled), np.abs(gradient[free]))))


def default_start(objective: ProfiledDeviance) -> np.ndarray:
    """lme4's start (identity factors) in the search's scaled coordinates.

    A diagonal entry starts at ``1 / scale``: a relative SD of 1 per unit of the root mean
    square of its column (lme4's start for a predictor of that size), so that the start does
    not depend on the units of a slope's predictor either.
    """
    layout = objective.layout
    return layout.start() / objective.parameter_scale


def minimise(
    objective: ProfiledDeviance,
    start: np.ndarray | None = None,
    *,
    inverse_hessian: np.ndarray | None = None,
    max_iterations: int = 1000,
) -> tuple[np.ndarray, FitInfo]:
    """Minimise ``objective`` from ``start`` (lme4's default start when None).

    Without a ``start``, a large model is first searched on a subset of its outermost groups
    (:func:`_warm_start`), whose optimum and quasi-Newton matrix start the full search. A refit
    from an earlier optimum (ML after REML, a bootstrap replicate) gives that optimum as
    ``start`` and may give its search's final ``inverse_hessian``
    (:attr:`FitInfo.inverse_hessian`): on the same rows and random effects the curvature is
    nearly the same, and the search then needs a few evaluations instead of the dozen an
    identity matrix costs (4 to 6 against 11 to 15 for the ML refits of a network study's
    growth models).
    """
    layout = objective.layout
    x0 = default_start(objective) if start is None else np.asarray(start, dtype=float)
    lower = layout.lower_bounds()
    options: dict[str, float | int] = {
        "max_iterations": max_iterations, "gtol": 1e-6, "ftol": 1e-14,
    }
    evaluations_before = objective.n_evaluations
    began = time.perf_counter()
    usable = inverse_hessian is not None and inverse_hessian.shape == (len(x0), len(x0))
    initial_x, initial_hessian, warm_evaluations = (
        _warm_start(objective, x0, options) if start is None
        else (x0, inverse_hessian if usable else None, 0)
    )
    outcome = run_bfgs(
        objective, initial_x, max_iterations=max_iterations,
        gtol=float(options["gtol"]), ftol=float(options["ftol"]),
        inverse_hessian=initial_hessian,
    )
    outcome, restarts, extra_iterations = _leave_boundary(objective, outcome, options)
    params, signs = layout.canonical(outcome.x)
    iterations, message = outcome.iterations + extra_iterations, outcome.message
    gradient = outcome.gradient * signs
    seconds = time.perf_counter() - began
    free_gradient = projected_gradient(params, gradient, lower)
    worst = float(np.max(np.abs(free_gradient), initial=0.0))
    scaled = worst
    if worst >= GRADIENT_TOLERANCE and outcome.reached_optimum:
        # ||L^-1 g|| = sqrt(g' H^-1 g) bounds every component of lme4's scaled gradient;
        # the quasi-Newton matrix gives it without further evaluations
        free = np.flatnonzero(free_gradient != 0.0)
        inverse = (outcome.inverse_hessian * np.outer(signs, signs))[np.ix_(free, free)]
        scaled = float(np.sqrt(max(gradient[free] @ inverse @ gradient[free], 0.0)))
    if scaled >= GRADIENT_TOLERANCE:
        scaled = scaled_gradient(objective, params, gradient, lower)
    converged = scaled < GRADIENT_TOLERANCE and iterations < max_iterations
    warnings = []
    if not converged:
        warnings.append(
            f"the optimizer did not converge ({message}); largest scaled gradient component "
            f"{scaled:.3g} exceeds {GRADIENT_TOLERANCE:g}. Rescale predictors or simplify the "
            "random effects"
        )
    info = FitInfo(
        optimizer="BFGS with exact adjoint gradient",
        n_evaluations=objective.n_evaluations - evaluations_before,
        n_warm_start_evaluations=warm_evaluations,
        n_iterations=iterations,
        converged=converged,
        message=message,
        start=x0,
        gradient=gradient,
        projected_gradient=worst,
        scaled_gradient=scaled,
        gradient_tolerance=GRADIENT_TOLERANCE,
        options=options,
        seconds=seconds,
        warnings=tuple(warnings),
        boundary_restarts=restarts,
        inverse_hessian=outcome.inverse_hessian * np.outer(signs, signs),
    )
    return params, info


def _leave_boundary(
    objective: ProfiledDeviance, outcome: SearchOutcome, options: dict[str, float | int]
) -> tuple[SearchOutcome, int, int]:
    """Continue from inside while a zero factor column hides a lower deviance.

    A boundary end point that survives is then put exactly on the boundary, as lme4 reports
    it. Returns the lowest end point, the number of restarts, and the iterations of every
    search that ran besides the returned end point's (see :mod:`alliance.mixed.boundary`).
    """
    restarts, iterations = 0, 0
    scale = objective.parameter_scale
    for _ in range(MAX_ROUNDS):
        probe = probe_inside(
            objective.value_and_gradient, objective.layout, outcome.x, outcome.value,
            outcome.gradient, scale,
        )
        if probe is None:
            break
        restarts += 1
        continued = run_bfgs(
            objective, probe.x, max_iterations=int(options["max_iterations"]),
            gtol=float(options["gtol"]), ftol=float(options["ftol"]),
        )
        if not continued.value < outcome.value:
            iterations += continued.iterations  # a search that ran, and was not kept
            break
        iterations += outcome.iterations  # the search this one continues
        outcome = continued
    settled = settle_on_boundary(
        objective.value_and_gradient, objective.layout, outcome.x, outcome.value, scale
    )
    if settled is not None:
        outcome = replace(outcome, x=settled[0], value=settled[1], gradient=settled[2])
    return outcome, restarts, iterations
