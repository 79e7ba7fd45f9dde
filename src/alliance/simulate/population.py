"""Therapists of the reference population: true factor scores and their QPL item responses.

The model is :class:`~alliance.simulate.design_measures.QplModel`: ``F ~ N(0, Phi)``,
``y* = mu + L F + e`` with ``Var(e_k) = 1 - (L Phi L')_kk``, cut at the thresholds. The
reference sample and the study therapists are drawn from this same population.
"""

from __future__ import annotations

import numpy as np

from alliance.simulate.design_measures import QplModel
from alliance.simulate.ordinal import discretise


def draw_factor_scores(model: QplModel, rng: np.random.Generator, count: int) -> np.ndarray:
    """``count`` x factors true factor scores, ``N(0, factor_correlation)``."""
    factor = np.linalg.cholesky(model.correlation_matrix)
    return rng.standard_normal((count, len(model.factors))) @ factor.T


def draw_qpl_responses(
    model: QplModel, rng: np.random.Generator, factor_scores: np.ndarray
) -> np.ndarray:
    """Ordinal QPL item responses (respondents x items, integers on the item scale)."""
    count = factor_scores.shape[0]
    unique_sd = np.sqrt(model.unique_variances)
    latent = (
        np.asarray(model.intercepts, dtype=float)
        + factor_scores @ model.loading_matrix.T
        + rng.standard_normal((count, model.n_items)) * unique_sd
    )
    return discretise(latent, model.thresholds, model.scale_min)
