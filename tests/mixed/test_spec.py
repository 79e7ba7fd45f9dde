"""Arrays of the model specification: grouping codes and labels, dropped rows, the data left as
is; a spec rebuilt from new data equals build_spec's, and rebuild_spec refuses what build_spec
refuses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from spec_checks import assert_same_spec

from alliance.errors import DataError, SpecificationError, UnknownColumnError
from alliance.mixed import fit_spec
from alliance.mixed.levels import unique_inverse
from alliance.mixed.spec import build_spec, rebuild_spec

REFERENCE = Path(__file__).resolve().parents[1] / "reference"

FORMULA = "wai ~ time + np.log(time + 1) + (1 + I(time^2) | therapist/patient)"


@pytest.fixture
def sessions() -> pd.DataFrame:
    """Five therapists with three patients each, four sessions each; ids in no sorted order."""
    rng = np.random.default_rng(11)
    rows = [
        {"therapist": f"T{9 - t}", "patient": f"P{(7 * (3 * t + p)) % 15:02d}", "time": float(s),
         "wai": 5.0 + 0.2 * t + 0.1 * s + rng.normal()}
        for t in range(5) for p in range(3) for s in range(4)
    ]
    return pd.DataFrame(rows)


def levels_of(data: pd.DataFrame) -> list[tuple[object, ...]]:
    spec = build_spec(FORMULA, data)
    return [
        (level.name, level.codes.tolist(), level.labels.tolist(),
         None if level.parent is None else level.parent.tolist())
        for level in spec.levels
    ]


def test_text_and_object_grouping_columns_give_the_same_levels(sessions):
    data = sessions.copy()
    data.loc[[0, 1, 2, 3], "wai"] = np.nan  # every session of the first patient: a level goes
    data.loc[5, "patient"] = None
    text = data.astype({"therapist": "str", "patient": "str"})
    assert isinstance(text["patient"].array, pd.arrays.ArrowStringArray)
    objects = data.astype({"therapist": object, "patient": object})
    assert levels_of(text) == levels_of(objects)
    spec = build_spec(FORMULA, text)
    assert spec.n_dropped == 5
    assert spec.dropped_rows == (0, 1, 2, 3, 5)
    assert spec.row_index.tolist() == [i for i in range(len(data)) if i not in {0, 1, 2, 3, 5}]
    labels = spec.levels[0].labels.tolist()
    assert labels == sorted(labels) and len(labels) == 14


def test_text_in_several_chunks(sessions):
    halves = [sessions.iloc[:30], sessions.iloc[30:]]
    chunked = pd.concat([half.astype({"patient": "str"}) for half in halves])
    assert chunked["patient"].array.__arrow_array__().num_chunks == 2
    assert levels_of(chunked) == levels_of(sessions.astype({"patient": "str"}))


def test_levels_are_sorted_by_value_with_parents(sessions):
    spec = build_spec(FORMULA, sessions)
    inner, outer = spec.levels
    assert outer.labels.tolist() == [f"T{t}" for t in range(5, 10)]
    assert inner.labels.tolist() == sorted(inner.labels.tolist())
    therapist_of = dict(zip(sessions["patient"], sessions["therapist"], strict=True))
    for label, parent in zip(inner.labels, inner.parent, strict=True):
        patient, therapist = label.split(":")
        assert outer.labels[parent] == therapist == therapist_of[patient]


def test_data_are_not_modified(sessions):
    data = sessions.assign(wai=sessions["wai"].where(sessions.index != 4))
    before = data.copy(deep=True)
    build_spec(FORMULA, data)
    pd.testing.assert_frame_equal(data, before)


@pytest.mark.parametrize("n_keys", [40, 10_000])
def test_unique_inverse_is_numpys(n_keys):
    keys = np.random.default_rng(3).integers(0, n_keys, size=300)
    distinct, index = unique_inverse(keys, n_keys)
    expected_distinct, expected_index = np.unique(keys, return_inverse=True)
    np.testing.assert_array_equal(distinct, expected_distinct)
    np.testing.assert_array_equal(index, expected_index)


def test_integer_ids_are_labelled_as_python_prints_them(sessions):
    """Ids in the table, beyond it, negative and sparse: the labels are str() of each id."""
    ids = np.array([0, 3, 3, 70_000, -2, 1023, 1024, 5]).repeat(6)
    data = pd.DataFrame({"g": ids, "x": np.arange(len(ids)) % 3,
                         "y": np.random.default_rng(1).normal(size=len(ids))})
    level = build_spec("y ~ x + (1 | g)", data).levels[0]
    expected = sorted(set(ids.tolist()))
    assert level.labels.tolist() == [str(value) for value in expected]
    np.testing.assert_array_equal(level.codes, np.searchsorted(expected, ids))


def columns_of(data: pd.DataFrame) -> dict[str, np.ndarray]:
    return {name: data[name].to_numpy() for name in data.columns}


NUMERIC = "wai ~ time * x + (1 + time | therapist/patient)"


@pytest.fixture
def numeric(sessions) -> pd.DataFrame:
    rng = np.random.default_rng(4)
    return sessions.assign(x=sessions["therapist"].map({f"T{t}": rng.normal() for t in range(5, 10)}))


def test_rebuilt_spec_equals_build_spec(numeric):
    template = build_spec(NUMERIC, numeric)
    assert_same_spec(rebuild_spec(template, columns_of(numeric)), template)
    # new data of the same model: another response, rows missing in several ways, text ids
    # with a missing id, the columns in another order and one more column
    rng = np.random.default_rng(8)
    new = numeric.assign(wai=rng.normal(size=len(numeric)), extra="unused")
    new.loc[[2, 7], "time"] = np.nan
    new.loc[11, "wai"] = np.nan
    new.loc[[12, 13, 14, 15], "x"] = np.nan  # a whole patient: one group fewer
    new = new.astype({"patient": object})
    new.loc[30, "patient"] = None
    new = new.iloc[::-1].reset_index(drop=True)
    rebuilt = rebuild_spec(template, columns_of(new))
    expected = build_spec(NUMERIC, new)
    assert expected.n_dropped == 8 and expected.levels[0].n_groups == 14
    assert_same_spec(rebuilt, expected)


def test_rebuilt_spec_of_integer_ids_with_gaps(numeric):
    """Ids that are numbers, with gaps and dropped groups: codes and labels as build_spec."""
    data = numeric.assign(therapist=numeric["therapist"].str[1:].astype(int) * 7,
                          patient=numeric["patient"].str[1:].astype(int) + 1000)
    template = build_spec(NUMERIC, data)
    fewer = data[data["therapist"] != 56].reset_index(drop=True)
    assert_same_spec(rebuild_spec(template, columns_of(fewer)), build_spec(NUMERIC, fewer))


def test_rebuilt_spec_of_a_real_data_set_fits_as_lme4():
    """lme4::Pastes (text ids that restart within batches) and lme4::sleepstudy: the spec
    rebuilt from a template made on other data reaches lme4's REML criterion."""
    for case, template_rows in (("pastes_nested", slice(0, 30)), ("sleepstudy_corr", slice(0, 90))):
        reference = json.loads((REFERENCE / "mixed" / f"{case}.json").read_text())
        data = pd.read_csv(REFERENCE / "data" / reference["data"])
        for column in reference["factor_levels"]:
            data[column] = data[column].astype(str)
        template = build_spec(reference["formula"], data.iloc[template_rows])
        rebuilt = rebuild_spec(template, columns_of(data))
        assert_same_spec(rebuilt, build_spec(reference["formula"], data))
        criterion = reference["fits"]["REML"]["reml_criterion"]
        assert fit_spec(rebuilt).deviance == pytest.approx(criterion, rel=1e-7)


