"""efa(): parity with psych::fa / GPArotation, the result object, and input errors."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from alliance.errors import DataError, SpecificationError
from alliance.scales import EFAResult, efa

ROTATION_NAMES = {"geominQ": "geomin"}
CASES = [
    "bfi_minres_oblimin",
    "bfi_ml_varimax",
    "bfi_pa_promax",
    "bfi_minres_geomin",
    "bfi_minres_quartimax",
    "bfi_minres_none",
    "bfi_listwise_ml_oblimin",
    "bfi_poly_minres_oblimin",
    "harman_ml_oblimin",
    "harman_minres_oblimin_gam05",
    "harman_pa_varimax",
]
FIT_KEYS = [
    "objective", "chi_square", "df", "p", "rmsea", "rmsea_ci_low", "rmsea_ci_high", "tli", "bic",
    "null_chi_square", "empirical_chi_square", "rms", "crms",
]  # fmt: skip


def _inputs(case: dict[str, Any], bfi: pd.DataFrame, harman: pd.DataFrame, n_harman: int):
    kwargs: dict[str, Any] = {}
    if case["name"].startswith("harman"):
        data = harman
        kwargs["n_obs"] = n_harman
    else:
        data = bfi[case["items"]]
        if "listwise" in case["name"]:
            kwargs["missing"] = "listwise"
        if case["cor"] == "poly":
            kwargs["correlation"] = "polychoric"
    if "gam05" in case["name"]:
        kwargs["gamma"] = 0.5
    return data, kwargs


@pytest.fixture(scope="module")
def fitted(bfi, harman, psych_fits) -> dict[str, EFAResult]:
    """Every reference case fitted once (no parallel analysis: tested in test_parallel)."""
    out = {}
    n_harman = psych_fits["data"]["harman74_n_obs"]
    for name in CASES:
        case = psych_fits["fits"][name]
        data, kwargs = _inputs(case, bfi, harman, n_harman)
        out[name] = efa(
            data,
            case["n_factors"],
            method=case["fm"],
            rotation=ROTATION_NAMES.get(case["rotate"], case["rotate"]),
            parallel=False,
            **kwargs,
        )
    return out


@pytest.mark.parametrize("name", CASES)
def test_solution_matches_psych(name, fitted, psych_fits, match_factors):
    case = psych_fits["fits"][name]
    result = fitted[name]
    theirs = np.array(case["loadings"])
    order, signs = match_factors(result.pattern, theirs)
    # psych orders factors by variance accounted for, as we do: same order, same signs
    assert order == list(range(len(order)))
    assert np.all(signs == 1)
    np.testing.assert_allclose(result.pattern, theirs, atol=0.005)
    np.testing.assert_allclose(result.communality, case["communality"], atol=0.005)
    np.testing.assert_allclose(result.uniqueness, case["uniquenesses"], atol=0.005)
    np.testing.assert_allclose(result.phi, np.array(case["factor_correlations"]), atol=0.01)
    accounted = case["variance_accounted"]
    frame = result.variance_explained
    np.testing.assert_allclose(frame["ss_loadings"], accounted["SS loadings"], atol=0.01)
    np.testing.assert_allclose(frame["proportion_var"], accounted["Proportion Var"], atol=5e-4)


@pytest.mark.parametrize("name", [c for c in CASES if "varimax" not in c and "promax" not in c])
def test_gradient_projection_solutions_agree_closely(name, fitted, psych_fits):
    """Where psych also uses gradient projection (not stats::varimax's loose stopping rule),
    the loadings agree far inside the acceptance tolerance."""
    np.testing.assert_allclose(
        fitted[name].pattern, np.array(psych_fits["fits"][name]["loadings"]), atol=2e-4
    )


@pytest.mark.parametrize("name", CASES)
def test_fit_indices_match_psych(name, fitted, psych_fits):
    reference = psych_fits["fits"][name]["fit"]
    fit = fitted[name].fit.to_dict()
    # the polychoric matrix itself differs from psych's by up to 2e-5
    rtol = 2e-3 if "poly" in name else 2e-4
    for key in FIT_KEYS:
        expected = math.nan if reference[key] is None else reference[key]
        assert fit[key] == pytest.approx(expected, rel=rtol, abs=1e-10, nan_ok=True), key
    assert fit["n_obs"] == reference["n_obs"]


@pytest.mark.parametrize("name", CASES)
def test_rotation_matrix_reproduces_the_pattern(name, fitted):
    result = fitted[name]
    np.testing.assert_allclose(
        result.unrotated @ result.rotation_matrix, result.pattern, atol=1e-12
    )
    inverse = np.linalg.inv(result.rotation_matrix)
    np.testing.assert_allclose(inverse @ inverse.T, result.phi, atol=1e-10)
    np.testing.assert_allclose(
        np.diag(result.pattern @ result.phi @ result.pattern.T), result.communality, atol=1e-10
    )


def test_rotation_matrix_matches_psych_up_to_factor_order(fitted, psych_fits, match_factors):
    """psych keeps rot.mat in the order before it sorts the factors; align and compare."""
    case = psych_fits["fits"]["bfi_minres_oblimin"]
    theirs = np.array(case["rotation_matrix"])
    mine = fitted["bfi_minres_oblimin"].rotation_matrix
    order, signs = match_factors(mine, theirs)
    np.testing.assert_allclose(mine, theirs[:, order] * signs, atol=1e-3)


def test_listwise_counts_the_excluded_rows(fitted, bfi):
    result = fitted["bfi_listwise_ml_oblimin"]
    complete = int(bfi.notna().all(axis=1).sum())
    assert result.n_obs == complete == 2436
    assert result.n_excluded == len(bfi) - complete == 364


def test_pairwise_keeps_every_answering_row(fitted):
    result = fitted["bfi_minres_oblimin"]
    assert (result.n_obs, result.n_excluded, result.missing) == (2800, 0, "pairwise")


def test_result_is_immutable(fitted):
    result = fitted["bfi_minres_oblimin"]
    with pytest.raises(AttributeError):
        result.method = "ml"  # type: ignore[misc]
    with pytest.raises(ValueError, match="read-only"):
        result.pattern[0, 0] = 1.0
    frame = result.loadings
    frame.iloc[0, 0] = 99.0
    assert result.loadings.iloc[0, 0] != 99.0


def test_to_dict_follows_the_json_contract(fitted):
    result = fitted["bfi_minres_oblimin"]
    payload = result.to_dict()
    for key in ("items", "loadings", "communalities", "factor_correlations", "variance_explained",
                "parallel_analysis"):  # fmt: skip
        assert key in payload
    assert payload["items"] == list(result.items)
    assert len(payload["loadings"]) == 25
    first = payload["loadings"][0]
    assert first["item"] == "A1"
    assert first["F1"] == pytest.approx(result.pattern[0, 0], abs=0)
    assert payload["communalities"]["A1"] == pytest.approx(result.communality[0], abs=0)
    assert payload["factor_correlations"][0]["factor"] == "F1"
    assert payload["variance_explained"][0]["ss_loadings"] > 0
    assert payload["parallel_analysis"] is None  # not run for this fixture
    json.dumps(payload, allow_nan=False)


def test_parallel_analysis_is_part_of_the_result(harman):
    result = efa(harman, 4, n_obs=145, method="ml", parallel_iter=5)
    assert result.parallel is not None
    payload = result.to_dict()["parallel_analysis"]
    assert payload["suggested_factors"] == result.parallel.suggested_factors
    assert payload["n_iter"] == 5


def test_matrix_without_n_obs_has_no_chi_square(harman):
    result = efa(harman, 4, method="ml")
    assert result.n_obs is None and result.parallel is None
    assert math.isnan(result.fit.chi_square) and math.isnan(result.fit.rmsea)
    assert result.fit.rms > 0  # residual-based indices need no sample size
    payload = result.to_dict()
    assert payload["fit"]["chi_square"] is None and payload["n_obs"] is None
    json.dumps(payload, allow_nan=False)


def test_seeded_starts_are_reproducible_and_the_best_is_kept(bfi):
    data = bfi[[f"{s}{i}" for s in "AC" for i in range(1, 6)]]
    first = efa(data, 2, rotation="geomin", n_starts=6, seed=3, parallel=False)
    second = efa(data, 2, rotation="geomin", n_starts=6, seed=3, parallel=False)
    np.testing.assert_array_equal(first.pattern, second.pattern)
    info = first.fit_info
    assert len(info.rotation_start_criteria) == 6
    assert info.rotation_criterion == pytest.approx(min(info.rotation_start_criteria), abs=1e-9)


def test_single_factor_needs_no_rotation(bfi):
    result = efa(bfi, 1, items=[f"N{i}" for i in range(1, 6)], parallel=False)
    assert result.rotation == "none"
    assert result.pattern.shape == (5, 1)
    assert np.all(result.pattern > 0)


# --- errors -------------------------------------------------------------------------------


def test_wrong_item_is_named_with_suggestions(bfi):
    with pytest.raises(DataError, match=r"'a3' \(did you mean 'A3'\?\)") as error:
        efa(bfi, 1, items=["A1", "A2", "a3"])
    assert "items=None" in str(error.value)


def test_constant_item_is_named(bfi):
    data = bfi[["A1", "A2", "A3"]].assign(flat=3)
    with pytest.raises(DataError, match=r"'flat'.*every one of its 2800 responses is 3"):
        efa(data, 1)


def test_duplicated_item_makes_the_matrix_singular(bfi):
    data = bfi[["A1", "A2", "A3", "A4"]].dropna().assign(A2_copy=lambda d: d["A2"])
    with pytest.raises(DataError, match=r"singular.*'A2' and 'A2_copy'.*Remove one"):
        efa(data, 1)


def test_linear_dependency_names_the_items(bfi):
    data = bfi[["A1", "A2", "A3", "A4"]].dropna().assign(total=lambda d: d["A1"] + d["A2"])
    with pytest.raises(DataError, match=r"singular.*'A1', 'A2'.*'total'"):
        efa(data, 1)


def test_too_many_factors_for_the_items(bfi):
    items = ["A1", "A2", "A3", "A4", "A5"]
    with pytest.raises(SpecificationError, match=r"3 factors of 5 items leave df = -2.*<= 2"):
        efa(bfi, 3, items=items)
    with pytest.raises(SpecificationError, match=r"6 factors were requested from only 5 items"):
        efa(bfi, 6, items=items)
    with pytest.raises(SpecificationError, match="at least 1"):
        efa(bfi, 0, items=items)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "uls"}, "not an extraction method"),
        ({"rotation": "equamax"}, "not available"),
        ({"rotation": "varimax", "gamma": 0.5}, "oblimin rotation only"),
        ({"missing": "mean"}, "not a missing-data rule"),
        ({"correlation": "spearman"}, "pearson' or 'polychoric"),
        ({"n_obs": 100}, "only for a correlation matrix"),
    ],
)
def test_bad_settings(bfi, kwargs, message):
    with pytest.raises(SpecificationError, match=message):
        efa(bfi[["A1", "A2", "A3", "A4"]], 1, **kwargs)


def test_polychoric_needs_raw_responses(harman):
    with pytest.raises(SpecificationError, match="needs item responses"):
        efa(harman, 2, n_obs=145, correlation="polychoric")


def test_text_column_is_reported(bfi):
    data = bfi[["A1", "A2", "A3"]].copy()
    data["A2"] = data["A2"].astype(object)
    data.loc[4, "A2"] = "four"
    with pytest.raises(DataError, match=r"(?s)'A2'.*row 5: 'four'"):
        efa(data, 1)
