"""Factor extraction from a correlation matrix: minres, maximum likelihood, principal axis.

Each method follows ``psych::fa`` 2.2.9 (function ``fac``), so that the unrotated loadings
are the ones psych rotates:

* ``minres``: the uniquenesses ``psi`` minimise the unweighted least-squares discrepancy
  ``||R - diag(psi) - L L'||^2`` with ``L L'`` the best rank-``k`` approximation of
  ``R - diag(psi)`` (Harman & Jones 1966; equal to the minimum off-diagonal residual solution).
  The objective is the sum of squares of the eigenvalues of ``R - diag(psi)`` left out of the
  approximation, its gradient ``-2 diag(R - diag(psi) - L L')``; L-BFGS-B with
  ``0.005 <= psi <= 1``, started at ``1 - SMC``, as psych.
* ``ml``: the uniquenesses minimise the ML discrepancy of ``stats::factanal`` / psych
  (Joreskog 1967), ``-sum_{j>k} (log e_j - e_j) - k + p`` with ``e`` the eigenvalues of
  ``psi^-1/2 R psi^-1/2``; same bounds and start.
* ``pa``: iterated principal axes from SMC communalities, stopped as psych stops it: when the
  sum of communalities changes by less than ``tol`` (psych's ``min.err = 0.001``) or after
  ``max_iter`` (psych's ``max.iter = 50``) iterations. With these defaults the result is
  psych's, not the fully converged solution; pass a smaller ``tol`` for that.

Loadings are then signed so that each column sums to a positive value. Checked against psych on
``bfi`` (25 items, 5 factors) and ``Harman74.cor``: see ``tests/scales/test_efa.py``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from alliance.errors import ConvergenceWarning, SpecificationError
from alliance.scales.correlation import smc

METHODS: tuple[str, ...] = ("minres", "ml", "pa")
#: psych's bounds on the uniquenesses in minres and ML.
LOWER_UNIQUENESS = 0.005
UPPER_UNIQUENESS = 1.0


@dataclass(frozen=True)
class Extraction:
    """Unrotated factor solution and how it was obtained.

    Attributes
    ----------
    loadings
        Read-only ``(p, k)`` unrotated loadings, columns signed to positive sums.
    communalities
        ``diag(L L')``.
    reduced_eigenvalues
        Eigenvalues of ``R`` with the communalities on its diagonal (psych's ``values``).
    method, iterations, converged, objective, message
        The optimiser's (or the principal-axis loop's) record.
    """

    loadings: np.ndarray
    communalities: np.ndarray
    reduced_eigenvalues: np.ndarray
    method: str
    iterations: int
    converged: bool
    objective: float
    message: str


def extract(
    corr: np.ndarray,
    n_factors: int,
    method: str = "minres",
    *,
    tol: float = 0.001,
    max_iter: int = 50,
) -> Extraction:
    """Unrotated loadings of ``n_factors`` factors of the correlation matrix ``corr``.

    Parameters
    ----------
    corr
        ``(p, p)`` correlation matrix (positive definite for ``ml``).
    n_factors
        Number of factors, ``1 <= n_factors <= p``.
    method
        ``"minres"``, ``"ml"`` or ``"pa"`` (see the module documentation).
    tol, max_iter
        Principal axis only: stop when the sum of communalities changes by less than ``tol``
        or after ``max_iter`` iterations (psych's ``min.err`` and ``max.iter``).

    Raises
    ------
    SpecificationError
        An unknown method.
    """
    if method not in METHODS:
        raise SpecificationError(
            f"method={method!r} is not an extraction method; use one of {', '.join(METHODS)}."
        )
    if method == "pa":
        loadings, iterations, converged, objective, message = _principal_axis(
            corr, n_factors, tol, max_iter
        )
    else:
        loadings, iterations, converged, objective, message = _fit_uniquenesses(
            corr, n_factors, method
        )
    signs = np.sign(loadings.sum(axis=0))
    signs[signs == 0] = 1
    loadings = loadings * signs
    communalities = np.sum(loadings**2, axis=1)
    reduced = corr.copy()
    np.fill_diagonal(reduced, communalities)
    reduced_eigenvalues = np.linalg.eigvalsh(reduced)[::-1].copy()
    for array in (loadings, communalities, reduced_eigenvalues):
        array.setflags(write=False)
    return Extraction(
        loadings=loadings,
        communalities=communalities,
        reduced_eigenvalues=reduced_eigenvalues,
        method=method,
        iterations=iterations,
        converged=converged,
        objective=objective,
        message=message,
    )


def _top_eigen(matrix: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` largest eigenvalues (descending) and their eigenvectors."""
    values, vectors = np.linalg.eigh(matrix)
    return values[::-1], vectors[:, ::-1][:, :k]


def _uls_objective(psi: np.ndarray, corr: np.ndarray, k: int) -> tuple[float, np.ndarray]:
    reduced = corr - np.diag(psi)
    values, vectors = _top_eigen(reduced, k)
    loadings = vectors * np.sqrt(np.maximum(values[:k], 0.0))
    residual = reduced - loadings @ loadings.T
    return float(np.sum(residual**2)), -2.0 * np.diag(residual)


def _ml_objective(psi: np.ndarray, corr: np.ndarray, k: int) -> tuple[float, np.ndarray]:
    scale = 1 / np.sqrt(psi)
    values, vectors = _top_eigen(corr * np.outer(scale, scale), k)
    rest = values[k:]
    objective = -float(np.sum(np.log(rest) - rest)) - k + corr.shape[0]
    loadings = np.sqrt(psi)[:, None] * vectors * np.sqrt(np.maximum(values[:k] - 1, 0.0))
    gradient = np.diag(loadings @ loadings.T + np.diag(psi) - corr) / psi**2
    return objective, gradient


def _fit_uniquenesses(
    corr: np.ndarray, k: int, method: str
) -> tuple[np.ndarray, int, bool, float, str]:
    objective = _uls_objective if method == "minres" else _ml_objective
    start = np.clip(1 - smc(corr), LOWER_UNIQUENESS, UPPER_UNIQUENESS)
    found = minimize(
        objective,
        start,
        args=(corr, k),
        jac=True,
        method="L-BFGS-B",
        bounds=[(LOWER_UNIQUENESS, UPPER_UNIQUENESS)] * corr.shape[0],
        options={"maxiter": 5000, "ftol": 1e-15, "gtol": 1e-10, "maxcor": 20},
    )
    psi = found.x
    if method == "minres":
        values, vectors = _top_eigen(corr - np.diag(psi), k)
        loadings = vectors * np.sqrt(np.maximum(values[:k], 0.0))
    else:
        scale = 1 / np.sqrt(psi)
        values, vectors = _top_eigen(corr * np.outer(scale, scale), k)
        loadings = np.sqrt(psi)[:, None] * vectors * np.sqrt(np.maximum(values[:k] - 1, 0.0))
    # L-BFGS-B reports "ABNORMAL" line-search ends at an optimum reached to machine precision;
    # besides its own success (relative reduction of f below ftol), accept a vanishing
    # projected gradient.
    gradient = found.jac
    free = ((psi > LOWER_UNIQUENESS + 1e-8) | (gradient < 0)) & (
        (psi < UPPER_UNIQUENESS - 1e-8) | (gradient > 0)
    )
    converged = bool(found.success) or bool(np.all(np.abs(gradient[free]) < 1e-5))
    if not converged:
        warnings.warn(
            f"{method} extraction of {k} factors did not converge ({found.message}); "
            "the loadings may be inaccurate. Try fewer factors or another method.",
            ConvergenceWarning,
            stacklevel=3,
        )
    return loadings, int(found.nit), converged, float(found.fun), str(found.message)


def _principal_axis(
    corr: np.ndarray, k: int, tol: float, max_iter: int
) -> tuple[np.ndarray, int, bool, float, str]:
    reduced = corr.copy()
    np.fill_diagonal(reduced, smc(corr))
    total = float(np.trace(reduced))
    iteration = 0
    change = np.inf
    loadings = np.zeros((corr.shape[0], k))
    while change > tol and iteration < max_iter:
        iteration += 1
        values, vectors = _top_eigen(reduced, k)
        if np.any(values[:k] < 0):
            raise SpecificationError(
                f"principal axis extraction of {k} factors met a negative eigenvalue of the "
                "reduced correlation matrix (more factors than the data support). Use fewer "
                "factors or method='minres'."
            )
        loadings = vectors * np.sqrt(values[:k])
        communalities = np.sum(loadings**2, axis=1)
        new_total = float(communalities.sum())
        change = abs(total - new_total)
        total = new_total
        np.fill_diagonal(reduced, communalities)
    converged = change <= tol
    if not converged:
        warnings.warn(
            f"principal axis extraction stopped after max_iter={max_iter} iterations with the "
            f"sum of communalities still changing by {change:.3g} (> tol={tol}). Raise max_iter "
            "or use method='minres'.",
            ConvergenceWarning,
            stacklevel=3,
        )
    message = f"sum of communalities changed by {change:.3g} in the last iteration"
    return loadings, iteration, bool(converged), change, message
