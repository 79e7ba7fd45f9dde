"""The therapist population: factor scores and QPL items of the two-factor ordinal model."""

from __future__ import annotations

import numpy as np
import pytest

from alliance.simulate import StudyDesign
from alliance.simulate.population import draw_factor_scores, draw_qpl_responses


@pytest.fixture(scope="module")
def population() -> tuple[np.ndarray, np.ndarray]:
    model = StudyDesign.default().qpl
    rng = np.random.default_rng(11)
    scores = draw_factor_scores(model, rng, 40_000)
    return scores, draw_qpl_responses(model, rng, scores)


def test_factor_scores_follow_the_factor_correlation(
    population: tuple[np.ndarray, np.ndarray],
) -> None:
    scores, _ = population
    assert np.abs(scores.mean(axis=0)).max() < 0.02
    assert np.cov(scores.T) == pytest.approx(np.array([[1.0, -0.25], [-0.25, 1.0]]), abs=0.02)


def test_items_are_ordinal_and_track_their_factor(
    population: tuple[np.ndarray, np.ndarray],
) -> None:
    scores, items = population
    model = StudyDesign.default().qpl
    assert items.min() == 0 and items.max() == 5 and items.dtype.kind == "i"
    primary = np.abs(model.loading_matrix).argmax(axis=1)
    for k in range(model.n_items):
        own = np.corrcoef(items[:, k], scores[:, primary[k]])[0, 1]
        other = np.corrcoef(items[:, k], scores[:, 1 - primary[k]])[0, 1]
        # Ordinal items correlate a little less with the factor than their latent response.
        assert 0.8 * model.loading_matrix[k, primary[k]] < own
        assert abs(other) < abs(own)
    satisfaction, burden = primary == 0, primary == 1
    assert items[:, satisfaction].mean() > 2.5 > items[:, burden].mean()


def test_items_of_a_factor_correlate_about_the_product_of_their_loadings(
    population: tuple[np.ndarray, np.ndarray],
) -> None:
    _, items = population
    # Items 1 and 3 load 0.74 and 0.70 on Satisfactions: their latent responses correlate
    # 0.518; the ordinal responses a little less.
    correlation = np.corrcoef(items[:, 0], items[:, 2])[0, 1]
    assert 0.85 * 0.74 * 0.70 < correlation < 0.74 * 0.70 + 0.01
    # Items 1 and 2 load on different factors (r = -0.25): -0.25 * 0.74 * 0.72 = -0.133.
    assert -0.14 < np.corrcoef(items[:, 0], items[:, 1])[0, 1] < -0.09
