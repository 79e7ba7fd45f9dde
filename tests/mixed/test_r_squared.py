"""Marginal and conditional R² (alliance.mixed.r_squared) against performance::r2_nakagawa.

The reference (tests/reference/performance_r2.json, performance 0.10.2 / insight 0.19.0) holds
the R² and the three variance components of lme4 fits with lme4's theta and sigma: at lme4's
optimum the numbers agree to rounding (measured: 1e-11 at most in any R²), at our own optimum
to what the difference of the two optima moves them (measured: at most 9.7e-6 in any R², on
Exam, where lme4 stopped early; 1.2e-4 relative in a variance component).
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from lme4_cases import REFERENCE, at_lme4_optimum, load, quiet_fit

from alliance.errors import BoundaryWarning
from alliance.mixed.r_squared import nakagawa_r2, r_squared

PERFORMANCE = json.loads((REFERENCE / "performance_r2.json").read_text())
CASES = {case["case"]: case for case in PERFORMANCE["cases"]}
FITS = [(name, method) for name, case in CASES.items() for method in case["fits"]]


def reference_numbers(fitted: dict) -> dict:
    """performance's numbers; for a singular fit those with ``tolerance = 0`` (the default
    tolerance gives NA for the conditional R², see test_singular_fit_warns_and_counts_zero)."""
    return fitted.get("tolerance_0", fitted["r2"])


@pytest.mark.parametrize(("name", "method"), FITS)
def test_r2_equals_performance_at_lme4s_optimum(name: str, method: str) -> None:
    case = CASES[name]
    fitted = case["fits"][method]
    result = at_lme4_optimum(quiet_fit(case["formula"], load(case), reml=method == "REML"),
                             fitted["theta"])
    assert result.sigma == pytest.approx(fitted["sigma"], rel=1e-9)
    want = reference_numbers(fitted)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BoundaryWarning)
        r2 = r_squared(result)
    assert r2.marginal == pytest.approx(want["marginal"], rel=1e-8, abs=1e-12)
    assert r2.conditional == pytest.approx(want["conditional"], rel=1e-8)
    assert r2.var_fixed == pytest.approx(want["var_fixed"], rel=1e-8, abs=1e-12)
    assert r2.var_random == pytest.approx(want["var_random"], rel=1e-8, abs=1e-12)
    assert r2.var_residual == pytest.approx(want["var_residual"], rel=1e-8)


@pytest.mark.parametrize(("name", "method"), FITS)
def test_r2_at_our_optimum_is_within_1e_4_of_performance(name: str, method: str) -> None:
    case = CASES[name]
    result = quiet_fit(case["formula"], load(case), reml=method == "REML")
    want = reference_numbers(case["fits"][method])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BoundaryWarning)
        r2 = result.r2
    assert r2.marginal == pytest.approx(want["marginal"], abs=1e-4)
    assert r2.conditional == pytest.approx(want["conditional"], abs=1e-4)


def test_nakagawa_r2_is_the_formula_of_the_module() -> None:
    """Against a dense ``Z D Z'`` and a variance with divisor n - 1, written out."""
    rng = np.random.default_rng(3)
    n = 40
    x = np.column_stack([np.ones(n), rng.normal(size=n), rng.normal(size=n)])
    beta = np.array([1.0, 0.5, -2.0])
    z1 = np.column_stack([np.ones(n), x[:, 1]])
    z2 = np.ones((n, 1))
    d1 = np.array([[2.0, 0.3], [0.3, 0.5]])
    d2 = np.array([[0.7]])
    residual = rng.uniform(0.5, 2.0, size=n)
    r2 = nakagawa_r2(x, beta, [z1, z2], [d1, d2], residual)
    fitted = x @ beta
    var_fixed = np.sum((fitted - fitted.mean()) ** 2) / (n - 1)
    var_random = np.trace(z1 @ d1 @ z1.T + z2 @ d2 @ z2.T) / n
    total = var_fixed + var_random + residual.mean()
    assert r2.marginal == pytest.approx(var_fixed / total, rel=1e-12)
    assert r2.conditional == pytest.approx((var_fixed + var_random) / total, rel=1e-12)
    assert r2.var_residual == pytest.approx(residual.mean(), rel=1e-12)


def test_singular_fit_warns_and_counts_zero() -> None:
    """Dyestuff2: the Batch variance is 0. performance (default tolerance) refuses the
    conditional R² with a warning; here it is computed, with the zero counted as 0, and a
    BoundaryWarning says so."""
    case = CASES["dyestuff2_singular"]
    default = case["fits"]["REML"]["r2"]
    assert default["conditional"] is None and default["messages"]
    result = quiet_fit(case["formula"], load(case))
    assert result.singular
    with pytest.warns(BoundaryWarning, match="counts as 0"):
        r2 = result.r2
    assert r2.var_random == 0.0
    assert r2.conditional == r2.marginal == pytest.approx(0.0, abs=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert result.to_dict()["r2"] == r2.to_dict()
        assert "R²" in result.summary()


def test_residual_strata_use_the_mean_residual_variance() -> None:
    """Orthodont with a residual variance per Sex (nlme's varIdent): the residual variance is
    the mean over the observations of each one's stratum variance. Checked against the R²
    computed from nlme's estimates (tests/reference/mixed/orthodont_varident.json)."""
    case = json.loads((REFERENCE / "mixed" / "orthodont_varident.json").read_text())
    nlme = case["fits"]["REML"]
    data = pd.read_csv(REFERENCE / "data" / "orthodont.csv")
    data["Sex"] = pd.Categorical(data["Sex"], categories=["Male", "Female"])
    result = quiet_fit("distance ~ age + Sex + (age | Subject)", data,
                       residual_groups="Sex")
    female = (data["Sex"] == "Female").to_numpy()
    sd = nlme["sigma"] * np.where(female, nlme["varident_ratios"]["Female"], 1.0)
    beta = np.array([row["estimate"] for row in nlme["fixed_effects"]])
    covariance = np.array(nlme["random_effects"][0]["covariance"])
    x = np.column_stack([np.ones(len(data)), data["age"], female])
    want = nakagawa_r2(x, beta, [x[:, :2]], [covariance], sd**2)
    r2 = result.r2
    assert r2.var_residual == pytest.approx(np.mean(sd**2), rel=1e-4)
    assert r2.marginal == pytest.approx(want.marginal, abs=1e-4)
    assert r2.conditional == pytest.approx(want.conditional, abs=1e-4)
    # the pooled residual variance lies between the two strata's, not at the reference one
    assert nlme["sigma"] ** 2 * nlme["varident_ratios"]["Female"] ** 2 < r2.var_residual
    assert r2.var_residual < nlme["sigma"] ** 2


def test_r2_is_in_the_json_contract_and_the_summary() -> None:
    case = CASES["sleepstudy_slopes"]
    result = quiet_fit(case["formula"], load(case))
    payload = result.to_dict()
    assert set(payload["r2"]) == {"marginal", "conditional"}
    assert payload["r2"]["marginal"] == pytest.approx(0.278651, abs=1e-4)
    assert "marginal 0.2787, conditional 0.7992" in result.summary()
    assert "marginal 0.2787" in result._repr_html_()
