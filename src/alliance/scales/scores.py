"""Factor score weights, exportable and applicable to new respondents.

A factor score is ``z W``: the respondent's standardised item responses ``z = (x - mean) / sd``
times a weight matrix ``W``. Three estimators, with psych's formulas (``psych::factor.scores``,
following Grice 2001, Psychol Methods 6, 430-450):

* ``"regression"`` (Thurstone 1935): ``W = R^-1 S`` with ``S = L Phi`` the structure matrix;
* ``"bartlett"`` (Bartlett 1937): ``W = U^-2 L (L' U^-2 L)^-1``, ``U^2 = 1 - diag(L Phi L')``;
* ``"tenberge"`` (ten Berge, Krijnen, Wansbeek & Shapiro 1999): correlation-preserving,
  ``W = R^-1/2 C Phi^1/2`` with ``C = R^-1/2 L* (L*' R^-1 L*)^-1/2`` and ``L* = L Phi^1/2``.

:class:`ScoringWeights` keeps ``W`` together with the item means and standard deviations
(``ddof = 1``) of the sample the factors were estimated in, so that a reference solution
(say 4,828 therapists) can score a new sample (say 70 study therapists) on the same metric:
the new responses are standardised with the *reference* means and SDs. On the fitting sample
itself this gives psych's ``fa(...)$scores`` (checked to 1e-4 on ``bfi``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from alliance.errors import DataError, SpecificationError
from alliance.io.validation import require_numeric
from alliance.scales.correlation import smooth_correlation
from alliance.scales.items import list_rows

SCORE_METHODS: tuple[str, ...] = ("regression", "bartlett", "tenberge")
SCORE_MISSING: tuple[str, ...] = ("error", "propagate")


@dataclass(frozen=True)
class ScoringWeights:
    """Everything needed to score respondents on factors estimated elsewhere.

    Attributes
    ----------
    items
        Item names, in the order of the rows of ``weights``.
    factors
        Factor names, in the order of the columns of ``weights``.
    method
        ``"regression"``, ``"bartlett"`` or ``"tenberge"``.
    means, sds
        Read-only item means and standard deviations of the reference sample.
    weights
        Read-only ``(n_items, n_factors)`` weights applied to standardised responses.
    """

    items: tuple[str, ...]
    factors: tuple[str, ...]
    method: str
    means: np.ndarray
    sds: np.ndarray
    weights: np.ndarray

    def score(self, data: pd.DataFrame, *, missing: str = "error") -> pd.DataFrame:
        """Factor scores of the respondents in ``data`` (one row per respondent).

        Parameters
        ----------
        data
            Must contain every item (extra columns are ignored); the index is kept.
        missing
            ``"error"`` (default) raises if a respondent skipped an item, naming the rows;
            ``"propagate"`` gives that respondent missing (``NaN``) scores.

        Raises
        ------
        DataError
            Missing item columns (named), non-numeric items, or (with ``missing="error"``)
            rows with missing responses.
        """
        if missing not in SCORE_MISSING:
            raise SpecificationError(
                f"missing={missing!r}: use 'error' or 'propagate' (missing scores for "
                "respondents who skipped an item)."
            )
        if not isinstance(data, pd.DataFrame):
            raise DataError(f"data to score must be a pandas DataFrame, not {type(data).__name__}.")
        absent = [item for item in self.items if item not in data.columns]
        if absent:
            raise DataError(
                f"the data to score lack {len(absent)} of the {len(self.items)} items the "
                f"weights need: {', '.join(repr(a) for a in absent)}. Score only data that "
                "contain every item of the reference solution (same column names)."
            )
        for item in self.items:
            require_numeric(data, item, source="data to score")
        values = data.loc[:, list(self.items)].to_numpy(dtype=float, na_value=np.nan)
        incomplete = np.flatnonzero(np.isnan(values).any(axis=1))
        if incomplete.size and missing == "error":
            raise DataError(
                f"{incomplete.size} of {values.shape[0]} respondents skipped at least one item "
                f"({'rows' if incomplete.size > 1 else 'row'} {list_rows(incomplete)}, counted "
                "from 1). Complete or remove those rows, "
                "or pass missing='propagate' to give them missing scores."
            )
        scores = ((values - self.means) / self.sds) @ self.weights
        return pd.DataFrame(scores, index=data.index, columns=list(self.factors))

    def to_frame(self) -> pd.DataFrame:
        """One row per item: its reference mean and SD and its weight on each factor."""
        frame = pd.DataFrame(self.weights, index=list(self.items), columns=list(self.factors))
        frame.insert(0, "sd", self.sds)
        frame.insert(0, "mean", self.means)
        frame.index.name = "item"
        return frame

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (JSON-ready); :meth:`from_dict` restores it."""
        return {
            "method": self.method,
            "items": list(self.items),
            "factors": list(self.factors),
            "means": self.means.tolist(),
            "sds": self.sds.tolist(),
            "weights": self.weights.tolist(),
        }

    @classmethod
    def from_dict(cls, payload: Mapping[str, Any]) -> ScoringWeights:
        """Rebuild weights written by :meth:`to_dict`, checking their shapes.

        Raises
        ------
        DataError
            A missing key or arrays whose shapes do not match the items and factors.
        """
        needed = ("method", "items", "factors", "means", "sds", "weights")
        lacking = [key for key in needed if key not in payload]
        if lacking:
            raise DataError(
                f"scoring weights lack {', '.join(lacking)}; expected the keys "
                f"{', '.join(needed)} as written by ScoringWeights.to_dict()."
            )
        items = tuple(str(i) for i in payload["items"])
        factors = tuple(str(f) for f in payload["factors"])
        means = np.asarray(payload["means"], dtype=float)
        sds = np.asarray(payload["sds"], dtype=float)
        weights = np.asarray(payload["weights"], dtype=float)
        p, k = len(items), len(factors)
        if means.shape != (p,) or sds.shape != (p,) or weights.shape != (p, k):
            raise DataError(
                f"scoring weights are inconsistent: {p} items and {k} factors need means and "
                f"sds of length {p} and weights of shape ({p}, {k}); got {means.shape}, "
                f"{sds.shape} and {weights.shape}."
            )
        return make_weights(items, factors, str(payload["method"]), means, sds, weights)


