"""Stage 2 of a fit: the compressed statistics, computed in one pass over the data.

Everything the profiled deviance needs is a set of small per-group cross-products (DESIGN.md,
"The engine"): per level ``l`` and group ``g`` and residual stratum ``s``,
``P[g, s] = sum z_l z_l'`` and ``R[g, s] = sum z_l [Z_outer, X, y]'``, plus
``T[s] = sum [X, y][X, y]'``. None of it depends on the covariance parameters, so a deviance
evaluation never touches the observations again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from alliance.mixed.kernels import accumulate_level
from alliance.mixed.spec import ModelSpec


@dataclass(frozen=True)
class LevelStatistics:
    """Cross-products of one level (arrays indexed group, stratum, row, column)."""

    p: np.ndarray
    r: np.ndarray
    parent: np.ndarray
    n_parents: int

    @property
    def q(self) -> int:
        return int(self.p.shape[2])

    @property
    def n_rest(self) -> int:
        return int(self.r.shape[3])


@dataclass(frozen=True)
class Statistics:
    """All the data a deviance evaluation needs; its size is independent of the sessions."""

    levels: tuple[LevelStatistics, ...]
    t: np.ndarray
    n_per_stratum: np.ndarray
    n_obs: int
    n_fixed: int


def compute_statistics(spec: ModelSpec) -> Statistics:
    """One pass over the observations: the per-group cross-products of ``[Z, X, y]``."""
    z_blocks = [level.z for level in spec.levels]
    aug = np.ascontiguousarray(np.column_stack([*z_blocks, spec.x, spec.y]), dtype=np.float64)
    n_strata = len(spec.strata_labels)
    strata = np.ascontiguousarray(spec.strata, dtype=np.int64)
    levels = []
    offset = 0
    for index, level in enumerate(spec.levels):
        p_stat, r_stat = accumulate_level(
            aug, offset, level.q, np.ascontiguousarray(level.codes, dtype=np.int64),
            strata, level.n_groups, n_strata,
        )
        if level.parent is None:
            parent = np.zeros(level.n_groups, dtype=np.int64)
            n_parents = 1
        else:
            parent = level.parent.astype(np.int64)
            n_parents = spec.levels[index + 1].n_groups
        levels.append(LevelStatistics(p_stat, r_stat, parent, n_parents))
        offset += level.q
    xy = aug[:, offset:]
    t = np.empty((n_strata, xy.shape[1], xy.shape[1]))
    for s in range(n_strata):
        rows = xy[strata == s] if n_strata > 1 else xy
        t[s] = rows.T @ rows
    counts = np.bincount(strata, minlength=n_strata).astype(float)
    return Statistics(tuple(levels), t, counts, spec.n_obs, spec.n_fixed)
