"""Likelihood-ratio tests: lme4's ``anova(m0, m1)`` on sleepstudy (tests/reference/mixed/sleepstudy_lrt.json)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alliance.errors import SpecificationError
from alliance.mixed import MixedResult, fit, likelihood_ratio_test, lrt
from alliance.mixed.compare import LRT_COLUMNS

REFERENCE = Path(__file__).resolve().parents[1] / "reference"
LRT = json.loads((REFERENCE / "mixed" / "sleepstudy_lrt.json").read_text())
SLEEP = pd.read_csv(REFERENCE / "data" / "sleepstudy.csv")


def quiet_fit(formula: str, data: pd.DataFrame = SLEEP, **kwargs: object) -> MixedResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit(formula, data, **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def reml_pair() -> tuple[MixedResult, MixedResult]:
    return quiet_fit(LRT["formula_null"]), quiet_fit(LRT["formula_alt"])


def test_matches_lme4_anova_refitting_reml_fits_by_ml(reml_pair):
    table = likelihood_ratio_test(*reml_pair)
    assert list(table.columns) == LRT_COLUMNS
    assert table["model"].tolist() == [LRT["formula_null"], LRT["formula_alt"]]
    assert table["n_params"].tolist() == [LRT["npar_null"], LRT["npar_alt"]]
    for column, key in [("deviance", "deviance"), ("loglik", "loglik"), ("aic", "aic"),
                        ("bic", "bic")]:
        np.testing.assert_allclose(table[column], [LRT[f"{key}_null"], LRT[f"{key}_alt"]],
                                   rtol=1e-8)
    second = table.iloc[1]
    assert second["chisq"] == pytest.approx(LRT["chisq"], rel=1e-6)
    assert second["df"] == LRT["df"]
    assert second["p"] == pytest.approx(LRT["p"], rel=1e-5)
    assert table.iloc[0][["chisq", "df", "p"]].isna().all()


def test_models_are_ordered_by_their_number_of_parameters(reml_pair):
    forward = lrt(*reml_pair)
    backward = lrt(reml_pair[1], reml_pair[0])
    pd.testing.assert_frame_equal(forward, backward)


def test_ml_fits_are_compared_as_they_are():
    null = quiet_fit(LRT["formula_null"], reml=False)
    alt = quiet_fit(LRT["formula_alt"], reml=False)
    table = lrt(null, alt, names=["intercept", "slope"])
    assert table["model"].tolist() == ["intercept", "slope"]
    assert table["deviance"].tolist() == [null.deviance, alt.deviance]
    assert table.iloc[1]["chisq"] == pytest.approx(LRT["chisq"], rel=1e-6)


def test_reml_criteria_compared_without_refit_when_fixed_effects_agree(reml_pair):
    table = lrt(*reml_pair, refit=False)
    intercept = json.loads((REFERENCE / "mixed" / "sleepstudy_intercept.json").read_text())
    slope = json.loads((REFERENCE / "mixed" / "sleepstudy_corr.json").read_text())
    expected = intercept["fits"]["REML"]["deviance"] - slope["fits"]["REML"]["deviance"]
    assert table.iloc[1]["chisq"] == pytest.approx(expected, rel=1e-6)


def test_reml_without_refit_refuses_different_fixed_effects(reml_pair):
    no_slope = quiet_fit("Reaction ~ 1 + (Days | Subject)")
    with pytest.raises(SpecificationError, match="identical fixed effects"):
        lrt(no_slope, reml_pair[1], refit=False)
    ml = quiet_fit(LRT["formula_alt"], reml=False)
    with pytest.raises(SpecificationError, match="different methods"):
        lrt(reml_pair[0], ml, refit=False)


def test_models_fitted_to_different_rows_are_refused(reml_pair):
    fewer = quiet_fit(LRT["formula_alt"], SLEEP.iloc[:-10])
    with pytest.raises(SpecificationError, match="not fitted to the same observations"):
        likelihood_ratio_test(reml_pair[0], fewer)


def test_smaller_model_comes_first(reml_pair):
    with pytest.raises(SpecificationError, match="smaller"):
        likelihood_ratio_test(reml_pair[1], reml_pair[0])
    with pytest.raises(SpecificationError, match="at least two"):
        lrt(reml_pair[0])


@pytest.mark.parametrize(("data", "formula"), [
    ("alliance_sim.csv", "wai ~ time + (time | therapist/patient)"),
    ("oxboys.csv", "height ~ age + (age | Subject)"),
    ("sleepstudy.csv", "Reaction ~ Days + (Days | Subject)"),
])
def test_an_ml_refit_starts_from_the_reml_search_curvature(data: str, formula: str) -> None:
    """The REML search's final quasi-Newton matrix starts the ML refit: the same ML optimum as
    a search from lme4's start, in fewer evaluations than from an identity matrix."""
    from alliance.mixed.compare import interior_start, refit_ml
    from alliance.mixed.fit import fit_spec

    frame = pd.read_csv(REFERENCE / "data" / data)
    reml = quiet_fit(formula, frame)
    assert reml.fit_info.inverse_hessian.shape == (len(reml.params),) * 2
    refit = refit_ml(reml)
    fresh = quiet_fit(formula, frame, reml=False)
    identity = fit_spec(reml.spec, reml=False,
                        start=interior_start(reml.objective.layout, reml.params))
    assert refit.deviance == pytest.approx(fresh.deviance, rel=1e-9, abs=1e-7)
    np.testing.assert_allclose(refit.beta, fresh.beta, rtol=1e-5, atol=1e-6)
    assert refit.fit_info.n_evaluations < identity.fit_info.n_evaluations