@pytest.mark.parametrize(
    ("formula", "options"),
    [
        ("wai ~ np.log(time + 1) + (1 | therapist)", {}),
        ("wai ~ time + (1 + I(time^2) | therapist)", {}),
        ("wai ~ C(therapist) + time + (1 | patient)", {}),
        ("np.log(wai + 10) ~ time + (1 | therapist)", {}),
        ("wai ~ time + (1 | therapist)", {"residual_groups": "therapist"}),
    ],
)
def test_rebuild_refuses_templates_formulaic_builds(numeric, formula, options):
    template = build_spec(formula, numeric, **options)
    with pytest.raises(SpecificationError, match="build each spec with build_spec"):
        rebuild_spec(template, columns_of(numeric))


def test_rebuild_refuses_bad_data(numeric):
    template = build_spec(NUMERIC, numeric)
    columns = columns_of(numeric)
    with pytest.raises(UnknownColumnError, match=r"column 'x'.*not in the new data"):
        rebuild_spec(template, {k: v for k, v in columns.items() if k != "x"})
    with pytest.raises(DataError, match="column 'time' holds object values, not numbers"):
        rebuild_spec(template, {**columns, "time": columns["time"].astype(str).astype(object)})
    with pytest.raises(DataError, match=r"column 'x' has shape \(59,\)"):
        rebuild_spec(template, {**columns, "x": columns["x"][1:]})
    infinite = columns["time"].copy()
    infinite[3] = np.inf
    with pytest.raises(DataError, match=r"(?s)column 'time' has infinite values in 1 cell.*row 4: inf"):
        rebuild_spec(template, {**columns, "time": infinite})
    with pytest.raises(DataError, match="column 'x' has no non-missing value"):
        rebuild_spec(template, {**columns, "x": np.full(len(numeric), np.nan)})
    no_ids = np.full(len(numeric), None, dtype=object)
    with pytest.raises(DataError, match="column 'patient' has no non-missing value"):
        rebuild_spec(template, {**columns, "patient": no_ids})
    some = columns["wai"].copy()
    some[::2] = np.nan
    times = columns["time"].copy()
    times[1::2] = np.nan
    with pytest.raises(DataError, match="no row is complete"):
        rebuild_spec(template, {**columns, "wai": some, "time": times})


