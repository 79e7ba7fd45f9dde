"""Stage 3 of a fit: the profiled (RE)ML deviance and its exact gradient.

Follows the profiled deviance of lme4 (Bates, Maechler, Bolker & Walker 2015, J Stat Softw
67(1), eqs. 34 and 41), evaluated for strictly nested designs by eliminating the random
effects level by level from the innermost group outwards (block Cholesky). For parameters
``phi = [theta, rho]``::

    ML:   d(phi) = log|L|^2 + n (1 + log(2 pi r2 / n)) + sum_s n_s 2 rho_s
    REML: d(phi) = log|L|^2 + log|R_X|^2 + (n-p) (1 + log(2 pi r2 / (n-p))) + sum_s n_s 2 rho_s

with ``r2`` the penalized weighted residual sum of squares. The gradient is the adjoint
(reverse mode) of the same elimination, so it costs about two deviance evaluations. Checked
against lme4: REML criterion on sleepstudy to 1e-10 and against central differences.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numba
import numpy as np

from alliance.mixed.kernels import SERIAL, THREADED, backward_pass, forward_pass, level_list
from alliance.mixed.parameters import ParameterLayout
from alliance.mixed.search import SMALLEST_R2, bfgs, profiled_deviance
from alliance.mixed.statistics import Statistics

_NO_CHILD = np.zeros((1, 1, 1))
_NO_SEED = np.empty((0, 0))
#: Levels with at least this many groups are eliminated by all threads (below it the cost of
#: starting them exceeds the gain).
PARALLEL_MIN_GROUPS = 20_000
_THREADS = numba.get_num_threads()


def _parallel_min_groups() -> int:
    """Group count from which a level is split over threads (never with a single thread)."""
    return PARALLEL_MIN_GROUPS if _THREADS > 1 else np.iinfo(np.int64).max


def _workspace(
    statistics: Statistics, layout: ParameterLayout
) -> tuple[tuple[tuple, ...], Sequence[tuple]]:
    """Per level, innermost first, the arguments and output buffers of the compiled passes.

    See :func:`alliance.mixed.kernels.forward_pass` for the order of the entries. Every
    array is C-contiguous so that all levels have the same types. Returns the levels as a
    tuple, from which Python reads the buffers the passes filled (the typed list holds the
    same arrays; reading its items from Python would compile numba's accessors in every new
    process, 0.8 s), and as the typed list the passes take.
    """
    levels = []
    child, has_child = _NO_CHILD, False
    for level, where in zip(statistics.levels, layout.levels, strict=True):
        n_groups, q, r = level.p.shape[0], level.q, level.n_rest
        acc = np.zeros((level.n_parents, r, r))
        levels.append(tuple(
            np.ascontiguousarray(value) if isinstance(value, np.ndarray) else value
            for value in (
                level.p, level.r, level.parent.astype(np.int64), level.gather.astype(np.int64),
                where.rows, where.cols, where.start, np.zeros((q, q)), child, has_child, acc,
                np.empty((n_groups, q, q)), np.empty((n_groups, q, r)),
                np.zeros_like(child) if has_child else _NO_CHILD, np.zeros((q, q)),
            )
        ))
        child, has_child = acc, True
    return tuple(levels), level_list(tuple(levels))


@dataclass(frozen=True)
class Evaluation:
    """Everything one forward elimination produces at ``params``."""

    params: np.ndarray
    lambdas: list[np.ndarray]
    weights: np.ndarray
    ainv: list[np.ndarray]
    h: list[np.ndarray]
    log_det_l: float
    log_det_rx: float
    t_final: np.ndarray
    beta: np.ndarray
    r2: float
    txx_inverse: np.ndarray
    workspace: Sequence[tuple]


class ProfiledDeviance:
    """The objective function of a nested linear mixed model.

    Parameters
    ----------
    statistics : Statistics
        The compressed cross-products (stage 2).
    layout : ParameterLayout
        Where each parameter sits.
    reml : bool
        REML criterion (True) or ML deviance (False).
    """

    def __init__(self, statistics: Statistics, layout: ParameterLayout, reml: bool) -> None:
        self.statistics = statistics
        self.layout = layout
        self.reml = reml
        self.n_evaluations = 0
        self._n_later_strata = np.asarray(statistics.n_per_stratum[1:], dtype=float)
        # buffers reused by value_and_gradient, whose evaluations never leave this object
        self._fixed_problem = (
            _workspace(statistics, layout)[1], layout.n_theta, statistics.t,
            statistics.levels[-1].expand, statistics.n_fixed, self._n_later_strata,
            float(self.residual_df), reml,
        )

    @property
    def parameter_scale(self) -> np.ndarray:
        """Per parameter, the size of what it multiplies: the search's preconditioner.

        A theta entry in row ``i`` of a level's factor multiplies the random-effect column
        ``z_i`` (``Z Lambda``); its scale is the root mean square of ``z_i`` over the rows
        (1 for an intercept). The residual log-SD ratios have scale 1. The search in the
        coordinates ``scale * params`` does not depend on the units of a random slope's
        predictor (see :mod:`alliance.mixed.search`).
        """
        scale = np.ones(self.layout.size)
        n_obs = self.statistics.n_obs
        for level, where in zip(self.statistics.levels, self.layout.levels, strict=True):
            mean_square = np.einsum("gsii->i", level.p) / n_obs
            rms = np.sqrt(mean_square)
            rms[~(rms > 0.0) | ~np.isfinite(rms)] = 1.0
            scale[where.start : where.stop] = rms[where.rows]
        return scale

    @property
    def threads(self) -> tuple[()] | tuple[int]:
        """Which compiled passes these data use: threaded only if a level is large enough.

        Read at each call, as the threading settings are (see :attr:`problem`).
        """
        largest = max(level.p.shape[0] for level in self.statistics.levels)
        return THREADED if largest >= _parallel_min_groups() else SERIAL

    @property
    def problem(self) -> tuple:
        """The problem as :func:`alliance.mixed.search.bfgs` takes it.

        The threading settings are read at each call, as :meth:`forward` reads them.
        """
        return (*self._fixed_problem, _parallel_min_groups(), _THREADS)

    @property
    def residual_df(self) -> int:
        """``n - p`` under REML, ``n`` under ML."""
        stats = self.statistics
        return stats.n_obs - stats.n_fixed if self.reml else stats.n_obs

    def forward(self, params: np.ndarray) -> Evaluation:
        """Eliminate every level; profile out ``beta`` and ``sigma``."""
        params = np.array(params, dtype=float)  # writeable: one compiled signature
        buffers, workspace = _workspace(self.statistics, self.layout)
        stats = self.statistics
        weights = self.layout.strata_weights(params)
        log_det_l, t_final, beta, r2, log_det_rx, txx_inverse, positive = forward_pass(
            self.threads, workspace, params, weights, stats.t, stats.levels[-1].expand, stats.n_fixed,
            _parallel_min_groups(), _THREADS,
        )
        if not positive:
            raise np.linalg.LinAlgError("X'V^-1 X is not positive definite")
        self.n_evaluations += 1
        return Evaluation(
            params, [level[7] for level in buffers], weights, [level[11] for level in buffers],
            [level[12] for level in buffers], float(log_det_l), float(log_det_rx), t_final,
            beta, max(float(r2), SMALLEST_R2), txx_inverse, workspace,
        )

    def deviance_of(self, evaluation: Evaluation) -> float:
        """The (RE)ML deviance from a forward evaluation."""
        return float(profiled_deviance(
            evaluation.log_det_l, evaluation.log_det_rx, evaluation.r2, float(self.residual_df),
            self.reml, evaluation.params[self.layout.n_theta :], self._n_later_strata,
        ))

    def __call__(self, params: np.ndarray) -> float:
        return self.deviance_of(self.forward(params))

    def value_and_gradient(self, params: np.ndarray) -> tuple[float, np.ndarray]:
        """Deviance and its exact gradient with respect to ``[theta, rho]``."""
        # a search of no iteration: the deviance and gradient at the start (see search.bfgs)
        params = np.array(params, dtype=float)  # writeable: one compiled signature
        _, value, gradient, *_ = bfgs(
            self.threads, params, np.ones(params.shape[0]), _NO_SEED, False, 0, 0.0, 0.0, 0.0, *self.problem
        )
        if not np.isfinite(value):
            raise np.linalg.LinAlgError("X'V^-1 X is not positive definite")
        self.n_evaluations += 1
        return float(value), gradient

    def backward(
        self, evaluation: Evaluation, *, log_det_weight: float, rx_weight: float,
        r2_weight: float,
    ) -> np.ndarray:
        """Gradient of ``a log|L|^2 + b log|R_X|^2 + c r2`` with respect to ``[theta, rho]``."""
        stats = self.statistics
        grad_theta, grad_weights = backward_pass(
            self.threads, evaluation.workspace, evaluation.weights, stats.t, evaluation.beta,
            evaluation.txx_inverse, stats.levels[-1].expand, log_det_weight, rx_weight,
            r2_weight, self.layout.n_theta, _parallel_min_groups(), _THREADS,
        )
        if self.layout.n_strata == 1:
            return grad_theta
        return np.concatenate([grad_theta, -2.0 * evaluation.weights[1:] * grad_weights[1:]])
