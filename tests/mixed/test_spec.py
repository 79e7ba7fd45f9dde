"""Arrays of the model specification: grouping codes and labels, dropped rows, the data left as is."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alliance.mixed.levels import unique_inverse
from alliance.mixed.spec import build_spec

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
