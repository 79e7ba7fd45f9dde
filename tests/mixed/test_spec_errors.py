"""Bad input to ``fit``: every message names the problem, the offending values and a remedy."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from alliance.errors import DataError, FormulaSyntaxError, SpecificationError
from alliance.mixed import MixedResult, fit


@pytest.fixture
def sessions() -> pd.DataFrame:
    """Six therapists, four patients each, three sessions each."""
    rng = np.random.default_rng(5)
    rows = [
        {"therapist": f"T{t}", "patient": f"P{t}{p}", "time": float(s),
         "wai": 5.0 + 0.3 * t + 0.2 * s + rng.normal()}
        for t in range(6) for p in range(4) for s in range(3)
    ]
    return pd.DataFrame(rows)


def quiet_fit(formula: str, data: pd.DataFrame, **kwargs: object) -> MixedResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit(formula, data, **kwargs)  # type: ignore[arg-type]


def test_unknown_column_is_named_with_a_close_match(sessions):
    with pytest.raises(DataError, match=r"column 'tme'.*Did you mean 'time'\?"):
        fit("wai ~ tme + (1 | therapist)", sessions)
    with pytest.raises(DataError, match=r"column 'therapistt'.*Did you mean 'therapist'\?"):
        fit("wai ~ time + (1 | therapistt)", sessions)


def test_non_numeric_response_names_rows_and_values(sessions):
    data = sessions.assign(wai=sessions["wai"].astype(object))
    data.loc[3, "wai"] = "n/a"
    data.loc[7, "wai"] = "5,2"
    # rows are counted from 1, as a spreadsheet user counts data rows: index 3 is row 4
    with pytest.raises(DataError, match=r"'wai' must be numeric, but 2 cells are not a number "
                       r"\(rows are counted from 1.*\):\n  row 4: 'n/a'\n  row 8: '5,2'\n"):
        fit("wai ~ time + (1 | therapist)", data)


def test_grouping_factor_with_one_level_per_observation(sessions):
    data = sessions.assign(row=np.arange(len(sessions)))
    with pytest.raises(SpecificationError, match=r"'row' has 72 levels for 72 observations.*"
                       r"must be < number of observations.*Remove its random-effects term"):
        fit("wai ~ time + (1 | row)", data)
    first_sessions = sessions[sessions["time"] == 0]
    with pytest.raises(SpecificationError, match=r"'patient:therapist' has 24 levels for 24 "
                       "observations"):
        fit("wai ~ 1 + (1 | therapist/patient)", first_sessions)


def test_one_therapist_is_refused_as_lme4_does(sessions):
    # lme4: "grouping factors must have > 1 sampled level"
    one = sessions[sessions["therapist"] == "T0"]
    with pytest.raises(SpecificationError) as caught:
        fit("wai ~ time + (time | therapist/patient)", one)
    message = str(caught.value)
    assert "grouping factor 'therapist' has 1 group ('T0') in the 12 rows used" in message
    assert "grouping factors must have > 1 sampled level" in message
    assert "(time | patient) for (time | therapist/patient)" in message


def test_one_patient_is_refused_naming_every_level():
    rows = [{"therapist": "T0", "patient": "P0", "time": float(s), "wai": 5.0 + 0.1 * s ** 1.5}
            for s in range(7)]
    with pytest.raises(SpecificationError, match=r"grouping factors 'patient:therapist' and "
                       r"'therapist' have 1 group each in the 7 rows used"):
        fit("wai ~ time + (time | therapist/patient)", pd.DataFrame(rows))
    with pytest.raises(SpecificationError, match=r"'patient' has 1 group \('P0'\)"):
        fit("wai ~ time + (1 | patient)", pd.DataFrame(rows))


def test_more_random_effects_than_observations_is_refused_per_term(sessions):
    # two sessions per patient: 24 patients x (intercept, slope) = 48 effects for 48 rows;
    # lme4 stops ("number of observations (=48) <= number of random effects (=48) for term
    # (time | patient)") but fits the uncorrelated terms, 24 effects each
    two = sessions[sessions["time"] < 2]
    with pytest.raises(SpecificationError) as caught:
        fit("wai ~ time + (time | patient)", two)
    message = str(caught.value)
    assert "'patient' has 24 groups x 2 random effects = 48" in message
    assert "number of observations (=48) <= number of random effects (=48)" in message
    assert "(x || group)" in message
    result = quiet_fit("wai ~ time + (time || patient)", two)
    assert result.n_obs == 48


def test_patient_ids_restarting_within_therapists_suggest_therapist_over_patient(sessions):
    # patients "0" .. "3" under each of the six therapists
    data = sessions.assign(patient=sessions["patient"].str[-1])
    for formula in ("wai ~ time + (1 | therapist) + (1 | patient)",
                    "wai ~ time + (1 | patient) + (1 | therapist)"):
        with pytest.raises(SpecificationError) as caught:
            fit(formula, data)
        message = str(caught.value)
        assert "the same 'patient' ids occur under several 'therapist' groups" in message
        assert "('0' under 6 of 6)" in message
        assert "(1 | therapist/patient)" in message
        assert "patient/therapist" not in message
    # following the advice fits the intended model
    result = quiet_fit("wai ~ time + (1 | therapist/patient)", data)
    assert result.groups == {"patient:therapist": 24, "therapist": 6}


def test_patient_under_two_therapists_is_not_nested(sessions):
    data = sessions.copy()
    data.loc[0, "therapist"] = "T5"  # one session of P00 recorded under another therapist
    with pytest.raises(SpecificationError, match=r"not nested: group 'P00' of 'patient' occurs "
                       r"in 2 groups of 'therapist' \('T0', 'T5'\)\. Crossed.*"
                       r"\(1 \| therapist/patient\)") as caught:
        fit("wai ~ time + (1 | therapist) + (1 | patient)", data)
    assert "patient/therapist" not in str(caught.value)


@pytest.mark.parametrize("empty", [np.nan, None])
def test_all_missing_column(sessions, empty):
    with pytest.raises(DataError, match="column 'burdens' has no non-missing value"):
        fit("wai ~ time + burdens + (1 | therapist)", sessions.assign(burdens=empty))


def test_rank_deficient_fixed_effects_name_the_aliased_column(sessions):
    data = sessions.assign(weeks=2.0 * sessions["time"])
    with pytest.raises(SpecificationError, match=r"rank deficient: \['weeks'\]"):
        fit("wai ~ time + weeks + (1 | therapist)", data)


def test_formula_syntax_error_points_at_the_position(sessions):
    formula = "wai ~ time + (1 | therapist"
    with pytest.raises(FormulaSyntaxError) as caught:
        fit(formula, sessions)
    assert caught.value.position == formula.index("(")
    lines = str(caught.value).splitlines()
    assert "never closed" in lines[0]
    assert lines[-2].strip() == formula
    assert lines[-1].index("^") - lines[-2].index("w") == formula.index("(")


def test_rows_with_missing_values_are_excluded_and_counted(sessions):
    data = sessions.copy()
    data.loc[[0, 5, 9], "wai"] = np.nan
    data.loc[[5, 11], "time"] = np.nan  # row 5 is missing twice: counted once
    result = quiet_fit("wai ~ time + (time | therapist/patient)", data)
    assert result.n_dropped == 4
    assert result.n_obs == len(data) - 4
    assert set(result.spec.dropped_rows) == {0, 5, 9, 11}
    assert "Excluded for missing values: 4 rows" in result.summary()
    assert "4 rows with missing values were excluded" in result.warnings
    payload = result.to_dict()
    assert payload["n_excluded_missing"] == 4 and payload["n_obs"] == len(data) - 4
    json.dumps(payload)


def test_patients_with_a_single_session_are_valid(sessions):
    data = sessions.drop(index=[1, 2, 4, 5, 13, 14])  # P00, P01 and P10 keep one session
    result = quiet_fit("wai ~ time + (1 | therapist/patient)", data)
    assert result.converged
    assert result.n_obs == len(data) and result.n_dropped == 0
    assert result.groups == {"patient:therapist": 24, "therapist": 6}


def with_therapist_columns(sessions: pd.DataFrame) -> pd.DataFrame:
    """Adds experience (years) and burdens, constant within each therapist."""
    therapist = sessions["therapist"].str[1:].astype(int)
    return sessions.assign(experience=(3.0 + 2 * therapist).astype(object),
                           burdens=(0.1 * therapist - 0.2).astype(object),
                           session=sessions["time"] + 1)


def test_a_text_cell_in_a_numeric_predictor_is_named_not_made_a_factor(sessions):
    data = with_therapist_columns(sessions)
    data.loc[5, "experience"] = "missing"
    with pytest.raises(DataError) as caught:
        fit("wai ~ time + experience + (1 | therapist)", data)
    message = str(caught.value)
    assert "column 'experience' mixes numbers and text: 1 cell is not a number" in message
    assert "rows are counted from 1" in message and "row 6: 'missing'" in message
    assert "write C(experience) in the formula" in message
    # declared categorical on purpose, the same column is a factor
    result = quiet_fit("wai ~ time + C(experience) + (1 | therapist)", data)
    assert "C(experience)missing" in set(result.fixed_effects["term"])


def test_a_blank_cell_in_an_interacted_predictor_is_named(sessions):
    data = with_therapist_columns(sessions)
    data.loc[[9, 40], "burdens"] = " "
    with pytest.raises(DataError, match=r"(?s)column 'burdens' mixes numbers and text: 2 cells "
                       r"are not a number.*row 10: ' '\n  row 41: ' '\n.*C\(burdens\)"):
        fit("wai ~ time * burdens + (time | therapist/patient)", data)


def test_a_number_in_a_text_predictor_is_named(sessions):
    data = sessions.assign(site=np.where(sessions["therapist"] < "T3", "Oslo", "Bergen"))
    data["site"] = data["site"].astype(object)
    data.loc[2, "site"] = 7
    with pytest.raises(DataError, match=r"(?s)column 'site' mixes numbers and text: 1 cell is a "
                       r"number among text.*row 3: 7\n.*write C\(site\)"):
        fit("wai ~ time + site + (1 | therapist)", data)
    result = quiet_fit("wai ~ time + C(site) + (1 | therapist)", data)
    assert "C(site)Oslo" in set(result.fixed_effects["term"])


def test_an_object_column_of_numbers_is_numeric(sessions):
    data = with_therapist_columns(sessions)
    data.loc[5, "experience"] = np.nan  # the object column keeps its Python numbers
    as_floats = data.assign(experience=data["experience"].astype(float))
    result = quiet_fit("wai ~ time + experience + (1 | therapist)", data)
    expected = quiet_fit("wai ~ time + experience + (1 | therapist)", as_floats)
    assert list(result.fixed_effects["term"]) == ["(Intercept)", "time", "experience"]
    assert result.deviance == expected.deviance and result.n_dropped == 1


def test_numbers_stored_as_text_are_refused_with_the_remedies(sessions):
    data = with_therapist_columns(sessions)
    data["experience"] = data["experience"].map(str)
    with pytest.raises(DataError, match=r"(?s)'experience' holds numbers stored as text.*"
                       r"row 1: '3.0'.*Store the column as numbers.*C\(experience\)"):
        fit("wai ~ time + experience + (1 | therapist)", data)


@pytest.mark.parametrize("column, value", [("wai", np.inf), ("time", -np.inf),
                                           ("burdens", np.inf)])
def test_infinite_values_are_errors_not_missing(sessions, column, value):
    data = with_therapist_columns(sessions).astype({"burdens": float})
    data.loc[3, column] = value
    with pytest.raises(DataError, match=rf"(?s)column '{column}' has infinite values in 1 cell "
                       rf".*row 4: {'-' if value < 0 else ''}inf.*not a missing value"):
        fit("wai ~ time + burdens + (time | therapist)", data)


@pytest.mark.parametrize("formula, values, shown", [
    ("wai ~ log(session) + (1 | therapist)", {0: 0.0}, "row 1: session = 0"),
    ("wai ~ log(session) + (1 | therapist)", {0: -1.0, 4: 0.0},
     "row 1: session = -1\n  row 5: session = 0"),
    ("wai ~ sqrt(session) + (1 | therapist)", {7: -2.0}, "row 8: session = -2"),
    ("wai ~ time + (I(1 / (session - 1)) | therapist)", {}, "row 1: session = 1"),
    ("log(wai - 6) ~ time + (1 | therapist)", {}, "wai = "),
])
def test_transforms_outside_their_domain_name_the_term_and_rows(sessions, formula, values,
                                                                 shown):
    data = with_therapist_columns(sessions)
    for row, value in values.items():
        data.loc[row, "session"] = value
    with pytest.raises(DataError) as caught:
        fit(formula, data)
    message = str(caught.value)
    assert "is undefined (not a finite number)" in message
    assert "rows are counted from 1" in message and shown in message
    assert "not missing values" in message


def test_missing_values_inside_a_transform_stay_missing(sessions):
    data = with_therapist_columns(sessions)
    data.loc[[2, 6], "session"] = np.nan
    result = quiet_fit("wai ~ log(session) + (1 | therapist)", data)
    assert result.n_dropped == 2


@pytest.mark.parametrize("formula, error, words", [
    ("wai ~ time + (foo | therapist)", DataError,
     "column 'foo' used in the random effects (foo | therapist) is not in the data"),
    ("wai ~ .", FormulaSyntaxError, "'.' (all other columns) is not supported"),
    ("wai ~ time + (. | therapist)", FormulaSyntaxError, "'.' (all other columns)"),
    ("wai ~ I(time.__class__) + (1 | therapist)", SpecificationError,
     "'time.__class__' reads an attribute"),
    ("wai ~ I(np.__dict__) + (1 | therapist)", SpecificationError, "reads an attribute"),
    ("wai ~ frobnicate(time) + (1 | therapist)", SpecificationError,
     "unknown function 'frobnicate'"),
    ("wai ~ sqr(time) + (1 | therapist)", SpecificationError,
     "unknown function 'sqr' (did you mean sqrt?)"),
    ("wai ~ np.frobnicate(time) + (1 | therapist)", SpecificationError,
     "unknown function 'np.frobnicate'"),
    ("wai ~ poly(time, 2) + (1 | therapist)", SpecificationError, "unknown function 'poly'"),
    ("wai ~ (time + (1 | therapist)", FormulaSyntaxError, "'(' is never closed"),
    ("wai ~ time) + (1 | therapist)", FormulaSyntaxError, "closing ')' has no matching '('"),
    ("wai ~ time + () + (1 | therapist)", FormulaSyntaxError, "empty parentheses"),
    ("wai ~ I(time ** ) + (1 | therapist)", SpecificationError, "does not parse"),
    ("wai ~ I(time if time else 1) + (1 | therapist)", SpecificationError,
     "two names or numbers in a row"),
    ("wai ~ I(time[0]) + (1 | therapist)", SpecificationError, "is not arithmetic"),
    ("wai ~ I('a') + (1 | therapist)", SpecificationError, "'a' is not a number"),
    ("wai ~ I(2) + (1 | therapist)", SpecificationError, "not one value per row"),
    ("wai ~ log() + (1 | therapist)", SpecificationError, "cannot evaluate the formula term"),
    ("wai ~ 'time' + (1 | therapist)", SpecificationError, "String literals are not valid"),
    ("wai ~ 0 + (1 | therapist)", SpecificationError, "no fixed effects"),
    ("wai ~ time + (1 | log(therapist))", FormulaSyntaxError, "invalid grouping factor"),
])
def test_formula_mistakes_are_clear_errors(sessions, formula, error, words):
    with pytest.raises(error) as caught:
        fit(formula, sessions)
    assert words in str(caught.value)
    assert isinstance(caught.value, SpecificationError)
    assert "\x1b" not in str(caught.value)  # no terminal colours from formulaic