def test_rebuild_refuses_what_the_new_data_cannot_estimate(numeric):
    template = build_spec(NUMERIC, numeric)
    columns = columns_of(numeric)
    with pytest.raises(SpecificationError, match="rank deficient"):
        rebuild_spec(template, {**columns, "x": 2.0 * columns["time"]})
    one = numeric[numeric["therapist"] == "T9"]
    with pytest.raises(SpecificationError, match="grouping factor 'therapist' has 1 group"):
        rebuild_spec(build_spec("wai ~ time + (1 | therapist/patient)", numeric),
                     columns_of(one))
    two_sessions = numeric[numeric["time"] < 2]
    with pytest.raises(SpecificationError, match="number of random effects"):
        rebuild_spec(template, columns_of(two_sessions))


def test_rebuild_refuses_crossed_or_reordered_levels(numeric):
    formula = "wai ~ time + (1 | therapist) + (1 | patient)"
    template = build_spec(formula, numeric)
    columns = columns_of(numeric)
    restarting = np.array([patient[-1] for patient in columns["patient"]], dtype=object)
    with pytest.raises(SpecificationError, match="not nested"):
        rebuild_spec(template, {**columns, "patient": restarting})
    # the roles swapped: therapists now nested in patients, the levels in another order
    swapped = {**columns, "therapist": columns["patient"], "patient": columns["therapist"]}
    with pytest.raises(SpecificationError, match=r"levels \['therapist', 'patient'\]"):
        rebuild_spec(template, swapped)


#: Fits models of plain numeric columns in a fresh process and predicts the data of each fit,
#: then prints the fixed-effect names of each fit, the largest difference between the
#: predictions and the fitted values, and the modules of formulaic and scipy.sparse it has
#: imported.
PLAIN_FITS = """
import json, sys, warnings
import numpy as np, pandas as pd
import alliance.mixed
rng = np.random.default_rng(5)
n = 240
data = pd.DataFrame({name: rng.normal(size=n) for name in
                     ("time", "IQ.verb", "a b", "lambda", "pi", "e", "C", "I", "z")})
data["therapist"] = np.repeat(np.arange(12), 20)
data["patient"] = np.repeat(np.arange(48), 5)
data["y"] = (data["time"] + data["IQ.verb"] + rng.normal(size=12)[data["therapist"]]
             + rng.normal(size=48)[data["patient"]] + rng.normal(size=n))
formulas = sys.argv[1:]
names = []
difference = 0.0
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    for formula in formulas:
        result = alliance.mixed.fit(formula, data)
        names.append(list(result.spec.fixed_names))
        predicted = result.predict(data).to_numpy()
        difference = max(difference, float(np.max(np.abs(predicted - result.fitted))))
loaded = [m for m in sys.modules if m.split(".")[0] == "formulaic" or m.startswith("scipy.sparse")]
print(json.dumps({"names": names, "difference": difference, "loaded": loaded}))
"""


def test_fits_of_plain_numeric_columns_import_neither_formulaic_nor_scipy_sparse() -> None:
    # nor do predictions of their data
    # formulaic (and scipy.sparse, which it loads) takes a fifth of a second to import
    formulas = [
        "y ~ time * (IQ.verb + `a b`) + (time | therapist/patient)",
        "y ~ 0 + (time + pi + e)^2 + `lambda`:time + (1 | therapist)",
        "y ~ time/(C + I) - 1 + z %in% time + (0 + `IQ.verb` | therapist)",
        "y ~ time:z + z:time + (1 + time || therapist)",
    ]
    run = subprocess.run([sys.executable, "-c", PLAIN_FITS, *formulas], capture_output=True,
                         text=True, check=True)
    found = json.loads(run.stdout)
    # R 4.2.2: attr(terms(f), "term.labels"), after the intercept if there is one
    assert found["names"] == [
        ["(Intercept)", "time", "IQ.verb", "`a b`", "time:IQ.verb", "time:`a b`"],
        ["time", "pi", "e", "time:pi", "time:e", "pi:e", "time:lambda"],
        ["time", "time:C", "time:I", "time:z"],
        ["(Intercept)", "time:z"],
    ]
    assert found["difference"] < 1e-10
    assert found["loaded"] == []
