"""Predictions for new data: the fitted values on the original data, lme4's new-level rules."""

from __future__ import annotations

import dataclasses
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alliance.errors import DataError
from alliance.mixed import MixedResult, fit, predict

REFERENCE = Path(__file__).resolve().parents[1] / "reference"
CASES = ["sleepstudy_corr", "pastes_nested", "orthodont", "oxboys", "pixel", "alliance_sim_corr"]


def load(name: str) -> tuple[dict, pd.DataFrame]:
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


@pytest.fixture(scope="module")
def pastes() -> tuple[MixedResult, pd.DataFrame]:
    case, data = load("pastes_nested")
    return quiet_fit(case["formula"], data), data


@pytest.mark.parametrize("name", CASES)
def test_prediction_on_the_data_is_the_fitted_values_and_lme4s(name):
    case, data = load(name)
    result = quiet_fit(case["formula"], data)
    predicted = predict(result, data)
    assert predicted.index.equals(data.index)
    np.testing.assert_allclose(predicted.to_numpy(), result.fitted, rtol=1e-12)
    np.testing.assert_allclose(predicted.to_numpy()[:10], case["fits"]["REML"]["fitted_head"],
                               rtol=1e-5)
    population = predict(result, data, include_random=False)
    np.testing.assert_allclose(population.to_numpy(), result.spec.x @ result.beta, rtol=1e-12)
    pd.testing.assert_series_equal(result.predict(data), predicted)


def test_new_groups_get_zero_random_effects(pastes):
    result, data = pastes
    new = pd.DataFrame({"batch": ["A", "A", "Z"], "cask": ["a", "zz", "a"]})
    predicted = predict(result, new)
    ranef = result.ranef(condvar=False)
    beta = result.beta[0]
    batch_a = ranef["batch"].loc["A", "(Intercept)"]
    cask_a = ranef["cask:batch"].loc["a:A", "(Intercept)"]  # lme4 labels cask:batch "a:A"
    np.testing.assert_allclose(predicted, [beta + batch_a + cask_a, beta + batch_a, beta])
    with pytest.raises(DataError, match=r"2 rows .* groups of 'cask:batch' .*\(a:Z, zz:A\)"):
        predict(result, new, allow_new_levels=False)
    with pytest.raises(DataError, match="batch"):
        predict(result, new.iloc[[2]], allow_new_levels=False)


def test_unseen_category_of_a_fixed_effect_is_named():
    case, data = load("orthodont")
    result = quiet_fit(case["formula"], data)
    new = data.head(3).assign(Sex=["Male", "Other", "Female"])
    with pytest.raises(DataError, match=r"column 'Sex'.*'Other' \(row 1\).*\['Male', 'Female'\]"):
        predict(result, new)


def test_transformed_terms_are_evaluated_on_the_new_values():
    case, data = load("oxboys")
    result = quiet_fit(case["formula"], data)
    new = pd.DataFrame({"age": [0.5, -0.25], "Subject": [data["Subject"].iloc[0], "new"]})
    beta = dict(zip(result.spec.fixed_names, result.beta, strict=True))
    population = beta["(Intercept)"] + beta["age"] * new["age"] + beta["I(age^2)"] * new["age"] ** 2
    predicted = predict(result, new, include_random=False)
    np.testing.assert_allclose(predicted, population, rtol=1e-12)
    modes = result.ranef(condvar=False)["Subject"].loc[str(new["Subject"].iloc[0])]
    with_random = predict(result, new)
    expected = population.iloc[0] + modes["(Intercept)"] + modes["age"] * new["age"].iloc[0]
    assert with_random.iloc[0] == pytest.approx(expected, rel=1e-12)
    assert with_random.iloc[1] == pytest.approx(population.iloc[1], rel=1e-12)


def test_missing_inputs_give_missing_predictions_and_absent_columns_an_error(pastes):
    result, data = pastes
    new = pd.DataFrame({"batch": ["A", None], "cask": ["a", "a"]})
    predicted = predict(result, new)
    assert np.isfinite(predicted.iloc[0]) and np.isnan(predicted.iloc[1])
    case, sleep = load("sleepstudy_corr")
    slope = quiet_fit(case["formula"], sleep)
    values = predict(slope, sleep.head(3).assign(Days=[0.0, np.nan, 2.0]))
    assert np.isnan(values.iloc[1]) and np.isfinite(values.iloc[[0, 2]]).all()
    with pytest.raises(DataError, match="'Days'.*Did you mean 'Dayz'"):
        predict(slope, sleep.rename(columns={"Days": "Dayz"}))
    with pytest.raises(DataError, match="DataFrame"):
        predict(slope, sleep.to_dict())  # type: ignore[arg-type]


def test_response_is_not_needed(pastes):
    result, data = pastes
    predicted = predict(result, data.drop(columns="strength"))
    np.testing.assert_allclose(predicted, result.fitted, rtol=1e-12)


def test_designs_without_a_formulaic_record_are_rebuilt_from_their_text():
    """Purely numeric designs may be built without formulaic's record (model_spec None)."""
    case, data = load("oxboys")
    result = quiet_fit(case["formula"], data)
    spec = result.spec
    assert spec.fixed_recipe is not None
    bare = dataclasses.replace(
        spec,
        fixed_recipe=dataclasses.replace(spec.fixed_recipe, model_spec=None),
        random_recipes=tuple((group, dataclasses.replace(design, model_spec=None))
                             for group, design in spec.random_recipes),
    )
    rebuilt = dataclasses.replace(result, spec=bare)
    np.testing.assert_allclose(predict(rebuilt, data), result.fitted, rtol=1e-12)
    # the model reads age in I(age^2): text there is refused naming the column and the rows
    with pytest.raises(DataError, match=r"(?s)'I\(age\^2\)' needs numbers, but column 'age' has "
                       r"text in 234 cells.*row 1: '-1.00y'"):
        predict(rebuilt, data.assign(age=data["age"].map(lambda v: f"{v:.2f}y")))
