"""CR2 cluster-robust covariance of the fixed effects with Satterthwaite (Bell-McCaffrey) df.

Bell & McCaffrey (2002, Survey Methodology 28(2):169-181) and Pustejovsky & Tipton (2018,
J Bus Econ Stat 36(4):672-683, eqs. 5-8 and sec. 3) as clubSandwich 0.5.8 computes them for an
lmerMod or lme fit (``vcovCR(m, type = "CR2")`` and ``coef_test(m, vcov = "CR2", test =
"Satterthwaite")``): the working covariance is the model's own marginal covariance, in the
units of the residual variance, ``Theta_j = V_j / sigma^2`` of each cluster ``j``
(:mod:`alliance.mixed.marginal`), the weights ``W_j = Theta_j^-1`` and ``M = (sum_j X_j' W_j
X_j)^-1`` (``inverse_var``: the target is the working model). With ``D_j`` the upper Cholesky
factor of ``Theta_j`` (``Theta_j = D_j' D_j``)::

    (I - H)_jj = I - X_j M X_j' W_j,
    A_j = D_j' (D_j (I - H)_jj Theta_j D_j')^{-1/2} D_j,
    V^CR2 = M (sum_j X_j' W_j A_j r_j r_j' A_j W_j X_j) M,   r_j = y_j - X_j beta,

the power taken over the eigenvalues above 1e-12 (the others set to 0; clubSandwich's
``matrix_power``). The Satterthwaite df of a contrast ``c`` match the first two moments of
``c' V^CR2 c`` under the working model: with ``g_j = c' M X_j' W_j A_j D_j'`` and ``h_j = c' M
X_j' W_j A_j X_j L`` (``M = L L'``), the ``J x J`` matrix ``P_jk = delta_jk |g_j|^2 - h_j'
h_k`` gives ``df = (tr P)^2 / tr(P^2)`` (clubSandwich's ``get_GH``, ``get_P_array`` and
``Satterthwaite``).

The clusters are the outermost groups by default (clubSandwich's ``get_outer_group``) or any
coarser clustering (:func:`alliance.mixed.marginal.column_clustering`). Residual strata
(nlme's varIdent) enter through ``V_j``, as clubSandwich's ``targetVariance.lme`` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import linalg

from alliance.errors import SpecificationError
from alliance.mixed.marginal import Clustering, MarginalModel

if TYPE_CHECKING:
    from alliance.mixed.result import MixedResult

#: Eigenvalues at or below this are left out of the inverse square root (clubSandwich).
EIGENVALUE_FLOOR = 1e-12

#: The cluster-robust estimators available.
ROBUST_TYPES = ("cr2",)


@dataclass(frozen=True)
class ClusterRobust:
    """The CR2 covariance of a fit and what its Satterthwaite df need.

    Attributes
    ----------
    vcov : numpy.ndarray
        The CR2 covariance of the fixed effects.
    cluster : str
        The clustering variable.
    n_clusters : int
        The number of clusters ``J``.
    g_products : numpy.ndarray
        ``M X_j' W_j A_j D_j' (..)'`` per cluster, shape ``(J, p, p)``: ``|g_j|^2 = c' S_j c``.
    h_matrices : numpy.ndarray
        ``M X_j' W_j A_j X_j L`` per cluster, shape ``(J, p, p)``: ``h_j = c' H_j``.
    """

    vcov: np.ndarray
    cluster: str
    n_clusters: int
    g_products: np.ndarray
    h_matrices: np.ndarray

    def std_errors(self, contrasts: np.ndarray) -> np.ndarray:
        """``sqrt(c' V^CR2 c)`` of each row of ``contrasts``."""
        rows = np.atleast_2d(np.asarray(contrasts, dtype=float))
        return np.sqrt(np.einsum("ka,ab,kb->k", rows, self.vcov, rows))

    def df(self, contrasts: np.ndarray) -> np.ndarray:
        """Satterthwaite (Bell-McCaffrey) df of the t test of each row of ``contrasts``."""
        rows = np.atleast_2d(np.asarray(contrasts, dtype=float))
        out = np.empty(len(rows))
        for index, c in enumerate(rows):
            squares = np.einsum("a,jab,b->j", c, self.g_products, c)
            h = np.einsum("a,jab->jb", c, self.h_matrices)
            p_matrix = np.diag(squares) - h @ h.T
            out[index] = np.trace(p_matrix) ** 2 / np.sum(p_matrix**2)
        return out


def _inverse_square_root(matrix: np.ndarray) -> np.ndarray:
    """The symmetric ``matrix^(-1/2)`` over the eigenvalues above :data:`EIGENVALUE_FLOOR`."""
    values, vectors = np.linalg.eigh(0.5 * (matrix + matrix.T))
    powered = np.zeros_like(values)
    kept = values > EIGENVALUE_FLOOR
    powered[kept] = values[kept] ** -0.5
    return (vectors * powered) @ vectors.T


def cluster_robust(result: MixedResult, clustering: Clustering | None = None) -> ClusterRobust:
    """CR2 covariance and the quantities of its Satterthwaite df (module docstring).

    Parameters
    ----------
    result : MixedResult
        A fit (REML or ML).
    clustering : Clustering, optional
        The clusters; the outermost grouping level when omitted.

    Raises
    ------
    SpecificationError
        With fewer than two clusters.
    """
    model = MarginalModel.from_result(result, clustering)
    if model.clustering.n_clusters < 2:
        raise SpecificationError(
            f"cluster-robust standard errors need at least two clusters; '{model.clustering.name}'"
            f" has {model.clustering.n_clusters}"
        )
    scale = result.sigma**2
    blocks = list(model.blocks())
    weights = [scale * block.v_inverse for block in blocks]
    information = sum(block.x.T @ w @ block.x for block, w in zip(blocks, weights, strict=True))
    bread = np.linalg.inv(information)
    bread = 0.5 * (bread + bread.T)
    bread_factor = linalg.cholesky(bread, lower=True)
    meat_rows = []
    g_products = []
    h_matrices = []
    for block, w in zip(blocks, weights, strict=True):
        upper = block.cholesky.T / np.sqrt(scale)  # D_j: Theta_j = D_j' D_j
        theta = block.v / scale
        residual_maker = np.eye(len(block.rows)) - block.x @ bread @ block.x.T @ w
        adjustment = upper.T @ _inverse_square_root(upper @ residual_maker @ theta @ upper.T) @ upper
        estimating = bread @ block.x.T @ w @ adjustment
        meat_rows.append(estimating @ (block.y - block.x @ result.beta))
        g = estimating @ upper.T
        g_products.append(g @ g.T)
        h_matrices.append(estimating @ block.x @ bread_factor)
    components = np.array(meat_rows)
    vcov = components.T @ components
    return ClusterRobust(0.5 * (vcov + vcov.T), model.clustering.name, model.clustering.n_clusters,
                         np.array(g_products), np.array(h_matrices))
