"""Small-sample df of the fixed effects (alliance.mixed.inference).

Satterthwaite: at lme4's own optimum the df equal lmerTest's (so that what remains of a
difference at our optimum is the optimizer's, not the derivatives'), on the parity fixtures and
on mlmRev/nlme data they do not use (tests/reference/containment_df.json), and the df do not
move when the response or a predictor is rescaled. Containment: HLM's rule, against HLM's
published output for High School and Beyond, in the two cases of issue 9, and unchanged by
rescaling.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alliance.mixed import MixedResult, fit, inference
from alliance.mixed.differences import central_hessian
from alliance.mixed.inference import containment_df, satterthwaite_df
from alliance.mixed.spec import build_spec

REFERENCE = Path(__file__).resolve().parents[1] / "reference"
LME4_CASES = sorted(
    path.stem for path in (REFERENCE / "mixed").glob("*.json")
    if "formula" in json.loads(path.read_text())
)
ALLIANCE_FORMULA = "wai ~ time * (burdens + satisfactions) + (time | therapist/patient)"
UNSEEN = json.loads((REFERENCE / "containment_df.json").read_text())
UNSEEN_CASES = {case["case"]: case for case in UNSEEN["cases"]}


def load_case(name: str) -> tuple[dict, pd.DataFrame]:
    case = json.loads((REFERENCE / "mixed" / f"{name}.json").read_text())
    data = pd.read_csv(REFERENCE / "data" / case["data"])
    for column, levels in (case.get("factor_levels") or {}).items():
        if column in data and len(levels) < 10:
            data[column] = pd.Categorical(data[column].astype(str), categories=levels)
    return case, data


def quiet_fit(formula: str, data: pd.DataFrame, **kwargs: object) -> MixedResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit(formula, data, **kwargs)  # type: ignore[arg-type]


def lme4_theta(result: MixedResult, theta: dict[str, float]) -> np.ndarray:
    """lme4's theta in our parameter order (lme4 names an entry `group.row.col`)."""
    values = []
    for level in result.objective.layout.levels:
        names = level.column_names
        for row, col in zip(level.rows, level.cols, strict=True):
            key = (f"{level.name}.{names[col]}" if row == col
                   else f"{level.name}.{names[row]}.{names[col]}")
            values.append(theta[key])
    return np.array(values)


@pytest.mark.parametrize("method", ["REML", "ML"])
@pytest.mark.parametrize("name", LME4_CASES)
def test_satterthwaite_df_equal_lmertest_at_lme4s_optimum(name: str, method: str) -> None:
    case, data = load_case(name)
    reference = case["fits"][method]
    if not reference["converged"]:
        pytest.skip(f"lme4 did not converge on {name} {method}: its optimum is not a reference")
    result = quiet_fit(case["formula"], data, reml=method == "REML")
    params = lme4_theta(result, reference["theta"])
    evaluation = result.objective.forward(params)
    sigma = float(np.sqrt(evaluation.r2 / result.objective.residual_df))
    assert sigma == pytest.approx(reference["sigma"], rel=1e-9)
    df = satterthwaite_df(result.objective, params, sigma, np.eye(len(result.beta)))
    expected = pd.DataFrame(reference["fixed_effects"])["df"].to_numpy()
    np.testing.assert_allclose(df, expected, rtol=1e-6)


def load_unseen(name: str) -> tuple[dict, pd.DataFrame]:
    case = UNSEEN_CASES[name]
    data = pd.read_csv(REFERENCE / case["data"])
    for column, levels in case["factor_levels"].items():
        data[column] = pd.Categorical(data[column].astype(str), categories=levels)
    return case, data


