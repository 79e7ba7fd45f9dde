"""The bivariate normal distribution function against scipy's multivariate normal."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import ndtr
from scipy.stats import multivariate_normal

from alliance.scales import bivariate_normal_cdf


@pytest.mark.parametrize("rho", [-0.99, -0.93, -0.8, -0.5, 0.0, 0.2, 0.31, 0.6, 0.8, 0.95, 0.999])
def test_matches_scipy(rho):
    rng = np.random.default_rng(int(abs(rho) * 1000))
    x, y = rng.normal(scale=1.5, size=(2, 30))
    expected = multivariate_normal([0, 0], [[1, rho], [rho, 1]], abseps=1e-12, releps=1e-12).cdf(
        np.column_stack([x, y])
    )
    np.testing.assert_allclose(bivariate_normal_cdf(x, y, rho), expected, atol=1e-12)


def test_infinite_limits_and_independence():
    x = np.array([-np.inf, np.inf, 0.3, np.inf, 1.0])
    y = np.array([0.0, 0.5, np.inf, np.inf, -np.inf])
    np.testing.assert_allclose(
        bivariate_normal_cdf(x, y, 0.4), [0.0, ndtr(0.5), ndtr(0.3), 1.0, 0.0], atol=1e-15
    )
    grid = np.linspace(-2, 2, 5)
    np.testing.assert_allclose(
        bivariate_normal_cdf(grid[:, None], grid[None, :], 0.0),
        np.outer(ndtr(grid), ndtr(grid)),
        atol=1e-15,
    )
