"""The quasi-Newton search on the profiled deviance, compiled with it.

A small model (3,000 sessions) takes about 20 deviance+gradient evaluations of 0.2 ms each;
driving them from Python added about 0.1 ms per iteration (array allocations, small matrix
products, dispatch), a third of the fit. Here the whole search runs in one compiled call.

The search is BFGS (Nocedal & Wright 2006, "Numerical Optimization", ch. 6) with a
backtracking Armijo line search (quadratic interpolation, step kept in [0.1, 0.5] of the last).
It stops when the gradient is below ``gtol``; when an iteration improves ``f`` by less than
``ftol * (1 + |f|)`` twice in a row; when the quasi-Newton model predicts a further decrease
below ``decrement_tol`` (Newton decrement ``g' H^-1 g``: with a million observations the
gradient is dominated by rounding before it gets small, but the decrement is not); or when no
step along the direction decreases ``f``. ``scipy.optimize`` is not used because its
per-iteration overhead (about 1 ms) exceeds a whole evaluation here.

The search runs in scaled coordinates ``x_s = scale * x`` (a diagonal preconditioner, Nocedal &
Wright sec. 2.2): with ``scale`` the root mean square of the random-effect column that a theta
entry multiplies, a slope's relative SD is searched on the scale of a predictor in units of its
own size. Without it, ``time`` in thousandths made the slope's relative SD about 100 times
larger, the quasi-Newton model underestimated the decrease still possible, and the search
stopped 7 units of deviance above the optimum as "converged".
"""

from __future__ import annotations

import numpy as np
from numba import njit

from alliance.mixed.deviance import deviance_gradient

#: Stop codes of :func:`bfgs`, as messages (index = code).
MESSAGES = (
    "gradient below tolerance",
    "Newton decrement below tolerance",
    "no further decrease possible along the search direction",
    "no decrease beyond rounding error near the optimum",
    "relative decrease of the deviance below tolerance",
    "maximum number of iterations reached",
    "X'V^-1 X is not positive definite at the start",
)
START_NOT_POSITIVE_DEFINITE = len(MESSAGES) - 1


#: Largest change of any parameter in a scaled gradient step. From lme4's start (identity
#: factors, diagonals 1) a step of at most 0.5 cannot land a diagonal on 0, where the
#: deviance, even in each column of a factor, has a zero gradient that would stop the search.
FIRST_STEP = 0.5


@njit(cache=True, inline="always")
def _gradient_step_matrix(g):  # pragma: no cover
    """An inverse Hessian guess whose step changes no parameter by more than ``FIRST_STEP``."""
    return np.eye(g.shape[0]) * (FIRST_STEP / max(1.0, np.abs(g).max()))


@njit(cache=True, inline="always")
def _unscaled(x, f, g, h_inv, scale, iterations, code, reached, n_evaluations):  # pragma: no cover
    """The end point of :func:`bfgs` in the caller's coordinates."""
    return (x / scale, f, g * scale, h_inv / np.outer(scale, scale), iterations, code, reached,
            n_evaluations)


@njit(cache=True, inline="always")
def bfgs(
    threads, problem, x0, scale, inverse_hessian, has_inverse_hessian, max_iterations, gtol,
    ftol, decrement_tol,
):  # pragma: no cover
    """Minimise the deviance of ``problem`` from ``x0`` (see the module docstring).

    ``threads`` and ``problem`` are those of
    :func:`alliance.mixed.deviance.deviance_gradient`. The search works on ``scale * x``;
    ``x0``, the returned point, gradient and inverse Hessian are in the caller's coordinates.
    ``inverse_hessian`` seeds the quasi-Newton matrix when ``has_inverse_hessian`` (e.g. from
    a fit to a subsample); otherwise the first step is a scaled gradient step. Returns
    ``x, f, g``, the inverse Hessian, the iterations, the stop code (index into
    ``MESSAGES``), whether the optimum was reached, and the number of evaluations. Inlined
    into the compiled entry point :func:`alliance.mixed.engine.run`.
    """
    x = x0 * scale
    f, g = deviance_gradient(threads, problem, x0)
    g = g / scale
    n_evaluations = 1
    h_inv = (
        inverse_hessian * np.outer(scale, scale) if has_inverse_hessian
        else _gradient_step_matrix(g)
    )
    if not np.isfinite(f):
        return _unscaled(x, f, g, h_inv, scale, 0, START_NOT_POSITIVE_DEFINITE, False,
                         n_evaluations)
    scaled = has_inverse_hessian
    stalls = 0
    just_reset = False
    iteration = 0
    while iteration < max_iterations:
        iteration += 1
        if np.abs(g).max() < gtol:
            return _unscaled(x, f, g, h_inv, scale, iteration - 1, 0, True, n_evaluations)
        direction = -(h_inv @ g)
        decrement = -(g @ direction)
        if 0.0 <= decrement < decrement_tol and scaled:
            return _unscaled(x, f, g, h_inv, scale, iteration - 1, 1, True, n_evaluations)
        if decrement <= 0.0:
            h_inv = _gradient_step_matrix(g)
            direction = -(h_inv @ g)
            decrement = -(g @ direction)
        # backtracking line search from a unit step
        moved = False
        x_new, f_new, g_new = x, f, g
        alpha = 1.0
        slope = g @ direction
        noise = 1e-13 * (1.0 + abs(f))
        for _ in range(30):
            predicted = alpha * slope
            if -predicted < noise:
                break
            trial = x + alpha * direction
            f_trial, g_trial = deviance_gradient(threads, problem, trial / scale)
            g_trial = g_trial / scale
            n_evaluations += 1
            if np.isfinite(f_trial) and f_trial <= f + 1e-4 * predicted:
                x_new, f_new, g_new, moved = trial, f_trial, g_trial, True
                break
            if np.isfinite(f_trial) and predicted < 0.0:
                step = -predicted * alpha / (2.0 * (f_trial - f - predicted))
                alpha *= min(max(step / alpha, 0.1), 0.5)
            else:
                alpha *= 0.25
        near_optimum = decrement < 1e3 * decrement_tol
        if not moved and not near_optimum and not just_reset:
            # a poor quasi-Newton matrix: forget it and restart along the gradient
            h_inv = _gradient_step_matrix(g)
            scaled, just_reset = False, True
            continue
        if not moved:
            return _unscaled(x, f, g, h_inv, scale, iteration, 2, near_optimum, n_evaluations)
        just_reset = False
        s = x_new - x
        y = g_new - g
        curvature = s @ y
        if curvature > 1e-12 * np.sqrt((s @ s) * (y @ y)):
            if not scaled:
                h_inv = np.eye(x.shape[0]) * curvature / (y @ y)
                scaled = True
            # H+ = (I - rho s y') H (I - rho y s') + rho s s', expanded with u = H y
            rho = 1.0 / curvature
            u = h_inv @ y
            h_inv = (
                h_inv - rho * (np.outer(s, u) + np.outer(u, s))
                + (rho * rho * (y @ u) + rho) * np.outer(s, s)
            )
        stalls = stalls + 1 if f - f_new < ftol * (1.0 + abs(f)) else 0
        x, f, g = x_new, f_new, g_new
        if stalls > 0 and decrement < 1e3 * decrement_tol:
            return _unscaled(x, f, g, h_inv, scale, iteration, 3, True, n_evaluations)
        if stalls >= 2:
            return _unscaled(x, f, g, h_inv, scale, iteration, 4, False, n_evaluations)
    return _unscaled(x, f, g, h_inv, scale, max_iterations, 5, False, n_evaluations)
