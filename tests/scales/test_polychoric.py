"""Polychoric correlations: psych::polychoric parity and input checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alliance.errors import DataError
from alliance.scales import polychoric


def test_matches_psych_on_ten_bfi_items(bfi, psych_polychoric):
    result = polychoric(bfi, psych_polychoric["items"])
    np.testing.assert_allclose(result.matrix, np.array(psych_polychoric["rho"]), atol=1e-3)
    np.testing.assert_allclose(np.array(result.thresholds), np.array(psych_polychoric["tau"]),
                               atol=1e-12)  # fmt: skip
    assert not result.smoothed
    assert result.pair_counts[0, 0] == bfi["A1"].notna().sum()


def test_recovers_a_latent_correlation():
    rng = np.random.default_rng(4)
    latent = rng.multivariate_normal([0, 0], [[1, 0.6], [0.6, 1]], size=20000)
    cuts = [-1.0, 0.0, 0.8]
    data = pd.DataFrame(np.digitize(latent, cuts) + 1, columns=["x", "y"])
    result = polychoric(data)
    assert result.matrix[0, 1] == pytest.approx(0.6, abs=0.02)
    np.testing.assert_allclose(result.thresholds[0], cuts, atol=0.03)
    # Pearson on the categories attenuates the correlation
    assert data.corr().iloc[0, 1] < result.matrix[0, 1]


def test_too_many_categories_is_an_error():
    data = pd.DataFrame({"a": np.arange(40) % 20, "b": np.arange(40) % 3})
    with pytest.raises(DataError, match=r"'a' has 20 distinct responses"):
        polychoric(data)


def test_pairs_without_common_rows_are_an_error():
    data = pd.DataFrame({"a": [1, 2, 1, 2, np.nan, np.nan], "b": [np.nan] * 4 + [1, 2]})
    with pytest.raises(DataError, match=r"no row answered both 'b' and 'a'"):
        polychoric(data)
