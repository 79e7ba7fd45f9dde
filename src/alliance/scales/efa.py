"""Exploratory factor analysis: the public :func:`efa` and its result, :class:`EFAResult`.

:func:`efa` is a chain of independent stages, each in its own module:
input (:mod:`.analysis_input`: items, missing data, Pearson or polychoric correlations, or a
given matrix) -> extraction (:mod:`.extraction`: minres, ML, principal axis) -> rotation
(:mod:`.rotation`: gradient projection with random starts, promax; psych's factor order and
signs) -> fit (:mod:`.fit_indices`) -> parallel analysis (:mod:`.parallel`). Scoring weights
(:mod:`.scores`) are derived from the result on request.

Checked against ``psych::fa`` 2.2.9 / GPArotation 2022.10.2 on ``psychTools::bfi`` (25 items,
2,800 respondents, 5 factors) with minres + oblimin, ML + varimax, PA + promax, minres +
geomin, minres + quartimax, unrotated minres, listwise ML + oblimin, and a polychoric solution,
and on ``Harman74.cor`` (24 tests, correlation-matrix input; ML + oblimin, minres + oblimin
with gamma 0.5, PA + varimax): loadings within 0.0011 (within 1e-4 where psych also rotates by
gradient projection; the rest is the loose stopping rule of ``stats::varimax``), communalities
within 3e-5, factor correlations within 4e-4, fit indices to 1e-4 relative
(``tests/scales/test_efa.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from alliance.errors import SpecificationError
from alliance.scales.analysis_input import correlation_input
from alliance.scales.extraction import METHODS, extract
from alliance.scales.fit_indices import FitIndices, degrees_of_freedom, fit_indices, max_factors
from alliance.scales.parallel import DEFAULT_SEED, ParallelAnalysis, parallel_from_correlation
from alliance.scales.rotation import ROTATIONS, rotate
from alliance.scales.scores import ScoringWeights, make_weights, score_weights

_VARIANCE_COLUMNS = (
    "ss_loadings",
    "proportion_var",
    "cumulative_var",
    "proportion_explained",
    "cumulative_proportion",
)


@dataclass(frozen=True)
class EFAFitInfo:
    """How a factor solution was obtained: settings and the optimisers' records."""

    extraction_iterations: int
    extraction_converged: bool
    extraction_objective: float
    extraction_message: str
    pa_tol: float
    pa_max_iter: int
    rotation_normalized: bool
    rotation_n_starts: int
    rotation_seed: int
    rotation_tol: float
    rotation_criterion: float
    rotation_start_criteria: tuple[float, ...]
    rotation_best_start: int
    rotation_iterations: int
    rotation_converged: bool
    correlation_smoothed: bool

    def to_dict(self) -> dict[str, Any]:
        """All fields by name."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class EFAResult:
    """An exploratory factor solution (arrays read-only; DataFrame views by property).

    Attributes
    ----------
    items, factors
        Item names (rows) and factor names ``F1..Fk`` (columns, ordered by variance).
    method, rotation, gamma, correlation_kind, missing
        The settings used.
    n_obs, n_excluded
        Rows analysed (``None`` for a correlation matrix without ``n_obs``) and rows excluded
        by the missing-data rule.
    pattern, phi, rotation_matrix, unrotated
        Rotated loadings ``(p, k)``, factor correlations ``(k, k)``, ``T`` with
        ``unrotated @ T == pattern``, and the unrotated loadings.
    communality, uniqueness
        ``diag(L Phi L')`` and ``1 - communality``.
    corr, eigenvalues, reduced_eigenvalues
        Correlation matrix analysed, its eigenvalues, and those with communalities on the
        diagonal.
    fit
        :class:`~alliance.scales.fit_indices.FitIndices`.
    parallel
        :class:`~alliance.scales.parallel.ParallelAnalysis`, or ``None`` if not run.
    item_means, item_sds
        Of the responses analysed (``None`` for a correlation matrix): the standardisation
        of :meth:`scoring_weights`.
    fit_info
        :class:`EFAFitInfo`.
    """

    items: tuple[str, ...]
    factors: tuple[str, ...]
    method: str
    rotation: str
    gamma: float
    correlation_kind: str
    missing: str
    n_obs: int | None
    n_excluded: int
    pattern: np.ndarray
    phi: np.ndarray
    rotation_matrix: np.ndarray
    unrotated: np.ndarray
    communality: np.ndarray
    uniqueness: np.ndarray
    corr: np.ndarray
    eigenvalues: np.ndarray
    reduced_eigenvalues: np.ndarray
    fit: FitIndices
    parallel: ParallelAnalysis | None
    item_means: np.ndarray | None
    item_sds: np.ndarray | None
    fit_info: EFAFitInfo

    @property
    def loadings(self) -> pd.DataFrame:
        """Rotated loadings (pattern matrix), one row per item."""
        return self._frame(self.pattern)

    @property
    def structure(self) -> pd.DataFrame:
        """Structure matrix ``L Phi``: correlations of items with factors."""
        return self._frame(self.pattern @ self.phi)

    @property
    def communalities(self) -> pd.Series:
        """Common variance of each item, ``diag(L Phi L')``."""
        return pd.Series(self.communality, index=list(self.items), name="communality")

    @property
    def uniquenesses(self) -> pd.Series:
        """Unique variance of each item, ``1 - communality``."""
        return pd.Series(self.uniqueness, index=list(self.items), name="uniqueness")

    @property
    def factor_correlations(self) -> pd.DataFrame:
        """Factor correlation matrix Phi (identity for orthogonal rotations)."""
        return pd.DataFrame(self.phi, index=list(self.factors), columns=list(self.factors))

    @property
    def correlation(self) -> pd.DataFrame:
        """The correlation matrix analysed."""
        return pd.DataFrame(self.corr, index=list(self.items), columns=list(self.items))

    @property
    def variance_explained(self) -> pd.DataFrame:
        """Per factor: SS loadings ``diag(Phi L'L)``, proportions of total and of common variance.

        As psych's ``Vaccounted``; for oblique factors the SS loadings overlap.
        """
        ss = np.diag(self.phi @ self.pattern.T @ self.pattern)
        total = float(np.sum(self.communality + self.uniqueness))
        proportion = ss / total
        explained = ss / ss.sum()
        columns = [ss, proportion, np.cumsum(proportion), explained, np.cumsum(explained)]
        return pd.DataFrame(
            dict(zip(_VARIANCE_COLUMNS, columns, strict=True)),
            index=pd.Index(self.factors, name="factor"),
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per item: loadings, communality, uniqueness, Hofmann complexity."""
        frame = self.loadings
        frame["communality"] = self.communality
        frame["uniqueness"] = self.uniqueness
        squared = self.pattern**2
        frame["complexity"] = squared.sum(axis=1) ** 2 / np.sum(squared**2, axis=1)
        return frame

    def scoring_weights(
        self,
        method: str = "regression",
        *,
        means: Mapping[str, float] | None = None,
        sds: Mapping[str, float] | None = None,
    ) -> ScoringWeights:
        """Weights to score respondents (also new ones) on these factors.

        Parameters
        ----------
        method
            ``"regression"`` (Thurstone), ``"bartlett"`` or ``"tenberge"``.
        means, sds
            Item means and SDs for the standardisation; default those of the responses
            analysed. Required when the solution came from a correlation matrix.

        Raises
        ------
        SpecificationError
            Unknown method, or no means/SDs for a solution from a correlation matrix.
        """
        item_means = self.item_means if means is None else _by_item(means, self.items, "means")
        item_sds = self.item_sds if sds is None else _by_item(sds, self.items, "sds")
        if item_means is None or item_sds is None:
            raise SpecificationError(
                "this solution was estimated from a correlation matrix, so the item means and "
                "SDs needed to standardise responses are unknown. Pass means={item: mean} and "
                "sds={item: sd} from the sample the matrix came from."
            )
        weights = score_weights(self.corr, self.pattern, self.phi, method)
        return make_weights(self.items, self.factors, method, item_means, item_sds, weights)

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract of ``alliance efa``: items, loadings (one record per item),
        communalities, uniquenesses, factor correlations, variance explained, structure,
        rotation matrix, fit, eigenvalues, parallel analysis and the fit record."""
        return {
            "method": self.method,
            "rotation": self.rotation,
            "gamma": self.gamma,
            "correlation": self.correlation_kind,
            "missing": self.missing,
            "n_factors": len(self.factors),
            "n_obs": self.n_obs,
            "n_excluded": self.n_excluded,
            "items": list(self.items),
            "factors": list(self.factors),
            "loadings": _records(self.loadings, "item"),
            "communalities": dict(zip(self.items, self.communality.tolist(), strict=True)),
            "uniquenesses": dict(zip(self.items, self.uniqueness.tolist(), strict=True)),
            "factor_correlations": _records(self.factor_correlations, "factor"),
            "variance_explained": _records(self.variance_explained, "factor"),
            "structure": _records(self.structure, "item"),
            "rotation_matrix": self.rotation_matrix.tolist(),
            "fit": self.fit.to_dict(),
            "eigenvalues": self.eigenvalues.tolist(),
            "reduced_eigenvalues": self.reduced_eigenvalues.tolist(),
            "parallel_analysis": None if self.parallel is None else self.parallel.to_dict(),
            "fit_info": self.fit_info.to_dict(),
        }

    def _frame(self, values: np.ndarray) -> pd.DataFrame:
        frame = pd.DataFrame(values, index=list(self.items), columns=list(self.factors))
        frame.index.name = "item"
        return frame


def efa(
    data: pd.DataFrame,
    n_factors: int,
    *,
    method: str = "minres",
    rotation: str = "oblimin",
    gamma: float = 0.0,
    n_starts: int = 10,
    seed: int = DEFAULT_SEED,
    missing: str = "pairwise",
    correlation: str = "pearson",
    items: Sequence[str] | None = None,
    n_obs: int | None = None,
    normalize: bool | None = None,
    parallel: bool = True,
    parallel_iter: int = 20,
    pa_tol: float = 0.001,
    pa_max_iter: int = 50,
    rotation_tol: float = 1e-6,
) -> EFAResult:
    """Exploratory factor analysis of item responses or of a correlation matrix.

    Parameters
    ----------
    data
        Item responses (one row per respondent, one column per item) or a labelled
        correlation matrix (square DataFrame, item names as index and columns).
    n_factors
        Number of factors.
    method
        ``"minres"`` (psych's default), ``"ml"`` or ``"pa"``.
    rotation
        ``"none"``, ``"varimax"``, ``"quartimax"``, ``"promax"``, ``"oblimin"`` or
        ``"geomin"`` (oblique, GPArotation's ``geominQ``).
    gamma
        Oblimin's gamma (0 = quartimin).
    n_starts, seed
        Starts of the gradient-projection rotation (identity + random) and their seed; the
        seed also drives parallel analysis.
    missing
        ``"pairwise"`` (psych's default) or ``"listwise"``.
    correlation
        ``"pearson"`` or ``"polychoric"`` (ordinal items).
    items
        Items to analyse; default every column.
    n_obs
        Observations behind a correlation matrix (for fit indices and parallel analysis).
    normalize
        Kaiser normalisation in the rotation; ``None`` for psych's default per rotation.
    parallel, parallel_iter
        Run parallel analysis with this many simulated data sets (needs ``n_obs``).
    pa_tol, pa_max_iter
        Principal-axis stopping rule (psych's ``min.err`` and ``max.iter``).
    rotation_tol
        Gradient-projection convergence tolerance.

    Returns
    -------
    EFAResult

    Raises
    ------
    DataError
        Wrong or constant items, non-numeric responses, a singular correlation matrix.
    SpecificationError
        Unknown method or rotation, or more factors than the items allow.

    Examples
    --------
    The solution of ``psych::fa(bfi[1:25], nfactors = 5)`` (minres, oblimin) in R::

        efa(bfi, 5, items=[...]).loadings
    """
    if method not in METHODS:
        raise SpecificationError(
            f"method={method!r} is not an extraction method; use one of {', '.join(METHODS)}."
        )
    if rotation not in ROTATIONS:
        raise SpecificationError(
            f"rotation={rotation!r} is not available; use one of {', '.join(ROTATIONS)}."
        )
    prepared = correlation_input(data, items, n_obs=n_obs, missing=missing, correlation=correlation)
    _check_factor_count(n_factors, prepared.items)
    extraction = extract(prepared.matrix, n_factors, method, tol=pa_tol, max_iter=pa_max_iter)
    rotated = rotate(
        extraction.loadings,
        rotation,
        gamma=gamma,
        normalize=normalize,
        n_starts=n_starts,
        seed=seed,
        tol=rotation_tol,
    )
    fit = fit_indices(
        prepared.matrix, rotated.loadings, rotated.phi, prepared.n_obs, prepared.pair_counts
    )
    parallel_result = None
    if parallel and prepared.n_obs is not None:
        parallel_result = parallel_from_correlation(
            prepared.matrix, prepared.items, prepared.n_obs, n_iter=parallel_iter, seed=seed
        )
    item_means = item_sds = None
    if prepared.item_data is not None:
        values = prepared.item_data.values
        item_means = np.nanmean(values, axis=0)
        item_sds = np.nanstd(values, axis=0, ddof=1)
    communality = np.array(extraction.communalities)
    uniqueness = 1 - communality
    eigenvalues = np.linalg.eigvalsh(prepared.matrix)[::-1].copy()
    for array in (communality, uniqueness, eigenvalues, item_means, item_sds):
        if array is not None:
            array.setflags(write=False)
    info = EFAFitInfo(
        extraction_iterations=extraction.iterations,
        extraction_converged=extraction.converged,
        extraction_objective=extraction.objective,
        extraction_message=extraction.message,
        pa_tol=pa_tol,
        pa_max_iter=pa_max_iter,
        rotation_normalized=rotated.normalized,
        rotation_n_starts=len(rotated.start_criteria),
        rotation_seed=seed,
        rotation_tol=rotation_tol,
        rotation_criterion=rotated.criterion,
        rotation_start_criteria=rotated.start_criteria,
        rotation_best_start=rotated.best_start,
        rotation_iterations=rotated.iterations,
        rotation_converged=rotated.converged,
        correlation_smoothed=prepared.smoothed,
    )
    return EFAResult(
        items=prepared.items,
        factors=tuple(f"F{j + 1}" for j in range(n_factors)),
        method=method,
        rotation=rotated.method,
        gamma=float(gamma),
        correlation_kind=prepared.kind,
        missing=missing,
        n_obs=prepared.n_obs,
        n_excluded=prepared.n_excluded,
        pattern=rotated.loadings,
        phi=rotated.phi,
        rotation_matrix=rotated.matrix,
        unrotated=extraction.loadings,
        communality=communality,
        uniqueness=uniqueness,
        corr=prepared.matrix,
        eigenvalues=eigenvalues,
        reduced_eigenvalues=extraction.reduced_eigenvalues,
        fit=fit,
        parallel=parallel_result,
        item_means=item_means,
        item_sds=item_sds,
        fit_info=info,
    )


def _check_factor_count(n_factors: int, items: tuple[str, ...]) -> None:
    """Raise :class:`SpecificationError` unless ``1 <= n_factors`` and ``df >= 0``."""
    p = len(items)
    if isinstance(n_factors, bool) or not isinstance(n_factors, int | np.integer) or n_factors < 1:
        raise SpecificationError(
            f"n_factors must be a whole number of at least 1; got {n_factors!r}."
        )
    limit = max_factors(p)
    if n_factors > p:
        raise SpecificationError(
            f"{n_factors} factors were requested from only {p} items "
            f"({', '.join(repr(i) for i in items)}); a factor analysis needs more items than "
            f"factors. Use n_factors <= {limit}, or add items."
        )
    df = degrees_of_freedom(p, int(n_factors))
    if df < 0:
        raise SpecificationError(
            f"{n_factors} factors of {p} items leave df = {df} < 0: the model has more "
            f"parameters than the {p * (p - 1) // 2} correlations identify. With {p} items use "
            f"n_factors <= {limit}, or add items."
        )


def _by_item(values: Mapping[str, float], items: tuple[str, ...], name: str) -> np.ndarray:
    absent = [item for item in items if item not in values]
    if absent:
        raise SpecificationError(
            f"{name} lack the items {', '.join(map(repr, absent))}; give a value for every item."
        )
    return np.array([float(values[item]) for item in items])


def _records(frame: pd.DataFrame, key: str) -> list[dict[str, Any]]:
    out = []
    for label, row in frame.iterrows():
        record: dict[str, Any] = {key: str(label)}
        record.update({str(column): float(value) for column, value in row.items()})
        out.append(record)
    return out
