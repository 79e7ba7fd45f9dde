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


def central_hessian(gradient: Callable[[np.ndarray], np.ndarray], values: np.ndarray,
                    steps: np.ndarray, index: np.ndarray | None = None) -> np.ndarray:
    """Symmetrised central-difference Hessian of the function whose gradient is ``gradient``.

    Parameters
    ----------
    gradient : callable
        ``x -> g(x)``, the exact gradient (all coordinates).
    values : numpy.ndarray
        The point ``x``.
    steps : numpy.ndarray
        The step ``h_k`` of each coordinate differenced.
    index : numpy.ndarray, optional
        The coordinates to difference (all when None); the Hessian is over these only.
    """
    values = np.asarray(values, dtype=float)
    chosen = np.arange(len(values)) if index is None else np.asarray(index)
    hessian = np.empty((len(chosen), len(chosen)))
    for column, k in enumerate(chosen):
        plus, minus = values.copy(), values.copy()
        plus[k] += steps[column]
        minus[k] -= steps[column]
        hessian[:, column] = (gradient(plus)[chosen] - gradient(minus)[chosen]) / (
            2.0 * steps[column])
    return 0.5 * (hessian + hessian.T)
