"""Parallel analysis (Horn 1965) for the number of factors and components, as psych::fa.parallel.

Observed eigenvalues are compared with those of correlation matrices of independent normal
data of the same size (``n_obs`` x ``p``), drawn ``n_iter`` times with a fixed seed. Two
series, as ``psych::fa.parallel(fa = "both")``:

* components: eigenvalues of the correlation matrix;
* factors: eigenvalues of the *reduced* correlation matrix. With ``reduction="minres"``
  (psych's default, ``SMC = FALSE``) the diagonal holds the communalities of a one-factor
  minres solution; with ``reduction="smc"`` (psych's ``SMC = TRUE``) squared multiple
  correlations.

The suggested number is the count of leading observed eigenvalues that exceed the
``quantile`` (psych's default 0.95) of the simulated ones. psych additionally resamples the
observed data but, with ``sim = TRUE`` (its default), bases the suggestion on the simulated
normal data, as here. Random draws differ between R and numpy, so only the suggestion (not the
simulated values) can be compared with psych: equal on ``bfi`` (6 factors) and
``Harman74.cor`` (4 factors); the observed eigenvalues agree to 1e-5.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from alliance.defaults import FACTOR_ANALYSIS_SEED as DEFAULT_SEED
from alliance.errors import SpecificationError
from alliance.scales.analysis_input import correlation_input
from alliance.scales.correlation import smc
from alliance.scales.extraction import extract

REDUCTIONS: tuple[str, ...] = ("minres", "smc")


@dataclass(frozen=True)
class ParallelAnalysis:
    """Observed and simulated eigenvalues, and the numbers of factors and components suggested.

    Attributes
    ----------
    items
        Item names.
    n_obs
        Rows of each simulated data set (the observations behind the observed matrix).
    n_iter, quantile, seed, reduction
        Settings (see :func:`parallel_analysis`).
    observed_fa, observed_pc
        Read-only observed eigenvalues of the reduced and of the full correlation matrix.
    simulated_fa, simulated_pc
        Read-only ``(n_iter, p)`` eigenvalues of the simulated matrices.
    suggested_factors, suggested_components
        Leading observed eigenvalues above the simulated ``quantile``.
    """

    items: tuple[str, ...]
    n_obs: int
    n_iter: int
    quantile: float
    seed: int
    reduction: str
    observed_fa: np.ndarray
    observed_pc: np.ndarray
    simulated_fa: np.ndarray
    simulated_pc: np.ndarray
    suggested_factors: int
    suggested_components: int

    @property
    def threshold_fa(self) -> np.ndarray:
        """The simulated ``quantile`` of each reduced eigenvalue."""
        return np.quantile(self.simulated_fa, self.quantile, axis=0)

    @property
    def threshold_pc(self) -> np.ndarray:
        """The simulated ``quantile`` of each eigenvalue."""
        return np.quantile(self.simulated_pc, self.quantile, axis=0)

    def to_frame(self) -> pd.DataFrame:
        """Scree data: one row per position (1..p), observed, simulated mean and quantile."""
        frame = pd.DataFrame(
            {
                "position": np.arange(1, len(self.items) + 1),
                "observed_fa": self.observed_fa,
                "simulated_fa_mean": self.simulated_fa.mean(axis=0),
                "simulated_fa_quantile": self.threshold_fa,
                "observed_pc": self.observed_pc,
                "simulated_pc_mean": self.simulated_pc.mean(axis=0),
                "simulated_pc_quantile": self.threshold_pc,
            }
        )
        return frame.set_index("position")

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form: suggestions, settings and the scree data."""
        scree = self.to_frame()
        return {
            "suggested_factors": self.suggested_factors,
            "suggested_components": self.suggested_components,
            "n_iter": self.n_iter,
            "quantile": self.quantile,
            "seed": self.seed,
            "reduction": self.reduction,
            "n_obs": self.n_obs,
            **{column: scree[column].tolist() for column in scree.columns},
        }


