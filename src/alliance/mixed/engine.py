"""The one compiled entry point of the engine: search, or evaluate the deviance or its parts.

Every Python caller goes through :func:`run` with a :class:`Request`: the optimizer
(:mod:`alliance.mixed.minimiser`) asks for a search, the objective
(:mod:`alliance.mixed.objective`) for the deviance and its gradient, for an elimination (the
result's estimates and conditional modes) or for the gradient of the deviance's parts
(Satterthwaite's df, profiles). The passes are compiled once, as callees of this function;
a second entry point calling them from Python would compile and optimise them again (about
25 s on a first fit). Every caller of one model uses the same compiled version of ``run``,
chosen by two markers, each compiled the first time a model needs it and cached on disk:
``blocks`` (:func:`alliance.mixed.kernels.blocks_marker`) is ``INTERCEPT_AND_SLOPE`` for a
random intercept and slope at every level (the growth models: unrolled kernels) and ``ANY_Q``
for every other model, so that a first fit of a growth model compiles only the kernels it
runs (28 s on 2 cores when every version held both, 22 s with its own); ``threads`` is
``SERIAL``, or ``THREADED`` for data with a level of at least ``PARALLEL_MIN_GROUPS`` groups.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from alliance.mixed import record_types
from alliance.mixed.bfgs import bfgs
from alliance.mixed.deviance import deviance_gradient
from alliance.mixed.kernels import backward_pass, forward_pass

#: ``Request.mode``: minimise from ``params`` (:func:`alliance.mixed.bfgs.bfgs`).
SEARCH = 0
#: ... the deviance and its exact gradient at ``params``.
DEVIANCE_GRADIENT = 1
#: ... eliminate every level at ``params`` with the strata weights ``weights``, filling the
#: level records' buffers (:func:`alliance.mixed.kernels.forward_pass`).
ELIMINATE = 2
#: ... the gradient of ``a log|L|^2 + b log|R_X|^2 + c r2`` (``part_weights``) after an
#: elimination of the same level records, whose ``beta`` and ``txx_inverse`` are given
#: (:func:`alliance.mixed.kernels.backward_pass`).
ADJOIN = 3

_NO_VECTOR = np.zeros(0)
_NO_MATRIX = np.zeros((0, 0))


class Request(NamedTuple):
    """What :func:`run` is asked to do; build it with :func:`request` (fixed field types)."""

    mode: int
    params: np.ndarray
    scale: np.ndarray
    inverse_hessian: np.ndarray
    has_inverse_hessian: bool
    max_iterations: int
    gtol: float
    ftol: float
    decrement_tol: float
    weights: np.ndarray
    beta: np.ndarray
    txx_inverse: np.ndarray
    part_weights: tuple[float, float, float]


record_types.register(Request)


class Outcome(NamedTuple):
    """What :func:`run` returns, as a record; the fields a mode does not produce are empty.

    ``run`` itself returns a plain tuple of these fields: numba builds a named tuple by calling
    its class, which runs Python code inside the compiled call's return, where a pending
    Ctrl-C raises and numba crashes on the missing result; a plain tuple is built without
    running Python code (:func:`outcome` names it afterwards).

    A search fills ``x`` to ``n_evaluations``; an evaluation ``value`` and ``gradient``; an
    elimination ``value`` (0), ``log_det_l`` to ``positive``; an adjoint ``gradient`` (d f / d
    theta) and ``strata_gradient`` (d f / d w_s).
    """

    x: np.ndarray
    value: float
    gradient: np.ndarray
    inverse_hessian: np.ndarray
    iterations: int
    code: int
    reached: bool
    n_evaluations: int
    log_det_l: float
    log_det_rx: float
    t_final: np.ndarray
    beta: np.ndarray
    r2: float
    txx_inverse: np.ndarray
    positive: bool
    strata_gradient: np.ndarray


def request(
    mode: int,
    params: np.ndarray,
    *,
    scale: np.ndarray | None = None,
    inverse_hessian: np.ndarray | None = None,
    max_iterations: int = 0,
    gtol: float = 0.0,
    ftol: float = 0.0,
    decrement_tol: float = 0.0,
    weights: np.ndarray | None = None,
    beta: np.ndarray | None = None,
    txx_inverse: np.ndarray | None = None,
    part_weights: tuple[float, float, float] = (1.0, 1.0, 1.0),
) -> Request:
    """A :class:`Request` whose fields have the types of the compiled version.

    Arrays are passed as writeable, C-contiguous float64 copies: a read-only or differently
    laid out array would compile a second version of the entry point.
    """

    def array(values: np.ndarray | None, empty: np.ndarray) -> np.ndarray:
        return empty.copy() if values is None else np.array(values, dtype=np.float64, order="C")

    params = array(params, _NO_VECTOR)
    return Request(
        int(mode), params,
        np.ones(params.shape[0]) if scale is None else array(scale, _NO_VECTOR),
        array(inverse_hessian, _NO_MATRIX), inverse_hessian is not None, int(max_iterations),
        float(gtol), float(ftol), float(decrement_tol), array(weights, _NO_VECTOR),
        array(beta, _NO_VECTOR), array(txx_inverse, _NO_MATRIX),
        (float(part_weights[0]), float(part_weights[1]), float(part_weights[2])),
    )


def outcome(
    threads: tuple[()] | tuple[int], blocks: tuple[()] | tuple[int, int], problem: object,
    request: Request,
) -> Outcome:
    """:func:`run`, its answer as an :class:`Outcome`."""
    return Outcome(*run(threads, blocks, problem, request))


@njit(cache=True)
def run(threads, blocks, problem, request):  # pragma: no cover
    """Do what ``request.mode`` says on ``problem`` (:class:`alliance.mixed.deviance.Problem`).

    ``threads`` is :data:`alliance.mixed.kernels.SERIAL` or ``THREADED``, ``blocks``
    :data:`~alliance.mixed.kernels.INTERCEPT_AND_SLOPE` or ``ANY_Q``. Returns the fields
    of an :class:`Outcome` as a plain tuple (see there why).
    """
    no_vector, no_matrix = np.zeros(0), np.zeros((0, 0))
    params = request.params
    if request.mode == SEARCH:
        x, f, g, h_inv, iterations, code, reached, n_evaluations = bfgs(
            threads, blocks, problem, params, request.scale, request.inverse_hessian,
            request.has_inverse_hessian, request.max_iterations, request.gtol, request.ftol,
            request.decrement_tol,
        )
        return (x, f, g, h_inv, iterations, code, reached, n_evaluations, 0.0, 0.0,
                       no_matrix, no_vector, 0.0, no_matrix, True, no_vector)
    if request.mode == DEVIANCE_GRADIENT:
        f, g = deviance_gradient(threads, blocks, problem, params)
        return (params, f, g, no_matrix, 0, 0, True, 1, 0.0, 0.0, no_matrix, no_vector,
                       0.0, no_matrix, bool(np.isfinite(f)), no_vector)
    if request.mode == ELIMINATE:
        log_det_l, t_final, beta, r2, log_det_rx, txx_inverse, positive = forward_pass(
            threads, blocks, problem.levels, params, request.weights, problem.t_stack,
            problem.expand_top, problem.n_fixed, problem.parallel_min_groups,
            problem.n_threads, problem.first_level,
        )
        return (params, 0.0, no_vector, no_matrix, 0, 0, True, 1, log_det_l, log_det_rx,
                       t_final, beta, r2, txx_inverse, positive, no_vector)
    logdet_weight, rx_weight, r2_weight = request.part_weights
    grad_theta, grad_weights = backward_pass(
        threads, blocks, problem.levels, request.weights, problem.t_stack, request.beta,
        request.txx_inverse, problem.expand_top, logdet_weight, rx_weight, r2_weight,
        problem.n_theta, problem.parallel_min_groups, problem.n_threads, problem.first_level,
    )
    return (params, 0.0, grad_theta, no_matrix, 0, 0, True, 0, 0.0, 0.0, no_matrix,
                   no_vector, 0.0, no_matrix, True, grad_weights)
