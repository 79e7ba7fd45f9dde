"""Small-sample df of the fixed effects (alliance.mixed.inference).

Satterthwaite: at lme4's own optimum the df equal lmerTest's (so that what remains of a
difference at our optimum is the optimizer's, not the derivatives'), and the df do not move when
the response or a predictor is rescaled.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alliance.mixed import MixedResult, fit
from alliance.mixed.inference import satterthwaite_df

REFERENCE = Path(__file__).resolve().parents[1] / "reference"
LME4_CASES = sorted(
    path.stem for path in (REFERENCE / "mixed").glob("*.json")
    if "formula" in json.loads(path.read_text())
)
ALLIANCE_FORMULA = "wai ~ time * (burdens + satisfactions) + (time | therapist/patient)"


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