def parallel_analysis(
    data: pd.DataFrame,
    items: Sequence[str] | None = None,
    *,
    n_obs: int | None = None,
    n_iter: int = 20,
    quantile: float = 0.95,
    reduction: str = "minres",
    seed: int = DEFAULT_SEED,
    missing: str = "pairwise",
    correlation: str = "pearson",
) -> ParallelAnalysis:
    """Parallel analysis of item responses or of a correlation matrix.

    Parameters
    ----------
    data, items, n_obs, missing, correlation
        As for :func:`alliance.scales.efa`; a correlation matrix needs ``n_obs``.
    n_iter
        Simulated data sets (psych's ``n.iter = 20``).
    quantile
        Quantile of the simulated eigenvalues an observed one must exceed (psych's 0.95).
    reduction
        ``"minres"`` or ``"smc"`` communalities for the factor eigenvalues.
    seed
        Seed of the normal draws.

    Examples
    --------
    Like ``psych::fa.parallel(x, fa = "both")`` in R::

        parallel_analysis(bfi, items=[...]).suggested_factors
    """
    prepared = correlation_input(data, items, n_obs=n_obs, missing=missing, correlation=correlation)
    if prepared.n_obs is None:
        raise SpecificationError(
            "parallel analysis of a correlation matrix needs the number of observations behind "
            "it: pass n_obs."
        )
    return parallel_from_correlation(
        prepared.matrix,
        prepared.items,
        prepared.n_obs,
        n_iter=n_iter,
        quantile=quantile,
        reduction=reduction,
        seed=seed,
    )


def parallel_from_correlation(
    corr: np.ndarray,
    items: tuple[str, ...],
    n_obs: int,
    *,
    n_iter: int = 20,
    quantile: float = 0.95,
    reduction: str = "minres",
    seed: int = DEFAULT_SEED,
) -> ParallelAnalysis:
    """:func:`parallel_analysis` of a checked correlation matrix."""
    if reduction not in REDUCTIONS:
        raise SpecificationError(
            f"reduction={reduction!r} is unknown; use 'minres' (one-factor communalities, "
            "psych's default) or 'smc' (squared multiple correlations)."
        )
    if n_iter < 1:
        raise SpecificationError(f"n_iter must be at least 1; got {n_iter}.")
    if not 0 < quantile < 1:
        raise SpecificationError(f"quantile must lie strictly between 0 and 1; got {quantile}.")
    if n_obs <= len(items):
        raise SpecificationError(
            f"parallel analysis needs more observations ({n_obs}) than items ({len(items)})."
        )
    rng = np.random.default_rng(seed)
    p = len(items)
    simulated_fa = np.empty((n_iter, p))
    simulated_pc = np.empty((n_iter, p))
    for draw in range(n_iter):
        sample = np.corrcoef(rng.standard_normal((n_obs, p)), rowvar=False)
        simulated_pc[draw] = np.linalg.eigvalsh(sample)[::-1]
        simulated_fa[draw] = _reduced_eigenvalues(np.asarray(sample), reduction)
    observed_pc = np.linalg.eigvalsh(corr)[::-1].copy()
    observed_fa = _reduced_eigenvalues(corr, reduction)
    result_arrays = (observed_fa, observed_pc, simulated_fa, simulated_pc)
    for array in result_arrays:
        array.setflags(write=False)
    return ParallelAnalysis(
        items=items,
        n_obs=int(n_obs),
        n_iter=n_iter,
        quantile=quantile,
        seed=seed,
        reduction=reduction,
        observed_fa=observed_fa,
        observed_pc=observed_pc,
        simulated_fa=simulated_fa,
        simulated_pc=simulated_pc,
        suggested_factors=_leading_above(observed_fa, np.quantile(simulated_fa, quantile, axis=0)),
        suggested_components=_leading_above(
            observed_pc, np.quantile(simulated_pc, quantile, axis=0)
        ),
    )


def _reduced_eigenvalues(corr: np.ndarray, reduction: str) -> np.ndarray:
    if reduction == "minres":
        return np.array(extract(corr, 1, "minres").reduced_eigenvalues)
    reduced = corr.copy()
    np.fill_diagonal(reduced, smc(corr))
    return np.linalg.eigvalsh(reduced)[::-1].copy()


def _leading_above(observed: np.ndarray, threshold: np.ndarray) -> int:
    """How many leading observed values exceed their thresholds (psych: first failure - 1)."""
    below = np.flatnonzero(~(observed > threshold))
    return int(below[0]) if below.size else int(observed.size)
