"""Stage 3 of a fit: the profiled (RE)ML deviance of a model on its data, and its gradients.

:class:`ProfiledDeviance` holds the compressed statistics (stage 2) as the records the compiled
code reads (:class:`alliance.mixed.kernels.LevelState`, :class:`alliance.mixed.deviance.Problem`)
and asks the engine's one compiled entry point (:func:`alliance.mixed.engine.run`) for what its
callers need: the deviance and its exact gradient (the optimizer, the boundary checks), an
elimination with the ingredients of the estimates and conditional modes (the result), and
gradients of the deviance's parts (Satterthwaite's df, profiles). The formula is in
:mod:`alliance.mixed.deviance`; checked against lme4: REML criterion on sleepstudy to 1e-10 and
against central differences.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numba
import numpy as np

from alliance.mixed import engine
from alliance.mixed.deviance import SMALLEST_R2, Problem, profiled_deviance
from alliance.mixed.engine import ADJOIN, DEVIANCE_GRADIENT, ELIMINATE, Outcome
from alliance.mixed.kernels import SERIAL, THREADED, LevelState, blocks_marker, level_list
from alliance.mixed.parameters import ParameterLayout
from alliance.mixed.statistics import Statistics

_NO_CHILD = np.zeros((1, 1, 1))
#: Levels with at least this many groups are eliminated by all threads (below it the cost of
#: starting them exceeds the gain).
PARALLEL_MIN_GROUPS = 20_000
_THREADS = numba.get_num_threads()


def _parallel_min_groups() -> int:
    """Group count from which a level is split over threads (never with a single thread)."""
    return PARALLEL_MIN_GROUPS if _THREADS > 1 else np.iinfo(np.int64).max


def _workspace(
    statistics: Statistics, layout: ParameterLayout
) -> tuple[tuple[LevelState, ...], Sequence[LevelState]]:
    """Per level, innermost first, the statistics and output buffers of the compiled passes.

    Every array is C-contiguous so that all levels, and all models, have the same types (one
    compiled version of the entry point serves them all). Returns the records as a tuple,
    from which Python reads the buffers the passes filled (the typed list holds the same
    arrays; reading its items from Python would compile numba's accessors in every new
    process, 0.8 s), and as the typed list the passes take.
    """
    levels = []
    child, has_child = _NO_CHILD, False
    for level, where in zip(statistics.levels, layout.levels, strict=True):
        n_groups, q, r = level.p.shape[0], level.q, level.n_rest
        acc = np.zeros((level.n_parents, r, r))
        levels.append(LevelState(
            p_stat=np.ascontiguousarray(level.p),
            r_stat=np.ascontiguousarray(level.r),
            parent=np.ascontiguousarray(level.parent, dtype=np.int64),
            gather=np.ascontiguousarray(level.gather, dtype=np.int64),
            rows=np.ascontiguousarray(where.rows),
            cols=np.ascontiguousarray(where.cols),
            start=int(where.start),
            lam=np.zeros((q, q)),
            child=child,
            has_child=has_child,
            acc=acc,
            ainv=np.empty((n_groups, q, q)),
            h=np.empty((n_groups, q, r)),
            adjoint_child=np.zeros_like(child) if has_child else _NO_CHILD,
            grad_lam=np.zeros((q, q)),
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
    workspace: Sequence[LevelState]


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
        # buffers reused by searches and value_and_gradient, whose evaluations never leave
        # this object: made when first needed, handed to the first forward() after them
        self._search_buffers: tuple[tuple[LevelState, ...], Sequence[LevelState]] | None = None

    @cached_property
    def parameter_scale(self) -> np.ndarray:
        """Per parameter, the size of what it multiplies: the search's preconditioner.

        A theta entry in row ``i`` of a level's factor multiplies the random-effect column
        ``z_i`` (``Z Lambda``); its scale is the root mean square of ``z_i`` over the rows
        (1 for an intercept). The residual log-SD ratios have scale 1. The search in the
        coordinates ``scale * params`` does not depend on the units of a random slope's
        predictor (see :mod:`alliance.mixed.bfgs`).
        """
        scale = np.ones(self.layout.size)
        n_obs = self.statistics.n_obs
        for level, where in zip(self.statistics.levels, self.layout.levels, strict=True):
            mean_square = np.einsum("gsii->i", level.p) / n_obs
            rms = np.sqrt(mean_square)
            rms[~(rms > 0.0) | ~np.isfinite(rms)] = 1.0
            scale[where.start : where.stop] = rms[where.rows]
        scale.flags.writeable = False  # computed once: the statistics do not change
        return scale

    @property
    def threads(self) -> tuple[()] | tuple[int]:
        """Which compiled passes these data use: threaded only if a level is large enough.

        Read at each call, as the threading settings are (see :attr:`problem`).
        """
        largest = max(level.p.shape[0] for level in self.statistics.levels)
        return THREADED if largest >= _parallel_min_groups() else SERIAL

    @cached_property
    def blocks(self) -> tuple[()] | tuple[int, int]:
        """Which compiled kernels eliminate the levels: the statistics' random effects per
        level (:func:`~alliance.mixed.kernels.blocks_marker`), which do not change."""
        return blocks_marker([level.q for level in self.statistics.levels])

    def problem(
        self, levels: Sequence[LevelState] | None = None, first_level: int = 0
    ) -> Problem:
        """The model on its data as the entry point reads it (its own buffers by default).

        The passes eliminate the levels from ``first_level`` outwards (see
        :class:`~alliance.mixed.deviance.Problem`). The threading settings are read at each call.
        """
        stats = self.statistics
        if levels is None:
            if self._search_buffers is None:
                self._search_buffers = _workspace(stats, self.layout)
            levels = self._search_buffers[1]
        return Problem(
            levels, self.layout.n_theta,
            np.ascontiguousarray(stats.t, dtype=np.float64),
            np.ascontiguousarray(stats.levels[-1].expand, dtype=np.int64), int(stats.n_fixed),
            self._n_later_strata, float(self.residual_df), bool(self.reml),
            int(_parallel_min_groups()), int(_THREADS), int(first_level),
        )

    def run(self, mode: int, params: np.ndarray, levels: Sequence[LevelState] | None = None,
            first_level: int = 0, **options: Any) -> Outcome:
        """Ask the compiled entry point (:func:`alliance.mixed.engine.run`); count evaluations.

        ``options`` are those of :func:`alliance.mixed.engine.request`.
        """
        outcome = engine.outcome(
            self.threads, self.blocks, self.problem(levels, first_level),
            engine.request(mode, params, **options),
        )
        self.n_evaluations += int(outcome.n_evaluations)
        return outcome

    @property
    def residual_df(self) -> int:
        """``n - p`` under REML, ``n`` under ML."""
        stats = self.statistics
        return stats.n_obs - stats.n_fixed if self.reml else stats.n_obs

    def forward(self, params: np.ndarray) -> Evaluation:
        """Eliminate every level; profile out ``beta`` and ``sigma``.

        The evaluation takes the searches' buffers if there are any (the result of a fit is
        eliminated into what its search used): a fitted model keeps one set of buffers the
        size of its data's groups, not two (76 MiB at practice-network size for the joint
        model). A later search makes new ones.
        """
        params = np.array(params, dtype=float)
        if self._search_buffers is None:
            buffers, workspace = _workspace(self.statistics, self.layout)
        else:
            (buffers, workspace), self._search_buffers = self._search_buffers, None
        weights = self.layout.strata_weights(params)
        outcome = self.run(ELIMINATE, params, workspace, weights=weights)
        if not outcome.positive:
            raise np.linalg.LinAlgError("X'V^-1 X is not positive definite")
        return Evaluation(
            params, [level.lam for level in buffers], weights, [level.ainv for level in buffers],
            [level.h for level in buffers], float(outcome.log_det_l),
            float(outcome.log_det_rx), outcome.t_final, outcome.beta,
            max(float(outcome.r2), SMALLEST_R2), outcome.txx_inverse, workspace,
        )

    def deviance_of(self, evaluation: Evaluation) -> float:
        """The (RE)ML deviance from a forward evaluation."""
        return float(profiled_deviance(
            evaluation.log_det_l, evaluation.log_det_rx, evaluation.r2, float(self.residual_df),
            self.reml, evaluation.params[self.layout.n_theta :], self._n_later_strata,
        ))

    def __call__(self, params: np.ndarray) -> float:
        return self.deviance_of(self.forward(params))

    def value_and_gradient(
        self, params: np.ndarray, levels: Sequence[LevelState] | None = None
    ) -> tuple[float, np.ndarray]:
        """Deviance and its exact gradient with respect to ``[theta, rho]``, in the searches'
        buffers or in ``levels`` (an :class:`Evaluation`'s workspace, which
        :meth:`eliminate_again` restores)."""
        outcome = self.run(DEVIANCE_GRADIENT, params, levels)
        if not outcome.positive:
            raise np.linalg.LinAlgError("X'V^-1 X is not positive definite")
        return float(outcome.value), outcome.gradient

    def outer_gradient(
        self, params: np.ndarray, first_level: int, levels: Sequence[LevelState]
    ) -> np.ndarray:
        """The exact gradient with respect to the theta of the levels from ``first_level``
        outwards, eliminating only those levels again.

        A level's elimination depends on its own and inner levels' theta and on the strata
        weights only, so when ``params`` differs from an earlier elimination in outer levels'
        theta alone, the inner levels need not be eliminated again. ``levels`` (the workspace
        of an :class:`Evaluation`) must hold an elimination at parameters equal to ``params``
        in the inner levels' theta and in ``rho``; its outer levels are overwritten. The other
        entries of the result are not the gradient: the inner levels' theta get 0 and ``rho``
        lacks the inner levels' part.
        """
        outcome = self.run(DEVIANCE_GRADIENT, params, levels, first_level)
        if not outcome.positive:
            raise np.linalg.LinAlgError("X'V^-1 X is not positive definite")
        return outcome.gradient

    def eliminate_again(self, evaluation: Evaluation, first_level: int) -> None:
        """Eliminate the levels from ``first_level`` outwards again into ``evaluation``'s
        buffers, at its parameters: after :meth:`outer_gradient` used them, they hold
        ``evaluation`` again (the passes are deterministic: the same numbers)."""
        outcome = self.run(ELIMINATE, evaluation.params, evaluation.workspace, first_level,
                           weights=evaluation.weights)
        if not outcome.positive:
            raise np.linalg.LinAlgError("X'V^-1 X is not positive definite")

    def backward(
        self, evaluation: Evaluation, *, log_det_weight: float, rx_weight: float,
        r2_weight: float,
    ) -> np.ndarray:
        """Gradient of ``a log|L|^2 + b log|R_X|^2 + c r2`` with respect to ``[theta, rho]``.

        The adjoint of ``evaluation``'s own elimination (its buffers are read, not redone).
        """
        outcome = self.run(
            ADJOIN, evaluation.params, evaluation.workspace, weights=evaluation.weights,
            beta=evaluation.beta, txx_inverse=evaluation.txx_inverse,
            part_weights=(log_det_weight, rx_weight, r2_weight),
        )
        grad_theta, grad_weights = outcome.gradient, outcome.strata_gradient
        if self.layout.n_strata == 1:
            return grad_theta
        return np.concatenate([grad_theta, -2.0 * evaluation.weights[1:] * grad_weights[1:]])
