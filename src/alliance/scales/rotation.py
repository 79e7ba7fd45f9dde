"""Factor rotation by gradient projection, with random starts; promax.

Orthogonal rotations (varimax, quartimax) use the gradient projection algorithm of Jennrich
(2001, Psychometrika 66, 289-306), oblique ones (oblimin, geomin) that of Jennrich (2002,
Psychometrika 67, 7-19), as implemented in GPArotation (Bernaards & Jennrich 2005, Educ Psychol
Meas 65, 676-696: ``GPForth`` / ``GPFoblq``, step doubling and halving, stop when the projected
gradient's norm is below ``tol``). The criteria and their gradients are GPArotation's
``vgQ.varimax``, ``vgQ.quartimax``, ``vgQ.oblimin`` (``gamma``) and ``vgQ.geomin`` (``delta``).

These criteria have local optima, so every rotation is run from the identity (psych's and
GPArotation's only start) and from ``n_starts - 1`` random orthogonal matrices drawn with a
fixed seed (GPArotation's ``Random.Start``: the Q factor of a normal matrix); the solution with
the smallest criterion is kept (the identity start wins ties), and iterated further if it had
not converged within ``max_iter`` iterations.

Promax is psych's ``promax``: Kaiser-normalise the rows, varimax, raise to ``power`` (4), fit
the target by least squares (Hendrickson & White 1964), un-normalise. Kaiser normalisation
otherwise follows the defaults psych uses: on for varimax (``stats::varimax``) and promax
(``psych::kaiser``), off for quartimax, oblimin and geomin (GPArotation).

Finally, as ``psych::fa`` does, each factor is signed so that its loadings sum to a positive
value and factors are ordered by the variance they account for, ``diag(Phi L'L)``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from alliance.errors import ConvergenceWarning, SpecificationError

ROTATIONS: tuple[str, ...] = ("none", "varimax", "quartimax", "promax", "oblimin", "geomin")
ORTHOGONAL: frozenset[str] = frozenset({"none", "varimax", "quartimax"})
#: Kaiser normalisation psych applies by default, per rotation.
PSYCH_NORMALIZE: dict[str, bool] = {
    "none": False,
    "varimax": True,
    "quartimax": False,
    "promax": True,
    "oblimin": False,
    "geomin": False,
}

Criterion = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
#: How many more rounds of max_iter iterations the best start may get if it has not converged.
_RESUMES = 9


@dataclass(frozen=True)
class Rotation:
    """A rotated solution and how it was found.

    Attributes
    ----------
    loadings
        Read-only ``(p, k)`` rotated loadings (pattern matrix), signed and ordered.
    phi
        Read-only ``(k, k)`` factor correlations (identity for orthogonal rotations).
    matrix
        Read-only ``(k, k)`` matrix ``T`` with ``unrotated @ T == loadings``.
    method, orthogonal, normalized
        Rotation, whether it keeps factors uncorrelated, whether rows were Kaiser-normalised.
    criterion
        Criterion value of the solution kept (for promax: of its varimax step; 0 for none).
    start_criteria
        Criterion reached from each start (identity first).
    best_start
        Index of the start kept.
    iterations, converged
        Of the start kept.
    """

    loadings: np.ndarray
    phi: np.ndarray
    matrix: np.ndarray
    method: str
    orthogonal: bool
    normalized: bool
    criterion: float
    start_criteria: tuple[float, ...]
    best_start: int
    iterations: int
    converged: bool


def rotate(
    loadings: np.ndarray,
    method: str = "oblimin",
    *,
    gamma: float = 0.0,
    delta: float = 0.01,
    power: int = 4,
    normalize: bool | None = None,
    n_starts: int = 10,
    seed: int = 20240501,
    tol: float = 1e-6,
    max_iter: int = 1000,
) -> Rotation:
    """Rotate unrotated loadings.

    Parameters
    ----------
    loadings
        ``(p, k)`` unrotated loadings.
    method
        ``"none"``, ``"varimax"``, ``"quartimax"``, ``"promax"``, ``"oblimin"`` or ``"geomin"``.
    gamma
        Oblimin's gamma (0 quartimin, 0.5 biquartimin, 1 covarimin).
    delta
        Geomin's delta (GPArotation's default 0.01).
    power
        Promax power (psych's 4).
    normalize
        Kaiser normalisation; ``None`` uses psych's default for the rotation.
    n_starts
        Starts of the gradient projection: the identity plus ``n_starts - 1`` random ones.
    seed
        Seed of the random starts.
    tol, max_iter
        Stop when the projected gradient's Frobenius norm is below ``tol`` (GPArotation's
        ``eps``, default there 1e-5) or after ``max_iter`` iterations.

    Raises
    ------
    SpecificationError
        Unknown rotation, ``n_starts < 1``, or ``gamma`` given for a rotation other than oblimin.
    """
    if method not in ROTATIONS:
        raise SpecificationError(
            f"rotation={method!r} is not available; use one of {', '.join(ROTATIONS)}."
        )
    if gamma != 0 and method != "oblimin":
        raise SpecificationError(
            f"gamma={gamma} applies to the oblimin rotation only, not to {method!r}. "
            "Drop gamma or use rotation='oblimin'."
        )
    if n_starts < 1:
        raise SpecificationError(
            f"n_starts must be at least 1 (the identity start); got {n_starts}."
        )
    a = np.asarray(loadings, dtype=float)
    k = a.shape[1]
    normalized = PSYCH_NORMALIZE[method] if normalize is None else bool(normalize)
    if method == "none" or k == 1:
        identity = np.eye(k)
        name = "none" if k == 1 else method
        return _finish(a, identity, identity, name, True, False, 0.0, (0.0,), 0, 0, True)
    weights = np.sqrt(np.sum(a**2, axis=1))[:, None] if normalized else np.ones((a.shape[0], 1))
    scaled = a / weights
    criterion: Criterion
    if method in ORTHOGONAL or method == "promax":
        criterion = _quartimax if method == "quartimax" else _varimax
        optimise = _gpa_orthogonal
    else:
        criterion = _oblimin(gamma, a.shape[0]) if method == "oblimin" else _geomin(delta)
        optimise = _gpa_oblique
    starts, values, counts, done = optimise(
        scaled, _starts(k, n_starts, seed), criterion, tol, max_iter
    )
    start_criteria = tuple(float(v) for v in values)
    # The lowest criterion wins (the earliest start on ties). A start still descending when
    # max_iter ran out may be heading for the best optimum (geomin converges slowly in some
    # basins), so the winner is iterated further if it has not converged.
    best = min(range(n_starts), key=lambda i: (round(start_criteria[i], 10), i))
    t, value, iterations, converged = starts[best], values[best], counts[best], done[best]
    for _ in range(_RESUMES):
        if converged:
            break
        more_t, more_values, more_counts, more_done = optimise(
            scaled, t[None], criterion, tol, max_iter
        )
        t, value, converged = more_t[0], more_values[0], more_done[0]
        iterations += more_counts[0]
    if not converged:
        warnings.warn(
            f"{method} rotation did not converge in {(_RESUMES + 1) * max_iter} iterations; "
            "the loadings may be inaccurate. Raise max_iter or use fewer factors.",
            ConvergenceWarning,
            stacklevel=2,
        )
    if method == "promax":
        t = t @ _promax_target(scaled @ t, power)
    matrix = t if method in ORTHOGONAL or method == "promax" else np.linalg.inv(t).T
    inverse = np.linalg.inv(matrix)
    return _finish(
        a, matrix, inverse @ inverse.T, method, method in ORTHOGONAL, normalized,
        float(value), start_criteria, best, int(iterations), bool(converged),
    )  # fmt: skip


def _finish(
    a: np.ndarray,
    matrix: np.ndarray,
    phi: np.ndarray,
    method: str,
    orthogonal: bool,
    normalized: bool,
    criterion: float,
    start_criteria: tuple[float, ...],
    best_start: int,
    iterations: int,
    converged: bool,
) -> Rotation:
    """Sign columns to positive sums, order by variance accounted for (psych::fa)."""
    rotated = a @ matrix
    signs = np.sign(rotated.sum(axis=0))
    signs[signs == 0] = 1
    rotated = rotated * signs
    matrix = matrix * signs
    phi = phi * np.outer(signs, signs)
    if orthogonal:
        phi = np.eye(a.shape[1])
    variance = np.diag(phi @ rotated.T @ rotated)
    order = np.argsort(-variance, kind="stable")
    rotated, matrix, phi = rotated[:, order], matrix[:, order], phi[np.ix_(order, order)]
    phi = (phi + phi.T) / 2
    np.fill_diagonal(phi, 1.0)
    for array in (rotated, matrix, phi):
        array.setflags(write=False)
    return Rotation(
        loadings=rotated,
        phi=phi,
        matrix=matrix,
        method=method,
        orthogonal=orthogonal,
        normalized=normalized,
        criterion=float(criterion),
        start_criteria=start_criteria,
        best_start=best_start,
        iterations=iterations,
        converged=converged,
    )


def _starts(k: int, n_starts: int, seed: int) -> np.ndarray:
    """``(n_starts, k, k)``: the identity, then random orthogonal matrices (GPArotation's
    ``Random.Start``, the Q factor of a standard normal matrix)."""
    rng = np.random.default_rng(seed)
    starts = [np.eye(k)]
    for _ in range(n_starts - 1):
        q, _r = np.linalg.qr(rng.standard_normal((k, k)))
        starts.append(q)
    return np.stack(starts)


# The two algorithms run all starts at once: arrays carry a leading axis over starts, and each
# start keeps its own step size, iteration count and convergence flag, exactly as if it ran
# alone (a start that has converged or run out of iterations is left untouched).
GPAResult = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _gpa_orthogonal(
    a: np.ndarray, t: np.ndarray, criterion: Criterion, tol: float, max_iter: int
) -> GPAResult:
    """GPArotation's ``GPForth`` from each start ``t[i]``: minimise ``criterion(A T)`` over
    orthogonal ``T``. Returns the matrices, criterion values, iterations and convergence."""
    t = t.copy()
    f, gq = criterion(a @ t)
    g = a.T @ gq
    return _iterate(a, t, f, g, criterion, tol, max_iter, _orthogonal_step)


def _gpa_oblique(
    a: np.ndarray, t: np.ndarray, criterion: Criterion, tol: float, max_iter: int
) -> GPAResult:
    """GPArotation's ``GPFoblq`` from each start ``t[i]``: minimise ``criterion(A T'^-1)`` over
    ``T`` with unit-length columns."""
    t = t.copy()
    t_inv = np.linalg.inv(t)
    rotated = a @ np.swapaxes(t_inv, -1, -2)
    f, gq = criterion(rotated)
    g = -np.swapaxes(np.swapaxes(rotated, -1, -2) @ gq @ t_inv, -1, -2)
    return _iterate(a, t, f, g, criterion, tol, max_iter, _oblique_step)


Step = Callable[
    [np.ndarray, np.ndarray, np.ndarray, Criterion],
    tuple[np.ndarray, np.ndarray, np.ndarray],
]


def _orthogonal_step(
    a: np.ndarray, t: np.ndarray, moved: np.ndarray, criterion: Criterion
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Project ``moved`` back onto orthogonal matrices; criterion and gradient there."""
    u, _sv, vt = np.linalg.svd(moved)
    t_new = u @ vt
    f_new, gq = criterion(a @ t_new)
    return t_new, f_new, a.T @ gq


