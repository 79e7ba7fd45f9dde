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


# The vector and matrix steps below are loops rather than numpy expressions: numpy's array
# expressions, ``@`` and ``np.outer`` in compiled code bring allocation, broadcasting checks
# and BLAS wrappers with them, which made this function the largest part of the one-time
# compilation (the vectors have one entry per covariance parameter, a few to a few dozen).
# They are small functions compiled on their own, not inlined: :func:`bfgs` is inlined into
# the entry point, and numba's inliner copies every block of the inlined code together with
# all of its variables, a cost that grows with blocks times variables (inlined, these helpers
# and six copies of the result's assembly cost about 3 s of a 20 s first compilation).
@njit(cache=True)
def _dot(a, b):  # pragma: no cover
    total = 0.0
    for i in range(a.shape[0]):
        total += a[i] * b[i]
    return total


@njit(cache=True)
def _gradient_step_matrix(h_inv, g):  # pragma: no cover
    """Set ``h_inv`` to an inverse Hessian guess whose step changes no parameter by more than
    ``FIRST_STEP``: ``I FIRST_STEP / max(1, max |g|)``."""
    largest = 1.0
    for i in range(g.shape[0]):
        largest = max(largest, abs(g[i]))
    for i in range(g.shape[0]):
        for j in range(g.shape[0]):
            h_inv[i, j] = 0.0
        h_inv[i, i] = FIRST_STEP / largest


@njit(cache=True)
def _newton_step(h_inv, g, direction):  # pragma: no cover
    """``direction = -H g``; returns the Newton decrement ``-g' direction``."""
    n = g.shape[0]
    for i in range(n):
        total = 0.0
        for j in range(n):
            total += h_inv[i, j] * g[j]
        direction[i] = -total
    return -_dot(g, direction)


@njit(cache=True)
def _update(h_inv, s, y, u, scaled):  # pragma: no cover
    """The BFGS update of ``h_inv`` with the step ``s`` and gradient change ``y`` (``u`` a
    buffer), skipped without enough curvature; the first update scales ``h_inv`` to
    ``s'y / y'y`` unless ``scaled`` (Nocedal & Wright eq. 6.20). Returns whether it is scaled."""
    n = s.shape[0]
    curvature = _dot(s, y)
    y_y = _dot(y, y)
    if not curvature > 1e-12 * np.sqrt(_dot(s, s) * y_y):
        return scaled
    if not scaled:
        for i in range(n):
            for j in range(n):
                h_inv[i, j] = 0.0
            h_inv[i, i] = curvature / y_y
    # H+ = (I - rho s y') H (I - rho y s') + rho s s', expanded with u = H y
    rho = 1.0 / curvature
    for i in range(n):
        total = 0.0
        for j in range(n):
            total += h_inv[i, j] * y[j]
        u[i] = total
    weight = rho * rho * _dot(y, u) + rho
    for i in range(n):
        for j in range(n):
            h_inv[i, j] = (h_inv[i, j] - rho * (s[i] * u[j] + u[i] * s[j])
                           + weight * s[i] * s[j])
    return True


@njit(cache=True, inline="always")
def _evaluate(threads, blocks, problem, point, scale, g_out):  # pragma: no cover
    """Deviance at the scaled ``point``; its gradient in scaled coordinates into ``g_out``."""
    n = point.shape[0]
    unscaled = np.empty(n)
    for i in range(n):
        unscaled[i] = point[i] / scale[i]
    f, g = deviance_gradient(threads, blocks, problem, unscaled)
    for i in range(n):
        g_out[i] = g[i] / scale[i]
    return f


@njit(cache=True)
def _unscaled(x, f, g, h_inv, scale, iterations, code, reached, n_evaluations):  # pragma: no cover
    """The end point of :func:`bfgs` in the caller's coordinates."""
    n = x.shape[0]
    x_out = np.empty(n)
    g_out = np.empty(n)
    h_out = np.empty((n, n))
    for i in range(n):
        x_out[i] = x[i] / scale[i]
        g_out[i] = g[i] * scale[i]
        for j in range(n):
            h_out[i, j] = h_inv[i, j] / (scale[i] * scale[j])
    return x_out, f, g_out, h_out, iterations, code, reached, n_evaluations


