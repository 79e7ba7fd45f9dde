"""Wald and profile-likelihood intervals, checked against lme4's ``confint`` (profile_ci, wald_ci).

The profile limits are roots of the profile itself, lme4's are read off a spline through it;
they agree to 1e-3 relative (observed: 6e-5 at worst, on the correlation).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alliance.errors import SpecificationError
from alliance.mixed import (
    MixedResult,
    confidence_intervals,
    fit,
    profile_intervals,
    variance_parameters,
    wald_intervals,
)
from alliance.mixed.intervals import CovarianceParameters

REFERENCE = Path(__file__).resolve().parents[1] / "reference"
CASES = {"sleepstudy_corr": "sleepstudy.csv", "pastes_nested": "pastes.csv"}


def load(case: str) -> tuple[dict, pd.DataFrame]:
    return (json.loads((REFERENCE / "mixed" / f"{case}.json").read_text()),
            pd.read_csv(REFERENCE / "data" / CASES[case]))


def quiet_fit(formula: str, data: pd.DataFrame, **kwargs: object) -> MixedResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit(formula, data, **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def sleep_reml() -> MixedResult:
    case, data = load("sleepstudy_corr")
    return quiet_fit(case["formula"], data)


@pytest.mark.parametrize("method", ["REML", "ML"])
@pytest.mark.parametrize("case_name", list(CASES))
def test_profile_intervals_match_lme4(case_name, method):
    case, data = load(case_name)
    result = quiet_fit(case["formula"], data, reml=method == "REML")
    ours = profile_intervals(result).set_index("parameter")
    reference = pd.DataFrame(case["fits"][method]["profile_ci"]["rows"]).set_index("parm")
    assert list(ours.index) == list(reference.index)
    for name, row in reference.iterrows():
        for ours_value, theirs in [(ours.at[name, "ci_low"], row["lower"]),
                                   (ours.at[name, "ci_high"], row["upper"])]:
            if theirs == 0:  # lme4 reports 0 where the profile never reaches the cutoff
                assert ours_value == 0, (name, ours_value)
            else:
                assert ours_value == pytest.approx(theirs, rel=1e-3), (name, ours_value, theirs)
    estimates = pd.concat([variance_parameters(result),
                           result.fixed_effects.set_index("term")["estimate"]])
    np.testing.assert_allclose(ours["estimate"], estimates.loc[ours.index])


def test_profile_of_a_subset_and_unknown_names(sleep_reml):
    ours = profile_intervals(sleep_reml, parameters=["sigma"])
    assert ours["parameter"].tolist() == ["sigma"]
    case, _ = load("sleepstudy_corr")
    row = next(r for r in case["fits"]["REML"]["profile_ci"]["rows"] if r["parm"] == "sigma")
    assert ours.at[0, "ci_low"] == pytest.approx(row["lower"], rel=1e-3)
    assert ours.at[0, "ci_high"] == pytest.approx(row["upper"], rel=1e-3)
    with pytest.raises(SpecificationError, match="sd_Dayz"):
        profile_intervals(sleep_reml, parameters=["sd_Dayz|Subject"])


@pytest.mark.parametrize("method", ["REML", "ML"])
@pytest.mark.parametrize("case_name", list(CASES))
def test_wald_fixed_effects_match_lme4(case_name, method):
    case, data = load(case_name)
    result = quiet_fit(case["formula"], data, reml=method == "REML")
    ours = wald_intervals(result).set_index("parameter")
    for row in case["fits"][method]["wald_ci"]:
        assert ours.at[row["parm"], "ci_low"] == pytest.approx(row["lower"], rel=1e-5)
        assert ours.at[row["parm"], "ci_high"] == pytest.approx(row["upper"], rel=1e-5)


def unprofiled_deviance(result: MixedResult, params: np.ndarray, sigma: float) -> float:
    """lmerTest's devfun_vp from the objective's forward pass (independent of intervals.py)."""
    objective = result.objective
    evaluation = objective.forward(params)
    value = (evaluation.log_det_l + evaluation.r2 / sigma**2
             + objective.residual_df * np.log(2 * np.pi * sigma**2))
    return value + (evaluation.log_det_rx if objective.reml else 0.0)


@pytest.mark.parametrize("reml", [True, False])
def test_wald_variance_components_are_the_delta_method(reml):
    """SEs on the SD scale equal J (2 H^-1) J' with H the Hessian in (theta, sigma)."""
    case, data = load("sleepstudy_corr")
    result = quiet_fit(case["formula"], data, reml=reml)
    point = np.append(result.params, result.sigma)
    size = len(point)

    def deviance(x: np.ndarray) -> float:
        return unprofiled_deviance(result, x[:-1], x[-1])

    steps = 1e-3 * np.maximum(np.abs(point), 0.1)
    hessian = np.empty((size, size))
    for i in range(size):
        for j in range(size):
            e_i, e_j = np.eye(size)[i] * steps[i], np.eye(size)[j] * steps[j]
            hessian[i, j] = (deviance(point + e_i + e_j) - deviance(point + e_i - e_j)
                             - deviance(point - e_i + e_j) + deviance(point - e_i - e_j)
                             ) / (4 * steps[i] * steps[j])
    parameters = CovarianceParameters(result)
    jacobian = np.empty((size, size))
    for j in range(size):
        e = np.eye(size)[j] * 1e-6
        plus = parameters.from_fit((point + e)[:-1], (point + e)[-1])
        minus = parameters.from_fit((point - e)[:-1], (point - e)[-1])
        jacobian[:, j] = (plus - minus) / 2e-6
    covariance = jacobian @ (2 * np.linalg.inv(hessian)) @ jacobian.T
    ours = wald_intervals(result).set_index("parameter")
    names = list(parameters.names)
    np.testing.assert_allclose(ours.loc[names, "std_error"], np.sqrt(np.diag(covariance)),
                               rtol=1e-3)
    z = 1.959963984540054
    np.testing.assert_allclose(ours.loc[names, "ci_high"] - ours.loc[names, "estimate"],
                               z * ours.loc[names, "std_error"], rtol=1e-10)