def make_weights(
    items: tuple[str, ...],
    factors: tuple[str, ...],
    method: str,
    means: np.ndarray,
    sds: np.ndarray,
    weights: np.ndarray,
) -> ScoringWeights:
    """Build :class:`ScoringWeights` with read-only copies of the arrays, checking the SDs."""
    if method not in SCORE_METHODS:
        raise SpecificationError(
            f"scoring method {method!r} is unknown; use one of {', '.join(SCORE_METHODS)}."
        )
    bad = [item for item, sd in zip(items, sds, strict=True) if not (np.isfinite(sd) and sd > 0)]
    if bad:
        raise DataError(
            f"item standard deviations must be positive; not so for {', '.join(map(repr, bad))}."
        )
    arrays = [np.array(a, dtype=float) for a in (means, sds, weights)]
    for array in arrays:
        array.setflags(write=False)
    return ScoringWeights(items, factors, method, arrays[0], arrays[1], arrays[2])


def score_weights(
    corr: np.ndarray, loadings: np.ndarray, phi: np.ndarray, method: str = "regression"
) -> np.ndarray:
    """The ``(p, k)`` weight matrix of a factor solution (formulas in the module docstring).

    Checked against ``psych::factor.scores(r, f, Phi, method)`` 2.2.9 for all three methods
    on ``bfi`` and ``Harman74.cor``.
    """
    if method == "regression":
        return np.linalg.solve(corr, loadings @ phi)
    if method == "bartlett":
        inverse_u2 = 1 / (1 - np.sum((loadings @ phi) * loadings, axis=1))
        scaled = loadings * inverse_u2[:, None]
        return scaled @ np.linalg.inv(loadings.T @ scaled)
    if method == "tenberge":
        phi_root = _matrix_power(phi, 0.5)
        star = loadings @ phi_root
        corr_inv_root = _matrix_power(corr, -0.5)
        smoothed, _ = smooth_correlation(corr)
        middle = star.T @ np.linalg.solve(smoothed, star)
        c = corr_inv_root @ star @ _matrix_power(middle, -0.5)
        return corr_inv_root @ c @ phi_root
    raise SpecificationError(
        f"scoring method {method!r} is unknown; use one of {', '.join(SCORE_METHODS)}."
    )


def _matrix_power(matrix: np.ndarray, power: float) -> np.ndarray:
    """Symmetric matrix power by eigendecomposition, eigenvalues floored as psych's matSqrt."""
    values, vectors = np.linalg.eigh(matrix)
    eps = np.finfo(float).eps
    floor = eps if power > 0 else 100 * eps
    values = np.where(values < (0 if power > 0 else eps), floor, values)
    return (vectors * values**power) @ vectors.T
