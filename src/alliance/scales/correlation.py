"""Correlation matrices of items: pairwise Pearson, input checks, SMCs and smoothing.

Pairwise-complete moments follow R's ``cor(x, use = "pairwise")`` / ``cov(x, use =
"pairwise")``: the correlation of two items uses the rows that answered both, with means and
standard deviations of those rows (checked against R on ``psychTools::bfi``, which has
missing responses: agreement to 1e-15 in the fixtures of ``tests/reference/psych_efa.R``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from alliance.errors import DataError
from alliance.io.validation import format_names

#: An eigenvalue of a correlation matrix below this counts as zero (singular matrix).
SINGULAR_TOLERANCE = 1e-10


def pairwise_moments(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairwise-complete covariance matrix and pair counts of the columns of ``values``.

    ``values`` is ``(n, p)`` with ``NaN`` for missing responses. Entry ``(i, j)`` of the
    covariance uses the rows observed on both ``i`` and ``j``, centred at their own means,
    divided by ``n_ij - 1`` (R's ``cov(use = "pairwise")``). Returns ``(cov, counts)``;
    pairs with fewer than two common rows get ``NaN``.
    """
    observed = ~np.isnan(values)
    if observed.all():
        centred = values - values.mean(axis=0)
        n = values.shape[0]
        counts = np.full((values.shape[1], values.shape[1]), float(n))
        return centred.T @ centred / (n - 1), counts
    mask = observed.astype(float)
    # Centre at the overall means first: it changes nothing mathematically and keeps the
    # sums below small, which avoids cancellation.
    filled = np.where(observed, values - np.nanmean(values, axis=0), 0.0)
    counts = mask.T @ mask
    sum_x = filled.T @ mask  # (i, j): sum of item i over rows where j is observed too
    sum_xy = filled.T @ filled
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = (sum_xy - sum_x * sum_x.T / counts) / (counts - 1)
    cov[counts < 2] = np.nan
    return cov, counts


