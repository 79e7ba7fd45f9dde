"""Internal consistency of a scale: Cronbach's alpha, McDonald's omega total, item analysis.

Formulas of ``psych::alpha`` 2.2.9, from the pairwise-complete item covariance matrix ``C`` of
the keyed items (reversed items scored ``max + min - x``), ``k`` items, ``n`` rows:

* alpha ``k/(k - 1) (1 - tr C / sum C)`` (Cronbach 1951); standardised alpha the same on
  ``R = cov2cor(C)``;
* its confidence interval by Feldt (1965; Feldt, Woodruff & Salih 1987):
  ``1 - (1 - alpha) F_{1 - a/2}`` and ``1 - (1 - alpha) F_{a/2}`` with ``F`` quantiles of
  ``F(n - 1, (n - 1)(k - 1))`` (``psych::alpha.ci``; psych prints it as "Feldt");
* ``std_error``: the asymptotic standard error of Duhachek & Iacobucci (2004), psych's ``ase``;
* alpha if an item is deleted (raw and standardised), the item-rest correlation
  ``(sum_j C_ij - C_ii) / sqrt(C_ii V_rest)`` (psych's ``r.drop``) and the correlation of the
  item with the mean score (psych's ``raw.r``).

Omega total (McDonald 1999) is ``psych::omega(x, nfactors = 1)$omega.tot``: from a one-factor
minres solution of the pairwise Pearson correlations, ``(V - sum u_i^2) / V`` with ``u_i^2 = 1 -
lambda_i^2`` and ``V`` the sum of the correlation matrix after flipping items with a negative
loading (a standardised coefficient, on the correlation metric).

Checked against psych on the five ``bfi`` scales: alpha and every item statistic to 1e-10,
omega total to 1e-6 (``tests/scales/test_reliability.py``). Two deliberate differences from
psych: an item without variance is an error (psych drops it with a warning), and alpha if an
item is deleted is undefined (``NaN``) for a two-item scale.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from alliance.errors import DataError, SpecificationError
from alliance.io.validation import format_names
from alliance.scales.correlation import pairwise_correlation, pairwise_moments
from alliance.scales.extraction import extract
from alliance.scales.items import prepare_items

_ITEM_COLUMNS = (
    "n",
    "mean",
    "sd",
    "item_total_r",
    "item_rest_r",
    "alpha_if_deleted",
    "std_alpha_if_deleted",
    "omega_loading",
)


@dataclass(frozen=True)
class ReliabilityResult:
    """Reliability of one scale and the statistics of its items.

    Attributes
    ----------
    items, reversed_items
        The items, and those scored in reverse.
    n_obs, n_excluded, missing
        Rows analysed, rows excluded by the missing-data rule, the rule.
    alpha, std_alpha, std_error, ci_low, ci_high, level
        Cronbach's alpha, standardised alpha, the Duhachek-Iacobucci standard error and the
        Feldt interval at ``level``.
    omega_total
        McDonald's omega total from a one-factor solution.
    total_mean, total_sd
        Mean and SD of the respondents' mean item score (keyed).
    item_stats
        Read-only ``(k, 8)`` array, columns as :meth:`to_frame`.
    """

    items: tuple[str, ...]
    reversed_items: tuple[str, ...]
    n_obs: int
    n_excluded: int
    missing: str
    alpha: float
    std_alpha: float
    std_error: float
    ci_low: float
    ci_high: float
    level: float
    omega_total: float
    total_mean: float
    total_sd: float
    item_stats: np.ndarray

    def to_frame(self) -> pd.DataFrame:
        """One row per item: n, mean, sd, item-total and item-rest correlations, alpha and
        standardised alpha if the item is deleted, loading on the single factor."""
        frame = pd.DataFrame(self.item_stats, index=list(self.items), columns=list(_ITEM_COLUMNS))
        frame["n"] = frame["n"].astype(int)
        frame.insert(0, "reversed", [item in self.reversed_items for item in self.items])
        frame.index.name = "item"
        return frame

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form: scale statistics and one record per item."""
        items = self.to_frame().reset_index()
        return {
            "items": list(self.items),
            "reversed_items": list(self.reversed_items),
            "n_obs": self.n_obs,
            "n_excluded": self.n_excluded,
            "missing": self.missing,
            "alpha": self.alpha,
            "std_alpha": self.std_alpha,
            "std_error": self.std_error,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "level": self.level,
            "omega_total": self.omega_total,
            "total_mean": self.total_mean,
            "total_sd": self.total_sd,
            "item_stats": items.to_dict(orient="records"),
        }


