"""Pairwise correlations, correlation-matrix checks, SMCs and smoothing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alliance.errors import DataError
from alliance.scales.correlation import (
    check_positive_definite,
    correlation_from_frame,
    looks_like_correlation,
    pairwise_correlation,
    pairwise_moments,
    smc,
    smooth_correlation,
)


def test_pairwise_statistics_match_pandas(bfi):
    """pandas, like R's use = "pairwise", uses each pair's common rows for means and SDs."""
    values = bfi.to_numpy(dtype=float)
    corr, counts = pairwise_correlation(values)
    np.testing.assert_allclose(corr, bfi.corr().to_numpy(), atol=1e-13)
    cov, _ = pairwise_moments(values)
    np.testing.assert_allclose(cov, bfi.cov().to_numpy(), atol=1e-13)
    assert counts[0, 1] == bfi[["A1", "A2"]].dropna().shape[0]


def test_complete_data_path_equals_numpy():
    values = np.random.default_rng(0).normal(size=(50, 4))
    corr, counts = pairwise_correlation(values)
    np.testing.assert_allclose(corr, np.corrcoef(values, rowvar=False), atol=1e-14)
    assert np.all(counts == 50)


def test_smc_is_one_minus_inverse_diagonal(harman):
    corr = harman.to_numpy()
    np.testing.assert_allclose(smc(corr), 1 - 1 / np.diag(np.linalg.inv(corr)), atol=1e-12)


def test_smoothing_repairs_an_indefinite_matrix_only():
    indefinite = np.array([[1, 0.9, -0.9], [0.9, 1, 0.9], [-0.9, 0.9, 1]])
    smoothed, changed = smooth_correlation(indefinite)
    assert changed
    assert np.linalg.eigvalsh(smoothed).min() > 0
    np.testing.assert_allclose(np.diag(smoothed), 1)
    fine = np.array([[1, 0.3], [0.3, 1]])
    assert smooth_correlation(fine) == (fine, False)


def test_correlation_frames_are_recognised_and_checked(harman):
    assert looks_like_correlation(harman)
    assert not looks_like_correlation(harman.iloc[:, :5])
    bad = harman.copy()
    bad.iloc[0, 1] = 0.99
    with pytest.raises(DataError, match="not symmetric"):
        correlation_from_frame(bad)
    relabelled = harman.copy()
    relabelled.index = [f"x{i}" for i in range(len(harman))]
    with pytest.raises(DataError, match="same item names"):
        correlation_from_frame(relabelled)


def test_singular_matrix_names_the_reversed_copy():
    values = np.random.default_rng(1).normal(size=(30, 3))
    values = np.column_stack([values, -values[:, 1]])
    corr = np.corrcoef(values, rowvar=False)
    with pytest.raises(DataError, match=r"'b' and 'b_reversed'"):
        check_positive_definite(corr, ("a", "b", "c", "b_reversed"))


def test_fewer_rows_than_items_is_singular():
    frame = pd.DataFrame(np.random.default_rng(2).normal(size=(4, 6)))
    corr = frame.corr().to_numpy()
    with pytest.raises(DataError, match="fewer complete rows than items"):
        check_positive_definite(corr, tuple("abcdef"))
