"""Reliability: psych::alpha and psych::omega(nfactors = 1) on the five bfi scales."""

from __future__ import annotations

import numpy as np
import pytest

from alliance.errors import DataError, SpecificationError
from alliance.scales import reliability

SCALES = ["agreeableness", "conscientiousness", "extraversion", "neuroticism", "openness"]


@pytest.mark.parametrize("scale", SCALES)
def test_alpha_and_item_statistics_match_psych(scale, bfi, psych_reliability):
    reference = psych_reliability["scales"][scale]
    result = reliability(bfi, reference["items"], reverse=reference["reverse"])
    assert result.alpha == pytest.approx(reference["raw_alpha"], abs=1e-10)
    assert result.std_alpha == pytest.approx(reference["std_alpha"], abs=1e-10)
    assert result.std_error == pytest.approx(reference["ase"], abs=1e-10)
    assert result.ci_low == pytest.approx(reference["feldt_low"], abs=1e-10)
    assert result.ci_high == pytest.approx(reference["feldt_high"], abs=1e-10)
    assert result.total_mean == pytest.approx(reference["total_mean"], abs=1e-10)
    assert result.total_sd == pytest.approx(reference["total_sd"], abs=1e-10)
    items = result.to_frame()
    np.testing.assert_allclose(items["alpha_if_deleted"], reference["alpha_if_deleted"], atol=1e-10)
    np.testing.assert_allclose(
        items["std_alpha_if_deleted"], reference["std_alpha_if_deleted"], atol=1e-10
    )
    np.testing.assert_allclose(items["item_rest_r"], reference["item_rest_r"], atol=1e-10)
    np.testing.assert_allclose(items["item_total_r"], reference["item_total_r"], atol=1e-10)
    np.testing.assert_allclose(items["mean"], reference["item_mean"], atol=1e-10)
    np.testing.assert_allclose(items["sd"], reference["item_sd"], atol=1e-10)
    np.testing.assert_array_equal(items["n"], reference["item_n"])
    assert result.omega_total == pytest.approx(reference["omega_total"], abs=1e-6)


def test_reversing_changes_alpha_but_not_omega(bfi):
    items = ["A1", "A2", "A3", "A4", "A5"]
    keyed = reliability(bfi, items, reverse=["A1"])
    unkeyed = reliability(bfi, items)
    assert keyed.alpha > unkeyed.alpha
    assert keyed.omega_total == pytest.approx(unkeyed.omega_total, abs=1e-8)
    assert keyed.to_frame().loc["A1", "reversed"]
    assert (
        keyed.to_frame().loc["A1", "omega_loading"]
        > 0
        > unkeyed.to_frame().loc["A1", "omega_loading"]
    )


def test_score_range_sets_the_reversal(bfi):
    items = ["A1", "A2", "A3"]
    observed = reliability(bfi, items, reverse=["A1"])
    declared = reliability(bfi, items, reverse=["A1"], score_range=(0, 10))
    assert declared.alpha == pytest.approx(observed.alpha, abs=1e-12)
    mean_a1 = bfi["A1"].mean()
    assert declared.to_frame().loc["A1", "mean"] == pytest.approx(10 - mean_a1)


def test_listwise_counts_excluded_rows(bfi):
    items = ["C1", "C2", "C3", "C4", "C5"]
    result = reliability(bfi, items, missing="listwise")
    complete = int(bfi[items].notna().all(axis=1).sum())
    assert (result.n_obs, result.n_excluded) == (complete, len(bfi) - complete)
    assert result.to_dict()["n_excluded"] == len(bfi) - complete


def test_two_items_have_no_alpha_if_deleted(bfi):
    result = reliability(bfi, ["N1", "N2"])
    assert np.isnan(result.to_frame()["alpha_if_deleted"]).all()
    assert 0 < result.alpha < 1


def test_errors(bfi):
    with pytest.raises(SpecificationError, match=r"'X1'.*not among the scale's items"):
        reliability(bfi, ["A1", "A2"], reverse=["X1"])
    with pytest.raises(DataError, match=r"'const'.*no variance|'const'.*every one"):
        reliability(bfi[["A1", "A2"]].assign(const=1), reverse=[])
    with pytest.raises(SpecificationError, match="level"):
        reliability(bfi, ["A1", "A2"], level=95)
