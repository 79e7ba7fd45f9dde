"""Goodness of fit of a factor solution, as ``psych::fa`` reports it (``psych::fa.stats``).

For every extraction method psych evaluates the maximum-likelihood discrepancy of the
model-implied correlation matrix ``M = L Phi L'`` (unit diagonal, smoothed if needed):

* objective ``F = tr(M^-1 R) - log det(M^-1 R) - p``;
* chi-square ``F * (n - 1 - (2p + 5)/6 - 2k/3)`` (Bartlett's correction), on
  ``df = p(p - 1)/2 - pk + k(k - 1)/2`` degrees of freedom;
* RMSEA ``sqrt(max(chi2 / (df n) - 1/(n - 1), 0))`` with a 90% interval from the noncentral
  chi-square (``1 - alpha``, ``alpha = 0.1`` as psych's default);
* Tucker-Lewis index ``(M0 - Mm) / (M0 - 1/nm)``, ``M0 = F0 / (p(p - 1)/2)``,
  ``Mm = F / df``, ``F0 = -log det R``, ``nm`` the correction factor above;
* BIC ``chi2 - df log n``;
* the empirical chi-square ``sum n_ij r*_ij^2`` over off-diagonal residuals ``r*`` with pairwise
  counts ``n_ij``, and the root mean square residual ``rms`` and its df-corrected ``crms``.

Checked against psych 2.2.9 on ``bfi`` and ``Harman74.cor`` (``tests/scales/test_efa.py``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy.optimize import brentq
from scipy.special import chdtr, chdtrc, chndtr

from alliance.scales.correlation import smooth_correlation


@dataclass(frozen=True)
class FitIndices:
    """Fit of a factor model (``NaN`` where undefined: no ``n_obs``, or ``df <= 0``)."""

    n_obs: float
    df: float
    objective: float
    chi_square: float
    p: float
    rmsea: float
    rmsea_ci_low: float
    rmsea_ci_high: float
    rmsea_level: float
    tli: float
    bic: float
    null_chi_square: float
    null_df: float
    empirical_chi_square: float
    rms: float
    crms: float

    def to_dict(self) -> dict[str, Any]:
        """All indices by name; undefined ones (``NaN``) as ``None``, as JSON has no NaN."""
        return {
            name: None if isinstance(value, float) and math.isnan(value) else value
            for name, value in asdict(self).items()
        }


def degrees_of_freedom(n_items: int, n_factors: int) -> int:
    """``p(p - 1)/2 - pk + k(k - 1)/2``: correlations minus free parameters of the model."""
    return n_items * (n_items - 1) // 2 - n_items * n_factors + n_factors * (n_factors - 1) // 2


def max_factors(n_items: int) -> int:
    """The most factors with ``df >= 0`` for ``n_items`` items (Ledermann bound)."""
    k = 0
    while k < n_items and degrees_of_freedom(n_items, k + 1) >= 0:
        k += 1
    return k


def fit_indices(
    corr: np.ndarray,
    loadings: np.ndarray,
    phi: np.ndarray,
    n_obs: int | None,
    pair_counts: np.ndarray | None = None,
    alpha: float = 0.1,
) -> FitIndices:
    """Fit indices of the solution ``loadings`` (pattern) with factor correlations ``phi``.

    Parameters
    ----------
    corr
        The ``(p, p)`` correlation matrix analysed.
    loadings, phi
        Pattern matrix and factor correlations.
    n_obs
        Number of observations (rows), or ``None`` if unknown: the chi-square-based indices
        are then ``NaN``.
    pair_counts
        Pairwise counts for the empirical chi-square and rms (psych's ``np.obs``); ``None``
        uses ``n_obs`` for every pair.
    alpha
        The RMSEA interval has level ``1 - alpha``.
    """
    p, k = loadings.shape
    df = float(degrees_of_freedom(p, k))
    model = loadings @ phi @ loadings.T
    residual = corr - model
    np.fill_diagonal(residual, 0.0)
    n = float(n_obs) if n_obs is not None else math.nan
    # Without any count, rms and crms still exist (unit weights), the empirical chi-square not.
    if pair_counts is not None:
        counts = pair_counts
    else:
        counts = np.full((p, p), 1.0 if n_obs is None else n)
    off = ~np.eye(p, dtype=bool)
    weighted = float(np.sum(residual[off] ** 2 * counts[off]))
    harmonic = float(counts.size / np.sum(1 / counts))
    empirical = weighted if (pair_counts is not None or n_obs is not None) else math.nan
    rms = math.sqrt(weighted / (harmonic * p * (p - 1)))
    crms = math.sqrt(weighted / (2 * harmonic * df)) if df > 0 else math.nan

    implied = model.copy()
    np.fill_diagonal(implied, np.diag(corr))
    implied, _ = smooth_correlation(implied)
    observed, _ = smooth_correlation(corr)
    product = np.linalg.solve(implied, observed)
    sign, logdet = np.linalg.slogdet(product)
    objective = float(np.trace(product) - logdet) - p if sign > 0 else math.nan
    null_objective = -float(np.linalg.slogdet(observed)[1])
    correction = n - 1 - (2 * p + 5) / 6 - 2 * k / 3
    chi_square = max(objective * correction, 0.0)
    positive = df > 0
    p_value = float(chdtrc(df, chi_square)) if positive else math.nan
    null_df = p * (p - 1) / 2
    m0 = null_objective / null_df
    tli = (m0 - objective / df) / (m0 - 1 / correction) if positive else math.nan
    if positive and math.isfinite(n):
        rmsea = math.sqrt(max(chi_square / (df * n) - 1 / (n - 1), 0.0))
        low, high = _rmsea_interval(chi_square, df, n, alpha, rmsea)
        bic = chi_square - df * math.log(n)
    else:
        rmsea = low = high = bic = math.nan
    return FitIndices(
        n_obs=n,
        df=df,
        objective=objective,
        chi_square=chi_square,
        p=p_value,
        rmsea=rmsea,
        rmsea_ci_low=low,
        rmsea_ci_high=high,
        rmsea_level=1 - alpha,
        tli=tli,
        bic=bic,
        null_chi_square=null_objective * (n - 1 - (2 * p + 5) / 6),
        null_df=null_df,
        empirical_chi_square=empirical,
        rms=rms,
        crms=crms,
    )


def _rmsea_interval(
    chi_square: float, df: float, n: float, alpha: float, rmsea: float
) -> tuple[float, float]:
    """psych's interval: noncentrality parameters whose chi-square quantiles bracket ``chi2``."""
    tail = alpha / 2
    upper_end = max(n, chi_square) + 2 * n

    def cdf(ncp: float) -> float:
        return float(chdtr(df, chi_square) if ncp == 0 else chndtr(chi_square, df, ncp))

    centre = float(chdtr(df, chi_square))
    high = 0.0
    if centre > tail:
        high = math.sqrt(brentq(lambda x: cdf(x) - tail, 0, upper_end) / (n - 1) / df)
    low = 0.0
    if centre > 1 - tail:
        low = math.sqrt(brentq(lambda x: cdf(x) - 1 + tail, 0, upper_end) / (n - 1) / df)
    if high < rmsea:
        high = math.nan
    if low > rmsea:
        low = math.nan
    return low, high