def test_deviance_gradient_on_the_sd_scale_is_exact(sleep_reml):
    parameters = CovarianceParameters(sleep_reml)
    point = parameters.from_fit(sleep_reml.params, sleep_reml.sigma) * [1.2, 0.5, 0.8, 1.1]
    value, gradient = parameters.deviance(point)
    # steps of 1e-4 (relative for the SDs): smaller ones on the correlation (about 0.03) leave
    # a difference quotient dominated by the rounding of the deviance
    steps = 1e-4 * np.maximum(np.abs(point), 1.0)
    numeric = [(parameters.deviance(point + e)[0] - parameters.deviance(point - e)[0]) / (2 * h)
               for e, h in zip(np.diag(steps), steps, strict=True)]
    np.testing.assert_allclose(gradient, numeric, rtol=1e-5, atol=1e-6 * np.abs(gradient).max())
    at_optimum = parameters.deviance(parameters.from_fit(sleep_reml.params, sleep_reml.sigma))
    assert at_optimum[0] == pytest.approx(sleep_reml.deviance, rel=1e-12)


def test_boundary_fit_gets_no_wald_interval_and_a_zero_profile_limit():
    data = pd.read_csv(REFERENCE / "data" / "dyestuff2.csv")
    result = quiet_fit("Yield ~ 1 + (1 | Batch)", data)
    assert result.singular
    wald = wald_intervals(result).set_index("parameter")
    assert np.isnan(wald.at["sd_(Intercept)|Batch", "std_error"])
    assert np.isfinite(wald.at["sigma", "std_error"])
    profile = profile_intervals(result, parameters=["sd_(Intercept)|Batch"])
    assert profile.at[0, "ci_low"] == 0.0
    assert profile.at[0, "ci_high"] > 0.0


def test_residual_sd_ratios_are_parameters():
    case = json.loads((REFERENCE / "mixed" / "orthodont_varident.json").read_text())
    data = pd.read_csv(REFERENCE / "data" / case["data"])
    result = quiet_fit("distance ~ age + Sex + (age | Subject)", data, residual_groups="Sex")
    values = variance_parameters(result)
    for label, ratio in result.residual_sd_ratios.items():
        if ratio != 1.0:
            assert values[f"sd_ratio_{label}"] == pytest.approx(ratio, rel=1e-12)
    wald = wald_intervals(result).set_index("parameter")
    ratio_rows = wald.loc[[name for name in wald.index if name.startswith("sd_ratio_")]]
    assert len(ratio_rows) == 1
    row = ratio_rows.iloc[0]
    assert row["ci_low"] < row["estimate"] < row["ci_high"]
    # the interval is symmetric on the log scale
    assert np.log(row["ci_high"] / row["estimate"]) == pytest.approx(
        np.log(row["estimate"] / row["ci_low"]), rel=1e-10)


def test_level_and_method_are_checked(sleep_reml):
    narrow = wald_intervals(sleep_reml, level=0.5)
    wide = wald_intervals(sleep_reml, level=0.99)
    assert ((narrow["ci_high"] - narrow["ci_low"]) < (wide["ci_high"] - wide["ci_low"])).all()
    with pytest.raises(SpecificationError, match="between 0 and 1"):
        wald_intervals(sleep_reml, level=95)
    with pytest.raises(SpecificationError, match="'profile' or 'wald'"):
        confidence_intervals(sleep_reml, method="bootstrap")
    pd.testing.assert_frame_equal(confidence_intervals(sleep_reml, method="wald"),
                                  wald_intervals(sleep_reml))
