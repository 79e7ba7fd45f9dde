"""The marginal covariance of the response, one independent cluster at a time.

A nested model ``y = X beta + sum_l Z_l b_l + e`` has the marginal covariance

    V = sum_l Z_l (I_{m_l} (x) D_l) Z_l' + diag(sigma^2 / w_s(r)),

``D_l = sigma^2 Lambda_l Lambda_l'`` the covariance of one group's random effects at level ``l``
and ``w_s`` the precision weight of residual stratum ``s`` (``w_0 = 1``; nlme's varIdent). Every
grouping level is nested in the outermost one, so ``V`` is block diagonal over the outermost
groups (or over any coarser clustering, :func:`column_clustering`): :meth:`MarginalModel.blocks`
yields, cluster by cluster, the dense ``V_g``, its Cholesky factor and inverse, ``X_g``, ``y_g``
and the derivatives ``G_i = dV_g / d tau_i``. The ``n x n`` matrix is never formed; memory
grows with the square of the largest cluster, not of ``n``.

``tau`` is the linear parametrization pbkrtest uses for Kenward-Roger (Halekoh & Hojsgaard 2014,
J Stat Softw 59(9), sec. 3; ``pbkrtest:::.get_SigmaG``): each distinct element of each level's
``D_l`` (the lower triangle of a correlated term's block, the variance of an uncorrelated
term), then the residual variance of each stratum. ``V`` is linear in ``tau``,

    V = sum_i tau_i G_i,   G_i = Z_l (I (x) (E_ab + E_ba)) Z_l' (a != b),  Z_l (I (x) E_aa) Z_l',
    G_residual,s = diag(1[row in stratum s]),

so its second derivatives vanish.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import linalg

from alliance.errors import SpecificationError, UnknownColumnError
from alliance.io.validation import close_matches
from alliance.mixed.levels import unique_inverse
from alliance.mixed.spec import MixedModelSpec

if TYPE_CHECKING:
    from alliance.mixed.result import MixedResult


@dataclass(frozen=True)
class Clustering:
    """Independent clusters of the rows of a model: ``codes[r]`` is row ``r``'s cluster.

    Every group of every grouping level lies within one cluster, so the marginal covariance
    is block diagonal over the clusters.
    """

    name: str
    codes: np.ndarray
    labels: np.ndarray

    @property
    def n_clusters(self) -> int:
        return len(self.labels)


def top_level_clustering(spec: MixedModelSpec) -> Clustering:
    """The groups of the outermost grouping level (clubSandwich's ``get_outer_group``)."""
    top = spec.levels[-1]
    return Clustering(top.name, top.codes, top.labels)


def column_clustering(spec: MixedModelSpec, data: pd.DataFrame, column: str) -> Clustering:
    """Clusters given by ``data[column]`` on the rows the model uses.

    Raises
    ------
    UnknownColumnError
        If the column is not in the data.
    SpecificationError
        If the column has a missing value on a row the model uses, the
        data's index has repeated labels (the rows used could not be told apart), or a group
        of the outermost grouping level spans several clusters (the clusters would not be
        independent under the model; clubSandwich refuses such a clustering too).
    """
    if column not in data.columns:
        columns = list(map(str, data.columns))
        close = close_matches(column, columns)
        raise UnknownColumnError(
            f"cluster column '{column}' is not in the data; the data have columns {columns}."
            + (f" Did you mean '{close[0]}'?" if close else "")
        )
    if not data.index.is_unique:
        raise SpecificationError(
            "the data's index has repeated labels, so the rows the model uses cannot be "
            f"matched to the cluster column '{column}'; reset the index (data.reset_index())"
        )
    values = data[column].to_numpy()[data.index.get_indexer(pd.Index(spec.row_index))]
    missing = pd.isna(values)
    if missing.any():
        raise SpecificationError(
            f"cluster column '{column}' is missing on {int(missing.sum())} of the "
            f"{spec.n_obs} rows the model uses; every row needs a cluster"
        )
    codes, labels = pd.factorize(values, sort=True)
    codes = codes.astype(np.int64)
    top = spec.levels[-1]
    pairs, _ = unique_inverse(top.codes * len(labels) + codes, top.n_groups * len(labels))
    spans = np.bincount(pairs // len(labels), minlength=top.n_groups)
    if np.any(spans > 1):
        first = int(np.flatnonzero(spans > 1)[0])
        raise SpecificationError(
            f"group '{top.labels[first]}' of '{top.name}' spans {spans[first]} clusters of "
            f"'{column}': the random effects are not nested within the clustering, so the "
            f"clusters are not independent. Cluster by '{top.name}' or by a column that "
            f"contains whole '{top.name}' groups"
        )
    return Clustering(column, codes, np.asarray(labels).astype(str).astype(object))


@dataclass(frozen=True)
class ClusterBlock:
    """One cluster's rows and its part of the marginal model.

    ``v`` is ``V_g``, ``cholesky`` its lower Cholesky factor, ``v_inverse`` its inverse,
    ``derivatives[i]`` ``G_i`` restricted to the cluster (None unless asked for).
    """

    rows: np.ndarray
    x: np.ndarray
    y: np.ndarray
    v: np.ndarray
    cholesky: np.ndarray
    v_inverse: np.ndarray
    derivatives: np.ndarray | None


@dataclass(frozen=True)
class MarginalModel:
    """The marginal covariance of a fitted model, by cluster.

    Attributes
    ----------
    spec : MixedModelSpec
        The model's arrays.
    clustering : Clustering
        The independent clusters (the outermost groups unless a coarser clustering is given).
    covariances : tuple of numpy.ndarray
        ``D_l`` of each grouping level (innermost first).
    residual_variances : numpy.ndarray
        ``sigma^2 / w_s`` of each residual stratum.
    entries : tuple of (int, int, int)
        What each ``tau_i`` is: ``(level, a, b)`` for element ``(a, b)`` of ``D_level``, and
        ``(-1, s, s)`` for the residual variance of stratum ``s``.
    names : tuple of str
        A readable name of each ``tau_i``.
    """

    spec: MixedModelSpec
    clustering: Clustering
    covariances: tuple[np.ndarray, ...]
    residual_variances: np.ndarray
    entries: tuple[tuple[int, int, int], ...]
    names: tuple[str, ...]

    @classmethod
    def from_result(
        cls, result: MixedResult, clustering: Clustering | None = None
    ) -> MarginalModel:
        """The marginal model at the fit's estimates (``D_l`` as in ``result.random_effects``)."""
        spec = result.spec
        layout = result.objective.layout
        sigma2 = result.sigma**2
        covariances = tuple(sigma2 * factor @ factor.T for factor in layout.lambdas(result.params))
        residual = sigma2 / layout.strata_weights(result.params)
        entries: list[tuple[int, int, int]] = []
        names: list[str] = []
        for index, (level, where) in enumerate(zip(spec.levels, layout.levels, strict=True)):
            columns = level.column_names
            for a, b in zip(where.rows, where.cols, strict=True):
                entries.append((index, int(a), int(b)))
                names.append(f"{level.name}: var({columns[a]})" if a == b
                             else f"{level.name}: cov({columns[b]}, {columns[a]})")
        for s, label in enumerate(spec.strata_labels):
            entries.append((-1, s, s))
            names.append("Residual" if len(spec.strata_labels) == 1 else f"Residual ({label})")
        return cls(spec, clustering or top_level_clustering(spec), covariances,
                   np.asarray(residual, dtype=float), tuple(entries), tuple(names))

    @property
    def tau(self) -> np.ndarray:
        """The variance-covariance parameters, in the order of :attr:`entries`."""
        return np.array([
            self.residual_variances[a] if level < 0 else self.covariances[level][a, b]
            for level, a, b in self.entries
        ])

    @property
    def n_parameters(self) -> int:
        return len(self.entries)

    def cluster_rows(self) -> list[np.ndarray]:
        """The rows of each cluster, in cluster order, each in the data's order."""
        order = np.argsort(self.clustering.codes, kind="stable")
        bounds = np.cumsum(np.bincount(self.clustering.codes,
                                       minlength=self.clustering.n_clusters))
        return np.split(order, bounds[:-1])

    def blocks(self, *, derivatives: bool = False) -> Iterator[ClusterBlock]:
        """``V_g``, its Cholesky factor and inverse (and the ``G_i`` if asked), per cluster.

        Raises
        ------
        SpecificationError
            If a cluster's ``V_g`` is not positive definite (a residual variance of 0).
        """
        spec = self.spec
        for rows in self.cluster_rows():
            n = len(rows)
            same = [level.codes[rows][:, None] == level.codes[rows][None, :]
                    for level in spec.levels]
            z = [level.z[rows] for level in spec.levels]
            strata = spec.strata[rows]
            v = np.diag(self.residual_variances[strata])
            for mask, zl, d in zip(same, z, self.covariances, strict=True):
                v += (zl @ d @ zl.T) * mask
            try:
                cholesky = linalg.cholesky(v, lower=True)
            except linalg.LinAlgError as error:
                raise SpecificationError(
                    "the marginal covariance of the response is singular (a residual "
                    "variance of 0), so small-sample inference cannot be computed"
                ) from error
            v_inverse = linalg.cho_solve((cholesky, True), np.eye(n))
            gradient = None
            if derivatives:
                gradient = np.empty((self.n_parameters, n, n))
                for i, (level, a, b) in enumerate(self.entries):
                    if level < 0:
                        gradient[i] = np.diag((strata == a).astype(float))
                        continue
                    outer = np.outer(z[level][:, a], z[level][:, b])
                    if a != b:
                        outer += outer.T
                    gradient[i] = outer * same[level]
            yield ClusterBlock(rows, spec.x[rows], spec.y[rows], v, cholesky,
                               0.5 * (v_inverse + v_inverse.T), gradient)