def _oblique_step(
    a: np.ndarray, t: np.ndarray, moved: np.ndarray, criterion: Criterion
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rescale the columns of ``moved`` to unit length; criterion and gradient there."""
    t_new = moved / np.sqrt((moved * moved).sum(axis=-2, keepdims=True))
    t_inv = np.linalg.inv(t_new)
    rotated = a @ np.swapaxes(t_inv, -1, -2)
    f_new, gq = criterion(rotated)
    g = -np.swapaxes(np.swapaxes(rotated, -1, -2) @ gq @ t_inv, -1, -2)
    return t_new, f_new, g


def _iterate(
    a: np.ndarray,
    t: np.ndarray,
    f: np.ndarray,
    g: np.ndarray,
    criterion: Criterion,
    tol: float,
    max_iter: int,
    step: Step,
) -> GPAResult:
    """The gradient-projection loop of GPArotation, vectorised over starts.

    Per start: project the gradient (``Gp``), stop if its norm is below ``tol``; else double
    the step ``alpha`` and halve it up to 11 times until the criterion falls by at least
    ``0.5 |Gp|^2 alpha`` (GPArotation keeps the last candidate if none does).
    """
    orthogonal = step is _orthogonal_step
    n = t.shape[0]
    alpha = np.ones(n)
    iterations = np.zeros(n, dtype=int)
    converged = np.zeros(n, dtype=bool)
    while True:
        if orthogonal:
            m = np.swapaxes(t, -1, -2) @ g
            gp = g - t @ ((m + np.swapaxes(m, -1, -2)) / 2)
        else:
            gp = g - t * (t * g).sum(axis=-2, keepdims=True)
        norm = np.sqrt((gp * gp).sum(axis=(-2, -1)))
        converged |= norm < tol
        active = np.flatnonzero(~converged & (iterations < max_iter))
        if active.size == 0:
            return t, f, iterations, converged
        iterations[active] += 1
        alpha[active] *= 2
        new_t, new_f, new_g = t[active].copy(), f[active].copy(), g[active].copy()
        pending = np.arange(active.size)
        for _ in range(11):
            rows = active[pending]
            moved = t[rows] - alpha[rows, None, None] * gp[rows]
            cand_t, cand_f, cand_g = step(a, t[rows], moved, criterion)
            new_t[pending], new_f[pending], new_g[pending] = cand_t, cand_f, cand_g
            accepted = f[rows] - cand_f > 0.5 * norm[rows] ** 2 * alpha[rows]
            alpha[rows[~accepted]] /= 2
            pending = pending[~accepted]
            if pending.size == 0:
                break
        t[active], f[active], g[active] = new_t, new_f, new_g


def _promax_target(x: np.ndarray, power: int) -> np.ndarray:
    """psych's ``Promax`` step after varimax: ``U`` with ``x @ U`` the promax pattern."""
    target = x * np.abs(x) ** (power - 1)
    u = np.linalg.lstsq(x, target, rcond=None)[0]
    d = np.diag(np.linalg.inv(u.T @ u))
    return u * np.sqrt(d)


# Criteria of GPArotation (vgQ.*): value and gradient with respect to the loadings. They act
# on the last two axes, so a stack of loading matrices gives a vector of values.


def _varimax(loadings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    squared = loadings * loadings
    centred = squared - squared.mean(axis=-2, keepdims=True)
    return -(centred * centred).sum(axis=(-2, -1)) / 4, -loadings * centred


def _quartimax(loadings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    cubed = loadings**3
    return -(cubed * loadings).sum(axis=(-2, -1)) / 4, -cubed


def _oblimin(gamma: float, p: int) -> Criterion:
    def criterion(loadings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        squared = loadings * loadings
        x = squared.sum(axis=-1, keepdims=True) - squared  # L^2 (J - I)
        if gamma != 0:
            x = x - gamma / p * x.sum(axis=-2, keepdims=True)
        return (squared * x).sum(axis=(-2, -1)) / 4, loadings * x

    return criterion


def _geomin(delta: float) -> Criterion:
    def criterion(loadings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        k = loadings.shape[-1]
        shifted = loadings * loadings + delta
        product = np.exp(np.log(shifted).sum(axis=-1) / k)
        return product.sum(axis=-1), (2 / k) * loadings / shifted * product[..., None]

    return criterion
