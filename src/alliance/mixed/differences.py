"""Hessians as central differences of an exact gradient.

The engine computes the deviance's gradient exactly (the adjoint of the elimination); its
Hessian, needed for Satterthwaite's df (:mod:`alliance.mixed.inference`) and for the
large-sample covariance of the variance parameters (:mod:`alliance.mixed.intervals`), is the
central difference of that gradient, ``H[:, k] = (g(x + h_k e_k) - g(x - h_k e_k)) / (2 h_k)``,
symmetrised. With exact gradients and ``h_k`` about ``1e-4`` of the parameter's scale the
truncation error is about ``1e-8`` relative, as numDeriv's Richardson extrapolation that
lmerTest uses.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def central_columns(gradient: Callable[[np.ndarray], np.ndarray], values: np.ndarray,
                    steps: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """Central differences of ``gradient`` along the coordinates ``columns``: Hessian columns.

    Parameters
    ----------
    gradient : callable
        ``x -> g(x)``, the exact gradient (all coordinates).
    values : numpy.ndarray
        The point ``x``.
    steps : numpy.ndarray
        The step ``h_k`` of every coordinate (indexed like ``values``).
    columns : numpy.ndarray
        The coordinates ``k`` to difference.

    Returns
    -------
    numpy.ndarray
        ``(g(x + h_k e_k) - g(x - h_k e_k)) / (2 h_k)`` as column ``j`` for ``k = columns[j]``,
        not symmetrised.
    """
    values = np.asarray(values, dtype=float)
    out = np.empty((len(values), len(columns)))
    for column, k in enumerate(columns):
        plus, minus = values.copy(), values.copy()
        plus[k] += steps[k]
        minus[k] -= steps[k]
        out[:, column] = (gradient(plus) - gradient(minus)) / (2.0 * steps[k])
    return out


def central_hessian(gradient: Callable[[np.ndarray], np.ndarray], values: np.ndarray,
                    steps: np.ndarray, index: np.ndarray | None = None) -> np.ndarray:
    """Symmetrised central-difference Hessian of the function whose gradient is ``gradient``.

    ``gradient`` and ``values`` as in :func:`central_columns`; ``steps`` holds the step of each
    coordinate differenced, ``index`` those coordinates (all when None), over which alone the
    Hessian is taken.
    """
    values = np.asarray(values, dtype=float)
    chosen = np.arange(len(values)) if index is None else np.asarray(index)
    every_step = np.zeros(len(values))
    every_step[chosen] = steps
    hessian = central_columns(gradient, values, every_step, chosen)[chosen]
    return 0.5 * (hessian + hessian.T)
