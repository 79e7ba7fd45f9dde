"""The profiled (RE)ML deviance and its exact gradient, as compiled code.

Follows Bates, Maechler, Bolker & Walker (2015, J Stat Softw 67(1), eqs. 34 and 41), evaluated
for strictly nested designs by eliminating the random effects level by level
(:func:`alliance.mixed.kernels.forward_pass`). For parameters ``phi = [theta, rho]``::

    ML:   d(phi) = log|L|^2 + n (1 + log(2 pi r2 / n)) + sum_s n_s 2 rho_s
    REML: d(phi) = log|L|^2 + log|R_X|^2 + (n-p) (1 + log(2 pi r2 / (n-p))) + sum_s n_s 2 rho_s

with ``r2`` the penalized weighted residual sum of squares and ``rho_s`` the log residual-SD
ratio of stratum ``s`` (precision weight ``w_s = exp(-2 rho_s)``). The gradient is the adjoint
(reverse mode) of the same elimination (:func:`alliance.mixed.kernels.backward_pass`), so it
costs about two deviance evaluations. Checked against lme4: REML criterion on sleepstudy to
1e-10, and against central differences.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numba import njit

from alliance.mixed import record_types
from alliance.mixed.kernels import backward_pass, forward_pass

#: Floor of the penalized residual sum of squares (the smallest normal double), so that a
#: perfect fit gives a finite deviance.
SMALLEST_R2 = float(np.finfo(np.float64).tiny)


class Problem(NamedTuple):
    """A model on its data, as the compiled code reads it.

    ``levels`` are the :class:`alliance.mixed.kernels.LevelState` records (a typed list,
    innermost level first); ``t_stack`` is ``sum [X, y][X, y]'`` per residual stratum;
    ``expand_top`` maps ``[X, y]`` into the outermost level's reduced coordinates;
    ``n_later_strata`` counts the rows of the strata after the first; ``dof`` is ``n - p``
    (REML) or ``n`` (ML); levels with at least ``parallel_min_groups`` groups are split over
    ``n_threads`` threads by the threaded passes. The passes eliminate the levels from
    ``first_level`` outwards (0: all); with ``first_level > 0`` the inner levels' buffers must
    hold an elimination at the same inner parameters and strata weights, and only the
    gradient with respect to the outer levels' theta is complete
    (:func:`alliance.mixed.kernels.backward_pass`).
    """

    levels: Any
    n_theta: int
    t_stack: np.ndarray
    expand_top: np.ndarray
    n_fixed: int
    n_later_strata: np.ndarray
    dof: float
    reml: bool
    parallel_min_groups: int
    n_threads: int
    first_level: int


record_types.register(Problem)


@njit(cache=True)
def profiled_deviance(log_det_l, log_det_rx, r2, dof, reml, rho, n_later_strata):  # pragma: no cover
    """The (RE)ML deviance from its parts (see the module docstring)."""
    value = log_det_l + dof * (1.0 + np.log(2.0 * np.pi * r2 / dof))
    if reml:
        value += log_det_rx
    for s in range(rho.shape[0]):
        value += 2.0 * n_later_strata[s] * rho[s]
    return value


# inlined into its callers rather than compiled on its own: every separately compiled function
# re-optimises all the kernels it calls, which costs seconds of compilation per layer
@njit(cache=True, inline="always")
def deviance_gradient(threads, blocks, problem, params):  # pragma: no cover
    """Deviance and exact gradient at ``params = [theta, rho]``; ``inf`` if X'V^-1 X is singular.

    ``threads`` is :data:`alliance.mixed.kernels.SERIAL` or ``THREADED`` and ``blocks``
    :data:`~alliance.mixed.kernels.INTERCEPT_AND_SLOPE` or ``ANY_Q`` (which passes are
    compiled in); ``problem`` a :class:`Problem`. With ``problem.first_level > 0`` the value
    is the outer levels' part only and the gradient is complete for their theta only.
    """
    n_theta = problem.n_theta
    n_strata = params.shape[0] - n_theta + 1
    weights = np.ones(n_strata)
    rho = params[n_theta:]
    for s in range(1, n_strata):
        weights[s] = np.exp(-2.0 * rho[s - 1])
    log_det_l, _, beta, r2, log_det_rx, txx_inverse, positive = forward_pass(
        threads, blocks, problem.levels, params, weights, problem.t_stack, problem.expand_top,
        problem.n_fixed, problem.parallel_min_groups, problem.n_threads, problem.first_level,
    )
    gradient = np.zeros(params.shape[0])
    if not positive:
        return np.inf, gradient
    r2 = max(r2, SMALLEST_R2)
    value = profiled_deviance(
        log_det_l, log_det_rx, r2, problem.dof, problem.reml, rho, problem.n_later_strata
    )
    grad_theta, grad_weights = backward_pass(
        threads, blocks, problem.levels, weights, problem.t_stack, beta, txx_inverse,
        problem.expand_top, 1.0, 1.0 if problem.reml else 0.0, problem.dof / r2, n_theta,
        problem.parallel_min_groups, problem.n_threads, problem.first_level,
    )
    for k in range(n_theta):
        gradient[k] = grad_theta[k]
    for s in range(1, n_strata):
        gradient[n_theta + s - 1] = (
            -2.0 * weights[s] * grad_weights[s] + 2.0 * problem.n_later_strata[s - 1]
        )
    return value, gradient
