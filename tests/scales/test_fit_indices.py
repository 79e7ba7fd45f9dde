"""Fit indices: degrees of freedom, limits on the number of factors, RMSEA interval."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import ncx2

from alliance.scales import degrees_of_freedom, extract, fit_indices, max_factors


@pytest.mark.parametrize(("p", "k", "df"), [(25, 5, 185), (24, 4, 186), (5, 2, 1), (5, 3, -2)])
def test_degrees_of_freedom(p, k, df):
    assert degrees_of_freedom(p, k) == df


@pytest.mark.parametrize(("p", "limit"), [(3, 1), (5, 2), (6, 3), (10, 6), (25, 18)])
def test_max_factors_is_the_ledermann_bound(p, limit):
    assert max_factors(p) == limit
    assert degrees_of_freedom(p, limit) >= 0 > degrees_of_freedom(p, limit + 1)


def test_rmsea_interval_brackets_the_statistic(harman):
    corr = harman.to_numpy()
    loadings = extract(corr, 2, "ml").loadings
    fit = fit_indices(corr, loadings, np.eye(2), 145)
    assert fit.rmsea_ci_low < fit.rmsea < fit.rmsea_ci_high
    assert fit.rmsea_level == pytest.approx(0.9)
    for bound, tail in ((fit.rmsea_ci_low, 0.95), (fit.rmsea_ci_high, 0.05)):
        ncp = bound**2 * (145 - 1) * fit.df
        assert ncx2.cdf(fit.chi_square, fit.df, ncp) == pytest.approx(tail, abs=1e-6)


def test_a_perfect_model_fits_perfectly():
    loadings = np.array([[0.8], [0.7], [0.6], [0.5]])
    corr = loadings @ loadings.T
    np.fill_diagonal(corr, 1.0)
    fit = fit_indices(corr, loadings, np.eye(1), 200)
    assert fit.chi_square == pytest.approx(0, abs=1e-10)
    assert fit.rmsea == 0 and fit.rmsea_ci_low == 0
    assert fit.rms == pytest.approx(0, abs=1e-12)
    assert fit.tli > 1


def test_unknown_sample_size_leaves_chi_square_undefined():
    loadings = np.array([[0.8], [0.7], [0.6], [0.5]])
    corr = np.full((4, 4), 0.4)
    np.fill_diagonal(corr, 1.0)
    fit = fit_indices(corr, loadings, np.eye(1), None)
    assert math.isnan(fit.chi_square) and math.isnan(fit.empirical_chi_square)
    assert fit.rms > 0
