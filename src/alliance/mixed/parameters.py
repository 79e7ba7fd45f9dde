"""The covariance parameters: lme4's theta (relative covariance factors) and residual ratios.

Each level's relative covariance factor ``Lambda_l`` is block diagonal over its terms; a
correlated term contributes a lower-triangular block (its entries column by column, as lme4's
``theta``), an uncorrelated term (``||``) a single diagonal entry. Residual strata after the
first get ``rho_s = log(delta_s)``, the log of their residual SD relative to the first stratum.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from alliance.mixed.spec import MixedModelSpec


@dataclass(frozen=True)
class LevelParameters:
    """Where a level's theta entries sit in its ``q x q`` factor."""

    name: str
    q: int
    rows: np.ndarray
    cols: np.ndarray
    start: int
    stop: int
    column_names: tuple[str, ...]


@dataclass(frozen=True)
class ParameterLayout:
    """Layout of the optimizer's parameter vector ``[theta..., rho...]``."""

    levels: tuple[LevelParameters, ...]
    n_theta: int
    n_strata: int
    strata_labels: tuple[str, ...]

    @classmethod
    def from_spec(cls, spec: MixedModelSpec) -> ParameterLayout:
        levels = []
        position = 0
        for level in spec.levels:
            rows: list[int] = []
            cols: list[int] = []
            offset = 0
            for block in level.blocks:
                for j in range(block.size):
                    for i in range(j, block.size if block.correlated else j + 1):
                        rows.append(offset + i)
                        cols.append(offset + j)
                offset += block.size
            count = len(rows)
            levels.append(
                LevelParameters(
                    level.name, level.q, np.array(rows, dtype=np.int64),
                    np.array(cols, dtype=np.int64), position, position + count,
                    level.column_names,
                )
            )
            position += count
        return cls(tuple(levels), position, len(spec.strata_labels), spec.strata_labels)

    @property
    def size(self) -> int:
        return self.n_theta + self.n_strata - 1

    def lambdas(self, params: np.ndarray) -> list[np.ndarray]:
        """The relative covariance factor of each level."""
        factors = []
        for level in self.levels:
            factor = np.zeros((level.q, level.q))
            factor[level.rows, level.cols] = params[level.start : level.stop]
            factors.append(factor)
        return factors

    def strata_weights(self, params: np.ndarray) -> np.ndarray:
        """Residual precision weights ``w_s = delta_s^-2`` (``w_0 = 1``).

        A new writeable array each time: the compiled passes are compiled for writeable
        arrays, and a read-only one would compile a second version of them.
        """
        if self.n_strata == 1:
            return np.ones(1)
        rho = np.concatenate([[0.0], params[self.n_theta :]])
        return np.exp(-2.0 * rho)

    def start(self) -> np.ndarray:
        """lme4's starting point: identity factors, equal residual variances."""
        values = np.zeros(self.size)
        for level in self.levels:
            values[level.start : level.stop] = (level.rows == level.cols).astype(float)
        return values

    def canonical(self, params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Flip every factor column whose diagonal entry is negative.

        ``Lambda Lambda'`` (and so the deviance) is unchanged when a column of ``Lambda``
        changes sign; lme4 reports the representative with a non-negative diagonal. Returns
        the canonical parameters and the sign applied to each (to carry a gradient along).
        """
        values = np.asarray(params, dtype=float).copy()
        signs = np.ones(self.size)
        for level in self.levels:
            block = values[level.start : level.stop]
            for column in np.unique(level.cols):
                diagonal = np.flatnonzero((level.rows == column) & (level.cols == column))[0]
                if block[diagonal] < 0:
                    entries = level.start + np.flatnonzero(level.cols == column)
                    values[entries] *= -1.0
                    signs[entries] = -1.0
        return values, signs

    def lower_bounds(self) -> np.ndarray:
        """Diagonal entries of the factors are non-negative; everything else is free."""
        bounds = np.full(self.size, -np.inf)
        for level in self.levels:
            diagonal = level.rows == level.cols
            bounds[level.start : level.stop][diagonal] = 0.0
        return bounds

    def is_diagonal(self) -> np.ndarray:
        """Which parameters are diagonal entries of a factor (for singularity checks)."""
        flags = np.zeros(self.size, dtype=bool)
        for level in self.levels:
            flags[level.start : level.stop] = level.rows == level.cols
        return flags