def reliability(
    data: pd.DataFrame,
    items: Sequence[str] | None = None,
    *,
    reverse: Sequence[str] = (),
    score_range: tuple[float, float] | None = None,
    missing: str = "pairwise",
    level: float = 0.95,
) -> ReliabilityResult:
    """Cronbach's alpha with a Feldt interval, omega total and item statistics of a scale.

    Parameters
    ----------
    data
        One row per respondent, one column per item.
    items
        The scale's items; default every column.
    reverse
        Items scored in reverse (``max + min - x``).
    score_range
        ``(min, max)`` of the response scale used to reverse items; default the smallest and
        largest response observed on any item of the scale (as psych).
    missing
        ``"pairwise"`` (psych's default: covariances from the rows that answered both items)
        or ``"listwise"``.
    level
        Level of the Feldt interval.

    Raises
    ------
    DataError
        Wrong or constant items, non-numeric responses.
    SpecificationError
        A reversed item that is not one of the items, or a level outside (0, 1).

    Examples
    --------
    The same numbers as ``psych::alpha(bfi[, paste0("A", 1:5)], keys = "A1")`` in R::

        reliability(bfi, ["A1", "A2", "A3", "A4", "A5"], reverse=["A1"]).alpha
    """
    if not 0 < level < 1:
        raise SpecificationError(f"level must lie strictly between 0 and 1; got {level}.")
    prepared = prepare_items(data, items, missing=missing)
    names = prepared.items
    reverse = [reverse] if isinstance(reverse, str) else list(reverse)
    unknown = [item for item in reverse if item not in names]
    if unknown:
        raise SpecificationError(
            f"reversed items {format_names(unknown)} are not among the scale's items "
            f"{format_names(names)}. Name reversed items from the scale."
        )
    values = np.array(prepared.values)
    flip = np.array([item in reverse for item in names])
    if flip.any():
        low, high = (
            score_range
            if score_range is not None
            else (float(np.nanmin(values)), float(np.nanmax(values)))
        )
        values[:, flip] = low + high - values[:, flip]
    k = len(names)
    cov, _counts = pairwise_moments(values)
    if not np.all(np.isfinite(cov)):
        raise DataError(
            "some item pairs share fewer than two respondents, so their covariance is "
            "undefined. Use items answered by the same respondents."
        )
    sd = np.sqrt(np.diag(cov))
    corr = cov / np.outer(sd, sd)
    alpha, std_alpha = _alpha(cov, corr)
    n = prepared.n_obs
    total_c = cov.sum()
    q = (2 * k**2 / ((k - 1) ** 2 * total_c**3)) * (
        total_c * (np.trace(cov @ cov) + np.trace(cov) ** 2) - 2 * np.trace(cov) * (cov @ cov).sum()
    )
    tail = (1 - level) / 2
    dfn, dfd = n - 1, (n - 1) * (k - 1)
    ci_low = 1 - (1 - alpha) * special.fdtri(dfn, dfd, 1 - tail)
    ci_high = 1 - (1 - alpha) * special.fdtri(dfn, dfd, tail)

    total = np.nanmean(values, axis=1)
    stats = np.empty((k, len(_ITEM_COLUMNS)))
    present = ~np.isnan(values)
    stats[:, 0] = present.sum(axis=0)
    stats[:, 1] = np.nanmean(values, axis=0)
    stats[:, 2] = np.nanstd(values, axis=0, ddof=1)
    with_total, _ = pairwise_correlation(np.column_stack([total, values]))
    stats[:, 3] = with_total[0, 1:]
    for i in range(k):
        rest = np.arange(k) != i
        rest_variance = cov[np.ix_(rest, rest)].sum()
        stats[i, 4] = (cov[:, i].sum() - cov[i, i]) / math.sqrt(cov[i, i] * rest_variance)
        if k > 2:
            stats[i, 5], stats[i, 6] = _alpha(cov[np.ix_(rest, rest)], corr[np.ix_(rest, rest)])
        else:
            stats[i, 5] = stats[i, 6] = math.nan
    omega, loadings = _omega_total(values)
    stats[:, 7] = loadings
    stats.setflags(write=False)
    return ReliabilityResult(
        items=names,
        reversed_items=tuple(item for item in names if item in reverse),
        n_obs=n,
        n_excluded=prepared.n_excluded,
        missing=missing,
        alpha=float(alpha),
        std_alpha=float(std_alpha),
        std_error=math.sqrt(q / n),
        ci_low=float(ci_low),
        ci_high=float(ci_high),
        level=level,
        omega_total=omega,
        total_mean=float(np.mean(total)),
        total_sd=float(np.std(total, ddof=1)),
        item_stats=stats,
    )


def _alpha(cov: np.ndarray, corr: np.ndarray) -> tuple[float, float]:
    k = cov.shape[0]
    raw = (1 - np.trace(cov) / cov.sum()) * k / (k - 1)
    standardised = (1 - k / corr.sum()) * k / (k - 1)
    return float(raw), float(standardised)


def _omega_total(values: np.ndarray) -> tuple[float, np.ndarray]:
    """psych::omega(x, nfactors = 1)$omega.tot and the one-factor loadings."""
    corr, _ = pairwise_correlation(values)
    loadings = np.array(extract(corr, 1, "minres").loadings[:, 0])
    signs = np.where(loadings < 0, -1.0, 1.0)
    total_variance = float((corr * np.outer(signs, signs)).sum())
    uniqueness = float(np.sum(1 - loadings**2))
    return (total_variance - uniqueness) / total_variance, loadings
