"""Kenward-Roger small-sample inference for the fixed effects, as pbkrtest computes it.

Kenward & Roger (1997, Biometrics 53:983-997) correct the covariance of the REML fixed effects
for the uncertainty in the variance parameters and give the F test of ``H0: L beta = 0`` a
scaling and denominator df; the formulas here are those of pbkrtest 0.5.2 (Halekoh & Hojsgaard
2014, J Stat Softw 59(9); ``pbkrtest::vcovAdj``, ``pbkrtest:::.KR_adjust`` and
``pbkrtest::Lb_ddf``), which lmerTest calls for ``summary(m, ddf = "Kenward-Roger")``.

With ``V = sum_i tau_i G_i`` the marginal covariance in its linear parametrization
(:mod:`alliance.mixed.marginal`), ``Phi = (X'V^-1X)^-1`` and, summed over the independent
clusters,

    P_i  = X'V^-1 G_i V^-1 X,
    Q_ij = X'V^-1 G_i V^-1 G_j V^-1 X,
    I_ij = 1/2 tr(V^-1 G_i V^-1 G_j) - tr(Phi Q_ij) + 1/2 tr(Phi P_i Phi P_j)

(``I`` the expected REML information of ``tau``; pbkrtest's ``IE2`` is ``2 I``),

    W   = I^-1   (a pseudo-inverse when an eigenvalue of 2 I is below 1e-10 in absolute
                  value, as pbkrtest),
    Phi_A = Phi + 2 Phi (sum_ij W_ij (Q_ij - P_i Phi P_j)) Phi.

The second-derivative term of Kenward & Roger vanishes because ``V`` is linear in ``tau``.
For a ``q x p`` contrast matrix ``L`` of rank ``q``, with ``Theta = L'(L Phi L')^-1 L`` and
``U_i = Theta Phi P_i Phi``::

    A1 = sum_ij W_ij tr(U_i) tr(U_j),   A2 = sum_ij W_ij tr(U_i U_j),
    B  = (A1 + 6 A2) / (2 q),   g = ((q + 1) A1 - (q + 4) A2) / ((q + 2) A2),
    c1 = g / (3q + 2(1 - g)),  c2 = (q - g) / (3q + 2(1 - g)),  c3 = (q + 2 - g) / (3q + 2(1 - g)),
    E* = 1 / (1 - A2/q),       V* = 2/q (1 + c1 B) / ((1 - c2 B)^2 (1 - c3 B)),
    rho = V* / (2 E*^2),       ddf = 4 + (q + 2) / (q rho - 1),
    lambda = ddf (1 - A2/q) / (ddf - 2)   (1 when |ddf - 2| < 0.01),

and ``F = lambda (L beta)'(L Phi_A L')^-1 (L beta) / q`` is referred to ``F(q, ddf)``. A single
contrast (``q = 1``) gives lmerTest's t test: ``SE = sqrt(l' Phi_A l)`` on ``ddf`` df.

Kenward-Roger is defined for REML fits only (lmerTest refuses ML fits; pbkrtest refits them).
At a boundary fit (a variance at 0) pbkrtest still computes, treating that variance as a free
parameter at 0; so does :func:`kenward_roger`, with a :class:`BoundaryWarning`. Residual
strata (``residual_groups``, nlme's varIdent) are handled: each stratum's residual variance is
one ``tau_i`` with ``G_i`` the indicator of its rows (the parametrization SAS's
``REPEATED / GROUP=`` uses; pbkrtest has no such models, so there is no R reference for it).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import special

from alliance.errors import BoundaryWarning, SpecificationError
from alliance.mixed.marginal import MarginalModel

if TYPE_CHECKING:
    from alliance.mixed.result import MixedResult

#: pbkrtest inverts ``2 I`` when its smallest absolute eigenvalue exceeds this, and takes the
#: Moore-Penrose inverse otherwise.
SINGULAR_INFORMATION = 1e-10

#: What a Kenward-Roger result at a boundary fit says (a warning, and in ``result.warnings``).
BOUNDARY_NOTE = (
    "Kenward-Roger at a boundary (singular) fit: a variance estimated as 0 is treated as a free "
    "parameter at 0 (as pbkrtest does); the adjusted SEs and df may be unreliable"
)


@dataclass(frozen=True)
class KenwardRogerTest:
    """The Kenward-Roger F test of ``L beta = rhs`` (pbkrtest's ``KRmodcomp`` statistics).

    ``statistic`` is the scaled F, ``unscaled`` the Wald F with ``Phi_A`` before scaling,
    ``scaling`` lambda; ``a1``, ``a2`` and ``rho`` are Kenward & Roger's auxiliary quantities.
    """

    ndf: int
    ddf: float
    statistic: float
    p_value: float
    scaling: float
    unscaled: float
    a1: float
    a2: float
    rho: float


@dataclass(frozen=True)
class KenwardRoger:
    """The Kenward-Roger quantities of a fit.

    Attributes
    ----------
    vcov : numpy.ndarray
        ``Phi = (X'V^-1X)^-1``, the unadjusted covariance of the fixed effects.
    vcov_adjusted : numpy.ndarray
        ``Phi_A``, the adjusted covariance (pbkrtest's ``vcovAdj``).
    p_matrices : numpy.ndarray
        ``P_i = X'V^-1 G_i V^-1 X``, shape ``(k, p, p)`` (pbkrtest stores ``-P_i``).
    w : numpy.ndarray
        ``W = I^-1``, the asymptotic covariance of ``tau``.
    names : tuple of str
        The variance-covariance parameters ``tau``.
    """

    vcov: np.ndarray
    vcov_adjusted: np.ndarray
    p_matrices: np.ndarray
    w: np.ndarray
    names: tuple[str, ...]

    def _auxiliary(self, contrasts: np.ndarray) -> tuple[int, float, float]:
        """``q``, ``A1`` and ``A2`` of a full-row-rank contrast matrix."""
        q = int(np.linalg.matrix_rank(contrasts))
        if q < contrasts.shape[0]:
            raise SpecificationError(
                f"the {contrasts.shape[0]} contrast rows have rank {q}: give linearly "
                "independent rows"
            )
        middle = contrasts @ self.vcov @ contrasts.T
        theta = contrasts.T @ np.linalg.solve(middle, contrasts)
        u = np.einsum("ab,bc,icd,de->iae", theta, self.vcov, self.p_matrices, self.vcov)
        traces = np.einsum("iaa->i", u)
        a1 = float(traces @ self.w @ traces)
        a2 = float(np.einsum("ij,iab,jba->", self.w, u, u))
        return q, a1, a2

    def _ddf(self, q: int, a1: float, a2: float) -> tuple[float, float, float]:
        """Denominator df, F scaling and rho (pbkrtest's ``.KR_adjust``)."""
        b = (a1 + 6.0 * a2) / (2.0 * q)
        g = ((q + 1) * a1 - (q + 4) * a2) / ((q + 2) * a2)
        denominator = 3 * q + 2 * (1 - g)
        c1, c2, c3 = g / denominator, (q - g) / denominator, (q + 2 - g) / denominator
        v0 = 1.0 + c1 * b
        v1 = 1.0 - c2 * b
        v2 = 1.0 - c3 * b
        v0 = 0.0 if abs(v0) < 1e-10 else v0
        ratio = 1.0 if abs(1 - a2 / q) < 1e-14 and abs(v1) < 1e-14 else (1 - a2 / q) / v1
        rho = ratio**2 * v0 / v2 / q
        ddf = 4.0 + (q + 2) / (q * rho - 1)
        scaling = 1.0 if abs(ddf - 2) < 0.01 else ddf * (1 - a2 / q) / (ddf - 2)
        return ddf, scaling, rho

    def t_df(self, contrasts: np.ndarray) -> np.ndarray:
        """Kenward-Roger df of the t test of each row of ``contrasts`` (``pbkrtest::Lb_ddf``)."""
        rows = np.atleast_2d(np.asarray(contrasts, dtype=float))
        out = np.empty(len(rows))
        for index, row in enumerate(rows):
            out[index] = self._ddf(*self._auxiliary(row[None, :]))[0]
        return out

    def std_errors(self, contrasts: np.ndarray) -> np.ndarray:
        """``sqrt(l' Phi_A l)`` of each row of ``contrasts``."""
        rows = np.atleast_2d(np.asarray(contrasts, dtype=float))
        return np.sqrt(np.einsum("ka,ab,kb->k", rows, self.vcov_adjusted, rows))

    def f_test(
        self, contrasts: np.ndarray, beta: np.ndarray, rhs: np.ndarray | None = None
    ) -> KenwardRogerTest:
        """The scaled F test of ``contrasts @ beta = rhs`` (``rhs`` 0 by default).

        Parameters
        ----------
        contrasts : numpy.ndarray
            ``q x p`` matrix of linearly independent rows.
        beta : numpy.ndarray
            The fixed-effect estimates.
        rhs : numpy.ndarray, optional
            The hypothesised values of ``contrasts @ beta``.
        """
        matrix = np.atleast_2d(np.asarray(contrasts, dtype=float))
        q, a1, a2 = self._auxiliary(matrix)
        ddf, scaling, rho = self._ddf(q, a1, a2)
        difference = matrix @ np.asarray(beta, dtype=float)
        if rhs is not None:
            difference = difference - np.asarray(rhs, dtype=float)
        wald = float(difference @ np.linalg.solve(
            matrix @ self.vcov_adjusted @ matrix.T, difference))
        unscaled = wald / q
        statistic = scaling * unscaled
        p_value = float(special.fdtrc(q, ddf, statistic))
        return KenwardRogerTest(q, ddf, statistic, p_value, scaling, unscaled, a1, a2, rho)


def kenward_roger(result: MixedResult, marginal: MarginalModel | None = None) -> KenwardRoger:
    """Kenward-Roger's adjusted covariance and the quantities of its tests (module docstring).

    Works cluster by cluster over the outermost groups: the cost is that of the dense
    ``V_g`` of each cluster times the number of variance-covariance parameters squared.

    Raises
    ------
    SpecificationError
        If the fit is not REML (lmerTest refuses these too).

    Warns
    -----
    BoundaryWarning
        At a boundary (singular) fit: the variance at 0 is treated as a free parameter, as
        pbkrtest treats it, and the df may be far from a good small-sample reference.
    """
    if not result.reml:
        raise SpecificationError(
            "Kenward-Roger's method is defined for REML fits; refit with reml=True (or use "
            "Satterthwaite df with an ML fit)"
        )
    if result.singular:
        warnings.warn(BOUNDARY_NOTE, BoundaryWarning, stacklevel=2)
    model = marginal or MarginalModel.from_result(result)
    k, p = model.n_parameters, result.spec.n_fixed
    information_x = np.zeros((p, p))
    p_matrices = np.zeros((k, p, p))
    q_matrices = np.zeros((k, k, p, p))
    trace = np.zeros((k, k))
    for block in model.blocks(derivatives=True):
        assert block.derivatives is not None
        vx = block.v_inverse @ block.x
        information_x += block.x.T @ vx
        h = block.derivatives @ block.v_inverse
        o = block.derivatives @ vx
        p_matrices += np.einsum("ap,iaq->ipq", vx, o)
        q_matrices += np.einsum("iap,jaq->ijpq", o, block.v_inverse @ o)
        trace += np.einsum("iab,jba->ij", h, h)
    phi = np.linalg.inv(information_x)
    phi = 0.5 * (phi + phi.T)
    phi_p = np.einsum("ab,ibc->iac", phi, p_matrices)
    information = (trace
                   - 2.0 * np.einsum("ab,ijba->ij", phi, q_matrices)
                   + np.einsum("iab,jba->ij", phi_p, phi_p))  # pbkrtest's IE2 = 2 I
    information = 0.5 * (information + information.T)
    if np.min(np.abs(np.linalg.eigvalsh(information))) > SINGULAR_INFORMATION:
        w = 2.0 * np.linalg.inv(information)
    else:
        w = 2.0 * np.linalg.pinv(information)
    w = 0.5 * (w + w.T)
    correction = np.einsum(
        "ij,ijpq->pq", w, q_matrices - np.einsum("iab,bc,jcd->ijad", p_matrices, phi, p_matrices)
    )
    adjusted = phi + 2.0 * phi @ correction @ phi
    adjusted = 0.5 * (adjusted + adjusted.T)
    return KenwardRoger(phi, adjusted, p_matrices, w, model.names)