def pairwise_correlation(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairwise-complete Pearson correlations and pair counts (R's ``cor(use = "pairwise")``).

    Each correlation is standardised by the standard deviations of the same common rows.
    """
    observed = ~np.isnan(values)
    if observed.all():
        cov, counts = pairwise_moments(values)
        sd = np.sqrt(np.diag(cov))
        corr = cov / np.outer(sd, sd)
    else:
        mask = observed.astype(float)
        filled = np.where(observed, values - np.nanmean(values, axis=0), 0.0)
        counts = mask.T @ mask
        sum_x = filled.T @ mask
        sum_xx = (filled**2).T @ mask
        sum_xy = filled.T @ filled
        with np.errstate(invalid="ignore", divide="ignore"):
            cov = sum_xy - sum_x * sum_x.T / counts
            var_i = sum_xx - sum_x**2 / counts
            corr = cov / np.sqrt(var_i * var_i.T)
        corr[counts < 2] = np.nan
    corr = (corr + corr.T) / 2
    np.fill_diagonal(corr, 1.0)
    return corr, counts


def check_pairs(corr: np.ndarray, counts: np.ndarray, items: tuple[str, ...]) -> None:
    """Raise :class:`DataError` for item pairs whose correlation cannot be computed."""
    bad = np.argwhere(np.triu(~np.isfinite(corr), 1))
    if bad.size == 0:
        return
    pairs = [
        f"  {items[i]!r} and {items[j]!r} ({int(counts[i, j])} rows answered both)"
        for i, j in bad[:10]
    ]
    more = f"\n  ... and {len(bad) - 10} more pairs" if len(bad) > 10 else ""
    raise DataError(
        "some item pairs have no correlation (too few rows answered both, or one item does not "
        "vary among them):\n" + "\n".join(pairs) + more + "\nRemove one item of each pair, or "
        "collect more complete responses."
    )


def correlation_from_frame(matrix: pd.DataFrame) -> tuple[np.ndarray, tuple[str, ...]]:
    """Check a correlation matrix given as a DataFrame and return it as an array with names.

    The matrix must be square, labelled by the same items in rows and columns, symmetric,
    with ones on the diagonal and every entry in [-1, 1].

    Raises
    ------
    DataError
        Naming the first offending entry and what is expected.
    """
    rows = [str(r) for r in matrix.index]
    columns = [str(c) for c in matrix.columns]
    if rows != columns:
        raise DataError(
            "a correlation matrix needs the same item names, in the same order, as row labels "
            f"and column labels; rows are {format_names(rows)}, columns {format_names(columns)}. "
            "Set the index to the column names (df.index = df.columns)."
        )
    values = matrix.to_numpy(dtype=float, na_value=np.nan)
    items = tuple(columns)
    if not np.all(np.isfinite(values)):
        i, j = (int(k) for k in np.argwhere(~np.isfinite(values))[0])
        raise DataError(
            f"the correlation matrix has a missing or infinite entry at ({items[i]!r}, "
            f"{items[j]!r}). Fill in every correlation."
        )
    asymmetry = np.abs(values - values.T)
    if asymmetry.max() > 1e-8:
        i, j = (int(k) for k in np.unravel_index(np.argmax(asymmetry), asymmetry.shape))
        raise DataError(
            f"the correlation matrix is not symmetric: ({items[i]!r}, {items[j]!r}) is "
            f"{values[i, j]!r} but ({items[j]!r}, {items[i]!r}) is {values[j, i]!r}. "
            "Correct the matrix."
        )
    diagonal = np.diag(values)
    off_unit = np.flatnonzero(np.abs(diagonal - 1) > 1e-8)
    if off_unit.size:
        i = int(off_unit[0])
        raise DataError(
            f"the diagonal of a correlation matrix must be 1, but ({items[i]!r}, {items[i]!r}) "
            f"is {diagonal[i]!r}. Convert a covariance matrix to correlations first."
        )
    if np.abs(values).max() > 1 + 1e-12:
        i, j = (int(k) for k in np.unravel_index(np.argmax(np.abs(values)), values.shape))
        raise DataError(
            f"correlation ({items[i]!r}, {items[j]!r}) is {values[i, j]!r}, outside [-1, 1]. "
            "Correct the matrix."
        )
    corr = (values + values.T) / 2
    np.fill_diagonal(corr, 1.0)
    return corr, items


def looks_like_correlation(frame: pd.DataFrame) -> bool:
    """Whether a DataFrame is a labelled correlation matrix rather than item responses.

    True when it is square, its row labels equal its column labels and its diagonal is 1
    (the test of psych's ``isCorrelation``, plus the labels).
    """
    if frame.shape[0] != frame.shape[1] or frame.shape[0] == 0:
        return False
    if [str(r) for r in frame.index] != [str(c) for c in frame.columns]:
        return False
    try:
        diagonal = np.diag(frame.to_numpy(dtype=float))
    except (TypeError, ValueError):
        return False
    return bool(np.allclose(diagonal, 1.0))


def check_positive_definite(corr: np.ndarray, items: tuple[str, ...]) -> None:
    """Raise :class:`DataError` if ``corr`` is singular, naming the items responsible.

    Items responsible are those with weight in the eigenvectors of the (near-)zero
    eigenvalues; pairs correlated at +-1 (a duplicated or reversed copy of an item) are named
    as such.
    """
    eigenvalues, eigenvectors = np.linalg.eigh(corr)
    if eigenvalues[0] > SINGULAR_TOLERANCE:
        return
    upper = np.triu(np.abs(corr), 1)
    duplicates = np.argwhere(upper > 1 - 1e-10)
    if duplicates.size:
        pairs = ", ".join(f"{items[i]!r} and {items[j]!r}" for i, j in duplicates[:10])
        raise DataError(
            f"the correlation matrix is singular: items correlate at +-1 ({pairs}), so one is a "
            "copy (or a reversed copy) of the other. Remove one item of each pair."
        )
    null = eigenvectors[:, eigenvalues <= SINGULAR_TOLERANCE]
    involved = [items[i] for i in np.flatnonzero(np.abs(null).max(axis=1) > 0.05)]
    raise DataError(
        f"the correlation matrix is singular (smallest eigenvalue {eigenvalues[0]:.3g}): the "
        f"items {format_names(involved)} are linearly dependent (one is a sum or a copy of "
        "others, or there are fewer complete rows than items). Remove the redundant items."
    )


def smc(corr: np.ndarray) -> np.ndarray:
    """Squared multiple correlations ``1 - 1/diag(R^-1)``, clipped to [0, 1] as ``psych::smc``.

    Uses the pseudo-inverse, as psych does, so that it is defined for singular matrices.
    """
    inverse = np.linalg.pinv(corr, hermitian=True)
    with np.errstate(divide="ignore"):
        values = 1.0 - 1.0 / np.diag(inverse)
    return np.clip(values, 0.0, 1.0)


def smooth_correlation(corr: np.ndarray, tolerance: float = 1e-12) -> tuple[np.ndarray, bool]:
    """``psych::cor.smooth``: make a non-positive-definite correlation matrix positive definite.

    Eigenvalues below ``tolerance`` are set to ``100 * tolerance``, all are rescaled to sum to
    the number of items, and the matrix is rebuilt and rescaled to unit diagonal. A matrix whose
    eigenvalues are all at least machine epsilon is returned unchanged. Returns the matrix and
    whether it was changed.
    """
    eigenvalues, eigenvectors = np.linalg.eigh(corr)
    if eigenvalues.min() >= np.finfo(float).eps:
        return corr, False
    eigenvalues = np.where(eigenvalues < tolerance, 100 * tolerance, eigenvalues)
    eigenvalues = eigenvalues * corr.shape[0] / eigenvalues.sum()
    rebuilt = (eigenvectors * eigenvalues) @ eigenvectors.T
    scale = 1 / np.sqrt(np.diag(rebuilt))
    smoothed = rebuilt * np.outer(scale, scale)
    smoothed = (smoothed + smoothed.T) / 2
    np.fill_diagonal(smoothed, 1.0)
    return smoothed, True
