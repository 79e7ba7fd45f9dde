"""Gradient-projection rotations: criteria, gradients, random starts, promax, ordering."""

from __future__ import annotations

import numpy as np
import pytest

from alliance.errors import SpecificationError
from alliance.scales import rotate
from alliance.scales import rotation as rotation_module

CRITERIA = {
    "varimax": rotation_module._varimax,
    "quartimax": rotation_module._quartimax,
    "oblimin": rotation_module._oblimin(0.0, 12),
    "biquartimin": rotation_module._oblimin(0.5, 12),
    "geomin": rotation_module._geomin(0.01),
}


def _loadings(seed: int = 0, p: int = 12, k: int = 3) -> np.ndarray:
    """Unrotated-looking loadings with a simple structure behind them: four items per factor
    loading 0.7, cross-loadings around 0, mixed by a random orthogonal matrix."""
    rng = np.random.default_rng(seed)
    pattern = np.kron(np.eye(k), np.full((p // k, 1), 0.7)) + rng.normal(scale=0.1, size=(p, k))
    mixing, _ = np.linalg.qr(rng.normal(size=(k, k)))
    return pattern @ mixing


@pytest.mark.parametrize("name", list(CRITERIA))
def test_criterion_gradient_matches_finite_differences(name):
    criterion = CRITERIA[name]
    loadings = _loadings(1)
    value, gradient = criterion(loadings)
    numeric = np.zeros_like(loadings)
    step = 1e-6
    for index in np.ndindex(loadings.shape):
        shifted = loadings.copy()
        shifted[index] += step
        up = criterion(shifted)[0]
        shifted[index] -= 2 * step
        numeric[index] = (up - criterion(shifted)[0]) / (2 * step)
    np.testing.assert_allclose(gradient, numeric, atol=1e-7)
    assert np.isfinite(value)


@pytest.mark.parametrize("method", ["varimax", "quartimax"])
def test_orthogonal_rotations_keep_communalities(method):
    loadings = _loadings(2)
    result = rotate(loadings, method)
    np.testing.assert_allclose(result.matrix.T @ result.matrix, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(result.phi, np.eye(3))
    np.testing.assert_allclose((result.loadings**2).sum(1), (loadings**2).sum(1), atol=1e-12)
    assert result.converged and result.orthogonal


@pytest.mark.parametrize("method", ["oblimin", "geomin", "promax"])
def test_oblique_rotations_reproduce_the_common_part(method):
    loadings = _loadings(3)
    result = rotate(loadings, method)
    np.testing.assert_allclose(
        result.loadings @ result.phi @ result.loadings.T, loadings @ loadings.T, atol=1e-10
    )
    np.testing.assert_allclose(np.diag(result.phi), 1.0)
    assert not result.orthogonal


@pytest.mark.parametrize("method", ["varimax", "oblimin", "geomin", "promax"])
def test_solution_does_not_depend_on_the_orientation_of_the_input(method):
    loadings = _loadings(4)
    q, _ = np.linalg.qr(np.random.default_rng(9).normal(size=(3, 3)))
    np.testing.assert_allclose(
        rotate(loadings @ q, method).loadings, rotate(loadings, method).loadings, atol=1e-4
    )


def test_factors_are_signed_and_ordered_by_variance():
    result = rotate(-_loadings(5), "oblimin")
    assert np.all(result.loadings.sum(axis=0) > 0)
    variance = np.diag(result.phi @ result.loadings.T @ result.loadings)
    assert np.all(np.diff(variance) <= 0)


def test_random_starts_escape_a_local_optimum():
    """geomin on these loadings: the identity start (psych's only start) stops at a local
    optimum (criterion 0.7099); two random starts reach 0.6767 after more than max_iter
    iterations and the best one is iterated to convergence."""
    loadings = np.random.default_rng(0).normal(scale=0.5, size=(12, 4))
    single = rotate(loadings, "geomin", n_starts=1)
    several = rotate(loadings, "geomin", n_starts=6, seed=1)
    assert single.criterion == pytest.approx(0.709926, abs=1e-6)
    assert several.criterion == pytest.approx(0.676652, abs=1e-6)
    assert several.best_start != 0 and several.converged
    assert several.start_criteria[0] == pytest.approx(single.criterion)


def test_kaiser_normalisation_follows_psych_defaults_and_can_be_set():
    loadings = _loadings(6)
    assert rotate(loadings, "varimax").normalized
    assert rotate(loadings, "promax").normalized
    assert not rotate(loadings, "oblimin").normalized
    assert rotate(loadings, "oblimin", normalize=True).normalized


def test_bad_arguments():
    with pytest.raises(SpecificationError, match="not available"):
        rotate(_loadings(), "equamax")
    with pytest.raises(SpecificationError, match="at least 1"):
        rotate(_loadings(), "oblimin", n_starts=0)
