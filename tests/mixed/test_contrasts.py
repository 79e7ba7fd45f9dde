"""Contrasts and joint F tests of fixed effects (alliance.mixed.contrasts) against lmerTest.

tests/reference/lmertest_contest.json holds lmerTest 3.1.3's ``contest1D`` (confint = TRUE)
and ``contestMD`` for sleepstudy (REML and ML), Orthodont, mlmRev's Exam and a three-level
alliance study, with lme4's theta and sigma. At lme4's optimum the numbers agree to the
precision of lmerTest's numerical derivatives (measured: df and denominator df within 8.4e-8
relative, estimates, SEs and F within 2e-13). At our own optimum they move with the optimum
(measured where lme4 converged: df within 1.7e-4 relative, the largest on the three-level
study, denominator df 9.1e-5, F 4.9e-5, estimates 1.2e-5; on Exam, where lme4 stopped early,
estimates differ by up to 2e-4, which is why it is checked at lme4's optimum only).
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from lme4_cases import REFERENCE, at_lme4_optimum, load, quiet_fit

from alliance.errors import SpecificationError
from alliance.mixed import MixedResult
from alliance.mixed.contrasts import f_test_ddf
from alliance.mixed.inference import denominator_df

CONTEST = json.loads((REFERENCE / "lmertest_contest.json").read_text())
CASES = {case["case"]: case for case in CONTEST["cases"]}
FITS = [(name, method) for name, case in CASES.items() for method in case["fits"]]
ORTHODONT = REFERENCE / "data" / "orthodont.csv"


def fitted(name: str, method: str) -> tuple[dict, MixedResult]:
    case = CASES[name]
    reference = case["fits"][method]
    result = quiet_fit(case["formula"], load(case), reml=method == "REML")
    assert list(result.spec.fixed_names) == reference["fixed_names"]
    return reference, result


@pytest.mark.parametrize(("name", "method"), FITS)
def test_contrasts_equal_contest1d_at_lme4s_optimum(name: str, method: str) -> None:
    reference, ours = fitted(name, method)
    result = at_lme4_optimum(ours, reference["theta"])
    assert result.sigma == pytest.approx(reference["sigma"], rel=1e-9)
    for want in reference["contrasts"]:
        row = result.contrast(want["weights"]).iloc[0]
        assert row["estimate"] == pytest.approx(want["estimate"], rel=1e-7)
        assert row["std_error"] == pytest.approx(want["std_error"], rel=1e-7)
        assert row["df"] == pytest.approx(want["df"], rel=1e-6)
        assert row["t"] == pytest.approx(want["t"], rel=1e-7)
        assert row["p"] == pytest.approx(want["p"], rel=1e-5)
        assert row["ci_low"] == pytest.approx(want["ci_low"], rel=1e-7)
        assert row["ci_high"] == pytest.approx(want["ci_high"], rel=1e-7)


@pytest.mark.parametrize(("name", "method"), FITS)
def test_joint_tests_equal_contestmd_at_lme4s_optimum(name: str, method: str) -> None:
    reference, ours = fitted(name, method)
    result = at_lme4_optimum(ours, reference["theta"])
    for want in reference["joint"]:
        rows = {f"row {index}": weights for index, weights in enumerate(want["rows"])}
        test = result.contrast(rows, joint=True).iloc[0]
        assert test["num_df"] == want["num_df"]
        assert test["f"] == pytest.approx(want["f"], rel=1e-7)
        assert test["den_df"] == pytest.approx(want["den_df"], rel=1e-6)
        assert test["p"] == pytest.approx(want["p"], rel=1e-5)
        separate = result.contrast(rows)
        np.testing.assert_allclose(separate["df"], want["row_df"], rtol=1e-6)


@pytest.mark.parametrize(("name", "method"), FITS)
def test_at_our_optimum_the_df_move_with_the_optimum_only(name: str, method: str) -> None:
    reference, result = fitted(name, method)
    if not reference["converged"]:
        pytest.skip(f"lme4 stopped early on {name}: its optimum is not the reference")
    for want in reference["contrasts"]:
        row = result.contrast(want["weights"]).iloc[0]
        assert row["estimate"] == pytest.approx(want["estimate"], rel=5e-5)
        assert row["df"] == pytest.approx(want["df"], rel=5e-4)
    for want in reference["joint"]:
        rows = {f"row {index}": weights for index, weights in enumerate(want["rows"])}
        test = result.contrast(rows, joint=True).iloc[0]
        assert test["f"] == pytest.approx(want["f"], rel=2e-4)
        assert test["den_df"] == pytest.approx(want["den_df"], rel=5e-4)


@pytest.fixture(scope="module")
def sleep() -> MixedResult:
    return fitted("sleepstudy_slopes", "REML")[1]


def test_a_unit_contrast_is_the_fixed_effects_row(sleep: MixedResult) -> None:
    table = sleep.fixed_effects
    tests = sleep.contrast(np.eye(2))
    assert list(tests["contrast"]) == ["(Intercept)", "Days"]
    columns = ["estimate", "std_error", "df", "t", "p", "ci_low", "ci_high"]
    np.testing.assert_allclose(tests[columns].to_numpy(), table[columns].to_numpy(), rtol=1e-12)
    joint = sleep.contrast({"Days": 1}, joint=True).iloc[0]
    assert joint["num_df"] == 1
    assert joint["f"] == pytest.approx(table["t"].iloc[1] ** 2, rel=1e-12)
    assert joint["den_df"] == pytest.approx(table["df"].iloc[1], rel=1e-12)
    assert joint["p"] == pytest.approx(table["p"].iloc[1], rel=1e-9)


def test_every_form_of_a_contrast_gives_the_same_test(sleep: MixedResult) -> None:
    by_name = sleep.contrast({"(Intercept)": 1, "Days": 7})
    by_vector = sleep.contrast([1.0, 7.0])
    labelled = sleep.contrast({"day 7": {"(Intercept)": 1, "Days": 7}})
    assert by_name["contrast"].iloc[0] == "(Intercept) + 7 Days"
    assert labelled["contrast"].iloc[0] == "day 7"
    columns = ["estimate", "std_error", "df", "p"]
    np.testing.assert_array_equal(by_name[columns], by_vector[columns])
    np.testing.assert_array_equal(by_name[columns], labelled[columns])
    assert sleep.contrast([0.0, -0.5])["contrast"].iloc[0] == "-0.5 Days"


def test_the_confidence_level_is_the_results(sleep: MixedResult) -> None:
    wide = replace(sleep, confidence=0.99).contrast({"Days": 1}).iloc[0]
    narrow = sleep.contrast({"Days": 1}).iloc[0]
    assert wide["ci_high"] - wide["ci_low"] > narrow["ci_high"] - narrow["ci_low"]
    row = sleep.fixed_effects.iloc[1]
    assert narrow["ci_low"] == pytest.approx(row["ci_low"], rel=1e-12)


@pytest.mark.parametrize(("contrasts", "message"), [
    ({"days": 1}, "'days' is not a fixed effect"),
    ([1.0, 2.0, 3.0], "needs 2 weights"),
    ({"Days": 0}, "all weights 0"),
    ({"a": {"Days": 1}, "b": {"Days": 0}}, r"row\(s\) 2 have all weights 0"),
    ({"Days": float("nan")}, "not finite"),
    ({"Days": "one"}, "not a number"),
    (np.zeros((0, 2)), "no contrast"),
])
def test_bad_contrasts_are_refused(sleep: MixedResult, contrasts: object, message: str) -> None:
    with pytest.raises(SpecificationError, match=message):
        sleep.contrast(contrasts)  # type: ignore[arg-type]


def test_a_rank_deficient_joint_test_counts_each_direction_once(sleep: MixedResult) -> None:
    """lmerTest's contestMD: numerator df = rank of L V L' (here 1 for Days and 2 Days)."""
    joint = sleep.contrast([[0.0, 1.0], [0.0, 2.0]], joint=True).iloc[0]
    single = sleep.contrast({"Days": 1}, joint=True).iloc[0]
    assert joint["num_df"] == 1
    assert joint["f"] == pytest.approx(single["f"], rel=1e-9)
    assert joint["den_df"] == pytest.approx(single["den_df"], rel=1e-9)


def test_f_test_ddf_combines_as_lmertest() -> None:
    assert f_test_ddf(np.array([12.5])) == 12.5
    assert f_test_ddf(np.array([20.0, 20.0 + 1e-10])) == pytest.approx(20.0)
    assert f_test_ddf(np.array([1.5, 30.0])) == 2.0
    nu = np.array([10.0, 40.0, 25.0])
    expectation = np.sum(nu / (nu - 2))
    assert f_test_ddf(nu) == pytest.approx(2 * expectation / (expectation - 3))


def test_containment_df_of_a_contrast_is_the_smallest_involved() -> None:
    """Orthodont ``distance ~ age * Sex + (1 | Subject)``: HLM's df are 25 for the intercept
    and SexFemale (between subjects) and 104 for age and age:SexFemale (tests/mixed/
    test_inference.py); a contrast takes the fewest df among its non-zero weights."""
    data = pd.read_csv(ORTHODONT)
    data["Sex"] = pd.Categorical(data["Sex"], categories=["Male", "Female"])
    result = quiet_fit("distance ~ age * Sex + (1 | Subject)", data, df_method="containment")
    np.testing.assert_array_equal(result.fixed_effects["df"], [25, 104, 25, 104])
    tests = result.contrast({
        "girls' slope": {"age": 1, "age:SexFemale": 1},
        "girls at 8": {"(Intercept)": 1, "age": 8, "SexFemale": 1, "age:SexFemale": 8},
    })
    np.testing.assert_array_equal(tests["df"], [104, 25])
    joint = result.contrast({"a": {"age": 1}, "b": {"age:SexFemale": 1}}, joint=True)
    assert joint["den_df"].iloc[0] == 104
    joint = result.contrast({"a": {"SexFemale": 1}, "b": {"age:SexFemale": 1}}, joint=True)
    assert joint["den_df"].iloc[0] == 25


def test_residual_df_are_n_minus_p() -> None:
    data = pd.read_csv(ORTHODONT)
    result = quiet_fit("distance ~ age + Sex + (age | Subject)", data, df_method="residual")
    tests = result.contrast({"age": 1, "SexMale": -1})
    assert tests["df"].iloc[0] == 108 - 3
    joint = result.contrast(np.eye(3)[1:], joint=True).iloc[0]
    assert (joint["num_df"], joint["den_df"]) == (2, 105)


def test_denominator_df_refuses_an_unknown_method(sleep: MixedResult) -> None:
    with pytest.raises(ValueError, match="no denominator df for df_method 'bogus'"):
        denominator_df(replace(sleep, df_method="bogus"), np.eye(2))
    with pytest.raises(ValueError, match="needs 2 weights"):
        denominator_df(sleep, np.ones((1, 3)))


@pytest.mark.parametrize("options", [{"df_method": "kenward-roger"}, {"robust": "cr2"}])
def test_contrasts_use_the_tables_covariance_and_df(options: dict) -> None:
    """With Kenward-Roger or CR2 inference a unit contrast is the table's row (its SEs come
    from the adjusted or the cluster-robust covariance, its df from the same method)."""
    case = CASES["sleepstudy_slopes"]
    result = quiet_fit(case["formula"], load(case), **options)
    columns = ["estimate", "std_error", "df", "t", "p", "ci_low", "ci_high"]
    tests = result.contrast(np.eye(2))
    np.testing.assert_allclose(tests[columns].to_numpy(),
                               result.fixed_effects[columns].to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(tests["std_error"], np.sqrt(np.diag(result.vcov_fixed)),
                               rtol=1e-12)


def test_a_kenward_roger_joint_test_is_pbkrtests_scaled_f() -> None:
    case = CASES["sleepstudy_slopes"]
    result = quiet_fit(case["formula"], load(case), df_method="kenward-roger")
    joint = result.contrast(np.eye(2), joint=True).iloc[0]
    expected = result.kenward_roger.f_test(np.eye(2), result.beta)
    assert (joint["f"], joint["num_df"], joint["den_df"], joint["p"]) == (
        expected.statistic, expected.ndf, expected.ddf, expected.p_value)


def test_a_joint_test_with_cr2_ses_is_refused() -> None:
    case = CASES["sleepstudy_slopes"]
    result = quiet_fit(case["formula"], load(case), robust="cr2")
    with pytest.raises(SpecificationError, match="CR2"):
        result.contrast(np.eye(2), joint=True)