@pytest.mark.parametrize("name", sorted(UNSEEN_CASES))
def test_satterthwaite_df_equal_lmertest_on_data_the_fixtures_do_not_use(name: str) -> None:
    case, data = load_unseen(name)
    reference = case["lme4"]
    if not reference["converged"]:
        pytest.skip(f"lme4 did not converge on {name}: its optimum is not a reference")
    result = quiet_fit(case["formula"], data)
    params = lme4_theta(result, reference["theta"])
    evaluation = result.objective.forward(params)
    sigma = float(np.sqrt(evaluation.r2 / result.objective.residual_df))
    assert sigma == pytest.approx(reference["sigma"], rel=1e-9)
    df = satterthwaite_df(result.objective, params, sigma, np.eye(len(result.beta)))
    expected = [row["satterthwaite_df"] for row in reference["fixed_effects"]]
    np.testing.assert_allclose(df, expected, rtol=1e-6)


@pytest.fixture(scope="module")
def alliance() -> tuple[pd.DataFrame, MixedResult]:
    _, data = load_case("alliance_sim_corr")
    return data, quiet_fit(ALLIANCE_FORMULA, data)


@pytest.mark.parametrize("factor", [1e-9, 1e-5, 1e5])
def test_satterthwaite_df_do_not_depend_on_the_units_of_the_response(
    alliance: tuple[pd.DataFrame, MixedResult], factor: float
) -> None:
    """Issue 9: wai x 1e-9 moved the intercept's df from 75.8 to 115.3."""
    data, base = alliance
    scaled = quiet_fit(ALLIANCE_FORMULA, data.assign(wai=data["wai"] * factor))
    np.testing.assert_allclose(scaled.params, base.params, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(
        scaled.fixed_effects["df"], base.fixed_effects["df"], rtol=1e-6
    )


@pytest.mark.parametrize("factor", [1e-3, 1e3])
def test_satterthwaite_df_do_not_depend_on_the_units_of_a_predictor(
    alliance: tuple[pd.DataFrame, MixedResult], factor: float
) -> None:
    """``time`` (fixed and random at both levels) rescaled: the same df at the same optimum.

    The optimum is carried over (the theta entries of the ``time`` rows divided by the factor)
    rather than searched for again: the df move with the optimum, and the optimizer stops
    within its tolerance at a slightly different point for each scaling.
    """
    data, base = alliance
    scaled = quiet_fit(ALLIANCE_FORMULA, data.assign(time=data["time"] * factor))
    params = base.params.copy()
    for level in scaled.objective.layout.levels:
        rows = np.asarray(level.column_names)[level.rows]
        params[level.start : level.stop][rows == "time"] /= factor
    evaluation = scaled.objective.forward(params)
    sigma = float(np.sqrt(evaluation.r2 / scaled.objective.residual_df))
    assert sigma == pytest.approx(base.sigma, rel=1e-9)
    df = satterthwaite_df(scaled.objective, params, sigma, np.eye(len(base.beta)))
    np.testing.assert_allclose(df, base.fixed_effects["df"], rtol=1e-6)


def test_a_contrast_and_its_multiple_have_the_same_df(
    alliance: tuple[pd.DataFrame, MixedResult]
) -> None:
    _, result = alliance
    contrast = np.array([[0.0, 0.0, 1.0, -1.0, 0.0, 0.0]])
    df = satterthwaite_df(result.objective, result.params, result.sigma, contrast)
    scaled = satterthwaite_df(result.objective, result.params, result.sigma, 1e-6 * contrast)
    assert scaled[0] == pytest.approx(df[0], rel=1e-9)
    assert 60 < df[0] < 200


def unseen_containment(name: str) -> pd.Series:
    case, data = load_unseen(name)
    spec = build_spec(case["formula"], data)
    return pd.Series(containment_df(spec), index=spec.fixed_names)


def test_containment_df_are_hlms_for_high_school_and_beyond() -> None:
    """Raudenbush & Bryk (2002) Table 4.5: 160 schools, meanses and sector predict the
    intercept and the (random) cses slope; HLM reports 160 - 2 - 1 = 157 df for all six."""
    df = unseen_containment("hsb82_table_4_5")
    assert list(df.index) == ["(Intercept)", "meanses", "catholic", "cses", "meanses:cses",
                              "catholic:cses"]
    assert (df == 157).all(), df.to_dict()


def test_a_non_random_slope_and_its_predictors_are_level_1_coefficients() -> None:
    """Without the random cses slope its equation is estimated at level 1: N - p."""
    df = unseen_containment("hsb82_fixed_slope")
    assert df.to_dict() == {"(Intercept)": 157, "meanses": 157, "catholic": 157,
                            "cses": 7185 - 6, "meanses:cses": 7185 - 6,
                            "catholic:cses": 7185 - 6}


def test_a_cross_level_interaction_with_a_non_random_slope() -> None:
    """Issue 9: Orthodont ``age * Sex + (1 | Subject)`` gave age:Sex the 25 df of a
    subject-level predictor; age's slope is not random, so it is a level-1 coefficient."""
    df = unseen_containment("orthodont_interaction")
    assert df.to_dict() == {"(Intercept)": 25, "age": 104, "SexFemale": 25,
                            "age:SexFemale": 104}
    nlme = {row["term"]: row["containment_df"] for row in
            UNSEEN_CASES["orthodont_interaction"]["nlme"]["fixed_effects"]}
    assert nlme["age:SexFemale"] == 79  # nlme counts within-subject information only


def test_class_level_predictors_in_a_three_level_model() -> None:
    """STAR kindergarten, ``(1 | sch/tch)``: small and aide predict the classes' intercepts
    and are not random at the school level, so they are estimated among the 337 classes:
    337 - 2 - 1 (nlme: 337 - 79 - 2 = 256); the intercept is random at the school level."""
    case = UNSEEN_CASES["star_kindergarten"]
    assert case["groups"] == {"tch:sch": 337, "sch": 79}
    df = unseen_containment("star_kindergarten")
    assert df.to_dict() == {"(Intercept)": 78, "small": 334, "aide": 334}


def test_level_2_predictors_of_random_slopes_in_a_three_level_model() -> None:
    """egsingle: lowinc (school level) predicts the intercept and the year slope, both
    random at the school level: 60 - 1 - 1 for all four."""
    assert (unseen_containment("egsingle_three_level") == 58).all()


def test_predictors_of_equations_are_counted_per_equation() -> None:
    """bdf: the intercept and the IQ slope are random with no school-level predictor (131 - 1);
    ses and Minority have no random slope (N - p)."""
    assert unseen_containment("bdf_slope").to_dict() == {
        "(Intercept)": 130, "IQ_verb": 130, "ses": 2283, "MinorityY": 2283}


def test_an_intercept_that_is_not_random_is_a_level_1_coefficient() -> None:
    case, data = load_case("sleepstudy_slope_only")
    spec = build_spec(case["formula"], data)
    assert list(containment_df(spec)) == [180 - 2, 18 - 1]


@pytest.mark.parametrize(("column", "factor"), [
    ("wai", 1e-12), ("wai", 1e12), ("time", 1e-12), ("time", 1e12), ("burdens", 1e-12),
])
def test_containment_df_do_not_depend_on_units(
    alliance: tuple[pd.DataFrame, MixedResult], column: str, factor: float
) -> None:
    data, _ = alliance
    base = containment_df(build_spec(ALLIANCE_FORMULA, data))
    scaled = data.assign(**{column: data[column] * factor})
    np.testing.assert_array_equal(containment_df(build_spec(ALLIANCE_FORMULA, scaled)), base)
    assert (base == 67).all()


@pytest.mark.parametrize(("column", "factor"), [("age", 1e-12), ("distance", 1e-12),
                                                ("age", 1e12)])
def test_whether_a_predictor_varies_within_groups_does_not_depend_on_its_units(
    column: str, factor: float
) -> None:
    """``age`` in years x 1e-12 still varies within subjects (the tolerance is relative)."""
    case, data = load_unseen("orthodont_interaction")
    spec = build_spec(case["formula"], data.assign(**{column: data[column] * factor}))
    assert list(containment_df(spec)) == [25, 104, 25, 104]


def test_the_joint_rater_model_has_the_df_of_the_separate_models() -> None:
    """``rater:x`` with no ``x`` of its own: x's level is read from ``rater:x / rater``, so
    a therapist-level x is a therapist-level predictor of each rater's random intercept and
    time slope, as in the separate model of one rater (50 therapists: 50 - 1 - 1)."""
    data = pd.read_csv(REFERENCE / "data" / "joint_rater_sim.csv")
    codes = pd.factorize(data["therapist"])[0]
    data["burdens"] = np.sin(1.0 + codes)
    joint = build_spec(
        "wai ~ 0 + rater + rater:time + rater:burdens + rater:time:burdens"
        " + (0 + rater + rater:time | therapist/patient)", data)
    single = build_spec("wai ~ time * burdens + (time | therapist/patient)",
                        data[data["rater"] == "patient"])
    assert (containment_df(single) == 48).all()
    assert (containment_df(joint) == 48).all()


def test_the_hessian_is_computed_once_per_fit_for_any_number_of_contrasts():
    data = pd.read_csv(REFERENCE / "data" / "sleepstudy.csv")
    result = fit("Reaction ~ Days + (Days | Subject)", data)
    before = result.objective.n_evaluations
    first = result.fixed_effects["df"].to_numpy()
    after_table = result.objective.n_evaluations
    again = result.contrast({"Days": 1.0})["df"].to_numpy()
    assert after_table > before  # the table did compute the Hessian
    assert result.objective.n_evaluations - after_table <= 2  # the contrast reused it
    assert again[0] == first[1]


@pytest.mark.parametrize("data,formula,strata", [
    ("alliance_sim.csv", "wai ~ time * (burdens + satisfactions) + (time | therapist/patient)",
     None),
    ("joint_rater_sim.csv", "wai ~ 0 + rater + rater:time + (0 + rater | therapist/patient)",
     "rater"),
    ("pastes.csv", "strength ~ 1 + (1 | batch/cask)", None),
    ("three levels", None, None),
])
def test_the_satterthwaite_hessian_eliminates_only_the_levels_a_column_moves(
    monkeypatch, three_level_model, data, formula, strata
):
    # the columns of an outer level's theta re-eliminate that level and the outer ones only;
    # the result is the symmetrised central-difference Hessian of the whole gradient
    if formula is None:
        formula, frame = three_level_model
    else:
        frame = pd.read_csv(REFERENCE / "data" / data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = fit(formula, frame, residual_groups=strata)
    objective, params = result.objective, result.params
    scales = inference.parameter_scales(objective, params)
    whole = central_hessian(lambda point: objective.value_and_gradient(point)[1], params,
                            inference.HESSIAN_STEP * scales) * np.outer(scales, scales)
    calls = []
    whole_gradient = objective.value_and_gradient
    monkeypatch.setattr(objective, "value_and_gradient",
                        lambda point, levels=None: calls.append(1) or whole_gradient(point, levels))
    evaluation = objective.forward(params)
    before = [[np.copy(getattr(level, name)) for name in ("acc", "ainv", "h")]
              for level in evaluation.workspace]
    found = inference._profiled_hessian(objective, evaluation, scales)
    # the evaluation's buffers hold the elimination at params again
    for saved, level in zip(before, evaluation.workspace, strict=True):
        for array, name in zip(saved, ("acc", "ainv", "h"), strict=True):
            np.testing.assert_array_equal(getattr(level, name), array)
    np.testing.assert_allclose(found, whole, rtol=0, atol=1e-7 * np.abs(whole).max())
    layout = objective.layout
    innermost = layout.levels[0].stop - layout.levels[0].start
    assert len(calls) == 2 * (innermost + layout.size - layout.n_theta)
