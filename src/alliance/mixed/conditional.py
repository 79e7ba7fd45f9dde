"""Conditional modes of the random effects (BLUPs) and their conditional variances.

Back-substitution through the level-by-level elimination of :mod:`alliance.mixed.objective`:
the outermost level's spherical effects are ``u_g = H_g [-beta; 1]``; an inner group's are
``u_c = H_c [-b_outer; -beta; 1]`` with ``b = Lambda u``. The conditional covariance (given
``beta`` and ``sigma``, as lme4's ``ranef(condVar = TRUE)``) is ``sigma^2 Lambda (M^-1)_gg Lambda'``
with ``M = Lambda' Z' W Z Lambda + I``; its diagonal blocks follow from the same factors,
``Cov(u_c) = A_c^-1 + K_c Cov(u_outer) K_c'`` with ``K_c`` the coupling of ``u_c`` to the
outer levels' effects. Checked against lme4's ``ranef`` on sleepstudy, Pastes and Pixel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import block_diag

from alliance.mixed.objective import Evaluation
from alliance.mixed.spec import MixedModelSpec
from alliance.mixed.statistics import Statistics


@dataclass(frozen=True)
class ConditionalEffects:
    """Per level: modes ``b`` (groups x q) and conditional covariances (groups x q x q)."""

    modes: tuple[np.ndarray, ...]
    covariances: tuple[np.ndarray, ...]


def conditional_effects(
    spec: MixedModelSpec, statistics: Statistics, evaluation: Evaluation, sigma2: float
) -> ConditionalEffects:
    """Conditional modes and covariances of every level's random effects."""
    n_levels = len(spec.levels)
    modes: list[np.ndarray] = [np.empty(0)] * n_levels
    spherical_cov: list[np.ndarray] = [np.empty(0)] * n_levels
    # joint[l]: covariance of (u_g, u_parent, u_grandparent, ...) for each group of level l
    joint: list[np.ndarray] = [np.empty(0)] * n_levels
    tail = np.append(-evaluation.beta, 1.0)
    for index in range(n_levels - 1, -1, -1):
        level = spec.levels[index]
        lam = evaluation.lambdas[index]
        # H in the full rest columns [Z_outer, X, y] (the elimination kept distinct ones)
        h = evaluation.h[index][:, :, statistics.levels[index].expand]
        ainv = evaluation.ainv[index]
        if index == n_levels - 1:
            u = h @ tail
            cov = ainv
            joint[index] = ainv
        else:
            ancestors = _ancestor_codes(spec, index)
            outer_b = np.concatenate(
                [modes[k][ancestors[k]] for k in range(index + 1, n_levels)], axis=1
            )
            rhs = np.concatenate([-outer_b, np.broadcast_to(tail, (level.n_groups, len(tail)))], axis=1)
            u = np.einsum("gqr,gr->gq", h, rhs)
            outer_lam = block_diag(*evaluation.lambdas[index + 1 :])
            q_outer = outer_lam.shape[0]
            coupling = h[:, :, :q_outer] @ outer_lam
            parent_joint = joint[index + 1][spec.levels[index].parent]
            cross = -np.einsum("gqk,gkm->gqm", coupling, parent_joint)
            cov = ainv - np.einsum("gqm,gpm->gqp", cross, coupling)
            joint[index] = np.block([[cov, cross], [np.swapaxes(cross, 1, 2), parent_joint]])
        modes[index] = u @ lam.T
        spherical_cov[index] = cov
    covariances = tuple(
        sigma2 * np.einsum("ij,gjk,lk->gil", lam, cov, lam)
        for lam, cov in zip(evaluation.lambdas, spherical_cov, strict=True)
    )
    return ConditionalEffects(tuple(modes), covariances)


def _ancestor_codes(spec: MixedModelSpec, index: int) -> dict[int, np.ndarray]:
    """For each group of level ``index``, its group index at every outer level."""
    codes: dict[int, np.ndarray] = {}
    current = np.arange(spec.levels[index].n_groups)
    for k in range(index, len(spec.levels) - 1):
        parent = spec.levels[k].parent
        assert parent is not None  # every level but the outermost has a parent
        current = parent[current]
        codes[k + 1] = current
    return codes


def random_contribution(spec: MixedModelSpec, modes: tuple[np.ndarray, ...]) -> np.ndarray:
    """``sum_l Z_l b_l`` for every observation of the model."""
    total = np.zeros(spec.n_obs)
    for level, b in zip(spec.levels, modes, strict=True):
        total += np.einsum("nq,nq->n", level.z, b[level.codes])
    return total