@njit(cache=True, inline="always")
def bfgs(
    threads, blocks, problem, x0, scale, inverse_hessian, has_inverse_hessian, max_iterations,
    gtol, ftol, decrement_tol,
):  # pragma: no cover
    """Minimise the deviance of ``problem`` from ``x0`` (see the module docstring).

    ``threads``, ``blocks`` and ``problem`` are those of
    :func:`alliance.mixed.deviance.deviance_gradient`. The search works on ``scale * x``;
    ``x0``, the returned point, gradient and inverse Hessian are in the caller's coordinates.
    ``inverse_hessian`` seeds the quasi-Newton matrix when ``has_inverse_hessian`` (e.g. from
    a fit to a subsample); otherwise the first step is a scaled gradient step. Returns
    ``x, f, g``, the inverse Hessian, the iterations, the stop code (index into
    ``MESSAGES``), whether the optimum was reached, and the number of evaluations. Inlined
    into the compiled entry point :func:`alliance.mixed.engine.run`.
    """
    n = x0.shape[0]
    x = np.empty(n)
    for i in range(n):
        x[i] = x0[i] * scale[i]
    g = np.empty(n)
    f = _evaluate(threads, blocks, problem, x, scale, g)
    n_evaluations = 1
    h_inv = np.empty((n, n))
    if has_inverse_hessian:
        for i in range(n):
            for j in range(n):
                h_inv[i, j] = inverse_hessian[i, j] * (scale[i] * scale[j])
    else:
        _gradient_step_matrix(h_inv, g)
    # one exit, so that the result is assembled at one place (see the note above _dot)
    code, reached, iterations = 5, False, max_iterations
    if not np.isfinite(f):
        code, iterations, max_iterations = START_NOT_POSITIVE_DEFINITE, 0, 0
    direction = np.empty(n)
    trial = np.empty(n)
    g_trial = np.empty(n)
    s = np.empty(n)
    y = np.empty(n)
    u = np.empty(n)
    scaled = has_inverse_hessian
    stalls = 0
    just_reset = False
    iteration = 0
    while iteration < max_iterations:
        iteration += 1
        largest = 0.0
        for i in range(n):
            largest = max(largest, abs(g[i]))
        if largest < gtol:
            code, reached, iterations = 0, True, iteration - 1
            break
        decrement = _newton_step(h_inv, g, direction)
        if 0.0 <= decrement < decrement_tol and scaled:
            code, reached, iterations = 1, True, iteration - 1
            break
        if decrement <= 0.0:
            _gradient_step_matrix(h_inv, g)
            decrement = _newton_step(h_inv, g, direction)
        # backtracking line search from a unit step
        moved = False
        f_new = f
        alpha = 1.0
        slope = _dot(g, direction)
        noise = 1e-13 * (1.0 + abs(f))
        for _ in range(30):
            predicted = alpha * slope
            if -predicted < noise:
                break
            for i in range(n):
                trial[i] = x[i] + alpha * direction[i]
            f_trial = _evaluate(threads, blocks, problem, trial, scale, g_trial)
            n_evaluations += 1
            if np.isfinite(f_trial) and f_trial <= f + 1e-4 * predicted:
                f_new, moved = f_trial, True
                break
            if np.isfinite(f_trial) and predicted < 0.0:
                step = -predicted * alpha / (2.0 * (f_trial - f - predicted))
                alpha *= min(max(step / alpha, 0.1), 0.5)
            else:
                alpha *= 0.25
        near_optimum = decrement < 1e3 * decrement_tol
        if not moved and not near_optimum and not just_reset:
            # a poor quasi-Newton matrix: forget it and restart along the gradient
            _gradient_step_matrix(h_inv, g)
            scaled, just_reset = False, True
            continue
        if not moved:
            code, reached, iterations = 2, near_optimum, iteration
            break
        just_reset = False
        for i in range(n):
            s[i] = trial[i] - x[i]
            y[i] = g_trial[i] - g[i]
        scaled = _update(h_inv, s, y, u, scaled)
        stalls = stalls + 1 if f - f_new < ftol * (1.0 + abs(f)) else 0
        f = f_new
        x, trial = trial, x
        g, g_trial = g_trial, g
        if stalls > 0 and decrement < 1e3 * decrement_tol:
            code, reached, iterations = 3, True, iteration
            break
        if stalls >= 2:
            code, reached, iterations = 4, False, iteration
            break
    return _unscaled(x, f, g, h_inv, scale, iterations, code, reached, n_evaluations)
