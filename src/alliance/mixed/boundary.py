"""Leaving the boundary ``theta_diag = 0`` where the deviance goes down inside.

The profiled deviance is an even function of each column of a relative covariance factor
(``Lambda Lambda'`` does not change when a column changes sign). Where a whole column is zero
its gradient with respect to that column is therefore exactly zero, whatever the data say: a
gradient-based search that reaches such a point (by a step that lands on it, or by starting
there) reports a stationary point although the deviance may fall on moving inside. lme4 avoids
the trap with a derivative-free bounded search (BOBYQA); here the search is gradient-based and
fast, so every end point with a zero column is examined on purpose:

1. the one-sided behaviour: ``d(c) ~ d(0) + c' H c / 2`` for the column's entries ``c``, with
   ``H`` from differences of the exact gradient; a negative eigenvalue gives a descent
   direction;
2. points inside at a ladder of relative SDs along the diagonal and along that direction,
   which also finds an interior optimum separated from 0 by a rise;
3. where one of them is lower, the search continues from the lowest, and the lower of the two
   optima is kept.

Sizes are in the search's scaled coordinates (``scale * theta``, see
:mod:`alliance.mixed.bfgs`), so that a relative SD of 0.1 means the same for a slope on
``time`` in sessions as in thousandths of sessions.

The result is lme4's optimum also for random-intercept models (issue: ``(1 | school)`` on
mlmRev's Hsb82 stopped at ``theta = 0`` with a REML criterion 195 units too high).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from alliance.mixed.parameters import ParameterLayout

#: Diagonal entries below this are examined as possibly stuck on the boundary.
NEAR_ZERO = 1e-2
#: Relative SDs at which points inside are tried.
LADDER = (0.02, 0.1, 0.3, 1.0)
#: Step of the gradient differences that measure the curvature at the boundary.
CURVATURE_STEP = 1e-3
#: Rounds of escape-and-search at most (each round can only lower the deviance).
MAX_ROUNDS = 4


@dataclass(frozen=True)
class Probe:
    """The best point inside found next to a boundary end point."""

    x: np.ndarray
    value: float


def zero_columns(
    layout: ParameterLayout, x: np.ndarray, scale: np.ndarray | None = None
) -> list[np.ndarray]:
    """Parameter indices of every factor column whose (scaled) diagonal entry is near zero."""
    scale = np.ones(x.shape[0]) if scale is None else scale
    columns = []
    for level in layout.levels:
        for column in np.unique(level.cols):
            entries = level.start + np.flatnonzero(level.cols == column)
            diagonal = level.start + int(
                np.flatnonzero((level.rows == column) & (level.cols == column))[0]
            )
            if abs(x[diagonal] * scale[diagonal]) < NEAR_ZERO:
                # the diagonal first: directions below are built in this order
                columns.append(np.concatenate([[diagonal], entries[entries != diagonal]]))
    return columns


def _negative_curvature(
    value_and_gradient: Callable[[np.ndarray], tuple[float, np.ndarray]],
    x: np.ndarray,
    gradient: np.ndarray,
    entries: np.ndarray,
    scale: np.ndarray,
) -> np.ndarray | None:
    """Unit direction (scaled) in the column's entries along which the deviance curves down."""
    size = entries.size
    hessian = np.empty((size, size))
    for k, index in enumerate(entries):
        shifted = x.copy()
        shifted[index] += CURVATURE_STEP / scale[index]
        try:
            shifted_gradient = value_and_gradient(shifted)[1]
        except np.linalg.LinAlgError:
            return None
        # the Hessian in scaled coordinates: d g_s / d x_s with g_s = g / scale
        hessian[:, k] = (shifted_gradient[entries] - gradient[entries]) / (
            scale[entries] * CURVATURE_STEP
        )
    eigenvalues, eigenvectors = np.linalg.eigh(0.5 * (hessian + hessian.T))
    if eigenvalues[0] >= 0.0:
        return None
    direction = eigenvectors[:, 0]
    return direction if direction[0] >= 0.0 else -direction


def probe_inside(
    value_and_gradient: Callable[[np.ndarray], tuple[float, np.ndarray]],
    layout: ParameterLayout,
    x: np.ndarray,
    value: float,
    gradient: np.ndarray,
    scale: np.ndarray | None = None,
) -> Probe | None:
    """The lowest point inside found next to the boundary end point ``x``, if lower.

    The zero columns are moved inside one after another, each from the point the previous
    ones reached, so that one continued search can leave them all. Returns None when ``x``
    has no zero column, or when no point tried improves on ``value`` beyond rounding
    (``1e-10 (1 + |value|)``): then ``x`` is a genuine boundary optimum (a singular fit, as
    lme4 would report it).
    """
    scale = np.ones(len(x)) if scale is None else scale
    best = Probe(np.asarray(x, dtype=float), float(value))
    best_gradient = gradient
    for entries in zero_columns(layout, x, scale):
        directions = [np.eye(entries.size)[0]]
        curved = _negative_curvature(
            value_and_gradient, best.x, best_gradient, entries, scale
        )
        if curved is not None:
            directions.append(curved)
        threshold = best.value - 1e-10 * (1.0 + abs(best.value))
        column_best: tuple[np.ndarray, float, np.ndarray] | None = None
        for direction in directions:
            for size in LADDER:
                trial = best.x.copy()
                trial[entries] += size * direction / scale[entries]
                try:
                    trial_value, trial_gradient = value_and_gradient(trial)
                except np.linalg.LinAlgError:
                    continue
                if trial_value < threshold and (
                    column_best is None or trial_value < column_best[1]
                ):
                    column_best = (trial, trial_value, trial_gradient)
        if column_best is not None:
            best = Probe(column_best[0], column_best[1])
            best_gradient = column_best[2]
    return None if best.value >= value else best


def settle_on_boundary(
    value_and_gradient: Callable[[np.ndarray], tuple[float, np.ndarray]],
    layout: ParameterLayout,
    x: np.ndarray,
    value: float,
    scale: np.ndarray | None = None,
) -> tuple[np.ndarray, float, np.ndarray] | None:
    """``x`` with its near-zero diagonal entries set to exactly 0, where that is no worse.

    A gradient search approaches a boundary optimum only asymptotically (the deviance is flat
    there); lme4 reports the boundary itself. Each near-zero diagonal is set to 0 in turn and
    kept there when the deviance does not rise. Returns the new point, its deviance and
    gradient, or None when nothing moved.
    """
    current, current_value = np.asarray(x, dtype=float), float(value)
    current_gradient: np.ndarray | None = None
    for entries in zero_columns(layout, current, scale):
        if current[entries[0]] == 0.0:
            continue
        trial = current.copy()
        trial[entries[0]] = 0.0
        try:
            trial_value, trial_gradient = value_and_gradient(trial)
        except np.linalg.LinAlgError:
            continue
        if trial_value <= current_value:
            current, current_value, current_gradient = trial, trial_value, trial_gradient
    if current_gradient is None:
        return None
    return current, current_value, current_gradient
