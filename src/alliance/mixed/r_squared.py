"""Explained variance of a linear mixed model: marginal and conditional R².

Nakagawa & Schielzeth (2013, Methods Ecol Evol 4:133-142) split the variance of the response
into the variance of the fixed-effect predictions, the random-effect variance and the residual
variance; Johnson (2014, Methods Ecol Evol 5:944-946) extended the random part to random
slopes as the mean over the observations of the variance the random effects add to each::

    var_fixed    = var(X beta)                                (divisor n - 1)
    var_random   = sum over levels of  mean_i z_i' D z_i      (mean of diag(Z D Z'))
    var_residual = mean_i sigma_i^2
    R²_marginal    = var_fixed / (var_fixed + var_random + var_residual)
    R²_conditional = (var_fixed + var_random) / (var_fixed + var_random + var_residual)

with ``z_i`` the random-effect columns of observation ``i`` at a level and ``D`` that level's
covariance matrix. This is what ``performance::r2_nakagawa`` computes for a linear ``lmerMod``
(performance 0.10.2, insight 0.19.0: ``stats::var`` of the fixed predictions, hence the
``n - 1``; the residual variance ``sigma(m)^2``): at lme4's optimum the R² agree within
1e-11 on sleepstudy, Orthodont, Oxboys, Exam, Pastes, Dyestuff2 and a three-level alliance
study (tests/reference/performance_r2.json, tests/mixed/test_r_squared.py). insight takes ``Z`` from the columns of the
fixed-effects design with the same names (and drops, with a warning, a random slope that is
not also a fixed effect); here ``Z`` is the model's own random-effects design, which is the
same wherever every random-effect column is also a fixed-effect column.

Residual strata (``residual_groups``, nlme's varIdent): observation ``i`` has the residual
variance of its stratum, ``sigma^2 / w_s``, and ``var_residual`` is their mean over the
observations, as ``var_random`` is the mean over the observations of the random part; with
one stratum it is ``sigma^2``. The R² are then those of the pooled sample of observations.

A boundary (singular) fit: a variance estimated as 0 contributes 0, and the R² are computed
with the estimates as they are, with a :class:`alliance.errors.BoundaryWarning`.
performance returns NA for the conditional R² of such a fit (with its default tolerance; with
``tolerance = 0`` it computes the same numbers as here).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from alliance.errors import BoundaryWarning

if TYPE_CHECKING:
    from alliance.mixed.result import MixedResult


@dataclass(frozen=True)
class RSquared:
    """Marginal and conditional R² and the variances they are made of (module docstring)."""

    marginal: float
    conditional: float
    var_fixed: float
    var_random: float
    var_residual: float

    def to_dict(self) -> dict[str, float]:
        """``{"marginal": ..., "conditional": ...}`` (the ``alliance fit --json`` contract)."""
        return {"marginal": self.marginal, "conditional": self.conditional}


def nakagawa_r2(
    x: np.ndarray,
    beta: np.ndarray,
    z: Sequence[np.ndarray],
    covariances: Sequence[np.ndarray],
    residual_variance: np.ndarray | float,
) -> RSquared:
    """Nakagawa & Schielzeth's R² with Johnson's random-slope variance (module docstring).

    Parameters
    ----------
    x : numpy.ndarray
        ``n x p`` fixed-effects design.
    beta : numpy.ndarray
        Fixed-effect estimates.
    z : sequence of numpy.ndarray
        The ``n x q_k`` random-effects design of each grouping level.
    covariances : sequence of numpy.ndarray
        The ``q_k x q_k`` covariance matrix of each level's random effects.
    residual_variance : numpy.ndarray or float
        The residual variance of each observation (or one for all).
    """
    x = np.asarray(x, dtype=float)
    n_obs = len(x)
    if n_obs < 2:
        raise ValueError("R² needs at least two observations")
    var_fixed = float(np.var(x @ np.asarray(beta, dtype=float), ddof=1))
    var_random = float(sum(
        np.einsum("ij,jk,ik->", design, covariance, design) / n_obs
        for design, covariance in zip(z, covariances, strict=True)
    ))
    var_residual = float(np.mean(np.broadcast_to(residual_variance, (n_obs,))))
    total = var_fixed + var_random + var_residual
    return RSquared(
        marginal=var_fixed / total,
        conditional=(var_fixed + var_random) / total,
        var_fixed=var_fixed,
        var_random=var_random,
        var_residual=var_residual,
    )


def r_squared(result: MixedResult, *, warn: bool = True) -> RSquared:
    """Marginal and conditional R² of a fitted model (module docstring).

    Parameters
    ----------
    result : MixedResult
        The fitted model.
    warn : bool
        Warn (:class:`alliance.errors.BoundaryWarning`) when the fit is singular. The summary
        and the JSON output pass False: they report the singular fit among the result's
        warnings.
    """
    spec = result.spec
    if warn and result.singular:
        warnings.warn(
            "R² of a boundary (singular) fit: a random-effect variance estimated as 0 counts "
            "as 0 (performance::r2_nakagawa returns NA for the conditional R² of such a fit); "
            "consider simplifying the random effects",
            BoundaryWarning,
            stacklevel=2,
        )
    weights = result.objective.layout.strata_weights(result.params)
    residual = result.sigma**2 / weights[spec.strata]
    covariances = [cov.to_numpy() for cov in result.covariance_matrices().values()]
    return nakagawa_r2(spec.x, result.beta, [level.z for level in spec.levels], covariances,
                       residual)
