"""Item selection, numeric checks and missing-data rules."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alliance.errors import DataError, SpecificationError
from alliance.scales import prepare_items


def test_pairwise_keeps_incomplete_rows_and_counts_empty_ones():
    data = pd.DataFrame({"a": [1, 2, np.nan, 4, np.nan], "b": [2, np.nan, 3, 1, np.nan]})
    prepared = prepare_items(data)
    assert prepared.n_obs == 4 and prepared.n_excluded == 1
    assert list(prepared.rows) == [0, 1, 2, 3]
    listwise = prepare_items(data, missing="listwise", min_rows=2)
    assert listwise.n_obs == 2 and listwise.n_excluded == 3


def test_listwise_with_too_few_rows_suggests_pairwise():
    data = pd.DataFrame({"a": [1, 2, np.nan, 4], "b": [2, np.nan, 3, np.nan]})
    with pytest.raises(DataError, match="missing='pairwise'"):
        prepare_items(data, missing="listwise")


@pytest.mark.parametrize(
    ("data", "items", "message"),
    [
        (np.zeros((3, 2)), None, "must be a pandas DataFrame"),
        (pd.DataFrame({"a": [1, 2, 3]}), None, "at least two items"),
        (pd.DataFrame({"a": [1, 2, 3], "b": [1, 2, 1]}), ["a", "a"], "more than once"),
        (pd.DataFrame({"a": [1.0, np.inf, 3], "b": [1, 2, 1]}), None, "infinite value in row 2"),
        (pd.DataFrame([[1, 2], [2, 1], [3, 3]], columns=["a", "a"]), None, "repeated column"),
    ],
)
def test_bad_input(data, items, message):
    with pytest.raises(DataError, match=message):
        prepare_items(data, items)


def test_items_may_be_a_comma_separated_string():
    data = pd.DataFrame({"a": [1, 2, 3], "b": [1, 3, 2], "c": [3, 1, 2]})
    assert prepare_items(data, "c, a").items == ("c", "a")


def test_unknown_missing_rule():
    with pytest.raises(SpecificationError, match="missing-data rule"):
        prepare_items(pd.DataFrame({"a": [1, 2, 3], "b": [3, 1, 2]}), missing="impute")
