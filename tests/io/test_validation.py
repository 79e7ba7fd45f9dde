"""require_columns, require_numeric, require_integer_range: what passes, what each error says."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alliance.errors import DataError
from alliance.io import require_columns, require_integer_range, require_numeric

SOURCE = "study/wai.csv"


def test_require_columns_passes_and_fails() -> None:
    frame = pd.DataFrame({"Patient": [1], "wai1": [2]})
    require_columns(frame, ["wai1"], source=SOURCE)
    with pytest.raises(DataError, match=r"'patient' \(did you mean 'Patient'\?\)"):
        require_columns(frame, ["patient"], source=SOURCE)


def test_numeric_columns_pass_with_missing_values() -> None:
    frame = pd.DataFrame({"x": [1.0, np.nan, 3.5], "n": pd.array([1, None, 3], dtype="Int64")})
    require_numeric(frame, "x", source=SOURCE)
    require_numeric(frame, "n", source=SOURCE)


def test_text_cells_are_listed_with_spreadsheet_rows() -> None:
    frame = pd.DataFrame({"wai3": ["4", None, "four", "5", "3,5"]})
    with pytest.raises(DataError) as caught:
        require_numeric(frame, "wai3", source=SOURCE)
    message = str(caught.value)
    assert message.startswith(f"{SOURCE}: column 'wai3' must hold numbers, but 2 cells do not")
    assert "rows are counted from 1 at the first row below the header" in message
    assert "  row 3: 'four'\n  row 5: '3,5'\n" in message
    assert "decimal point" in message


def test_one_bad_cell_and_no_decimal_comma_hint() -> None:
    frame = pd.DataFrame({"wai3": ["4", "x"]})
    with pytest.raises(DataError, match="1 cell does not") as caught:
        require_numeric(frame, "wai3", source=SOURCE)
    assert "decimal" not in str(caught.value)


def test_the_list_of_bad_cells_is_capped() -> None:
    frame = pd.DataFrame({"x": ["bad"] * 25})
    with pytest.raises(DataError) as caught:
        require_numeric(frame, "x", source=SOURCE)
    message = str(caught.value)
    assert "25 cells do not" in message
    assert "  row 20: 'bad'" in message
    assert "row 21" not in message
    assert "... and 5 more cells" in message


def test_numbers_stored_as_text() -> None:
    frame = pd.DataFrame({"x": pd.Series([None, "2", "3"], dtype="object")})
    with pytest.raises(DataError, match=r"numbers stored as text \(for example row 2: '2'\)"):
        require_numeric(frame, "x", source=SOURCE)


def test_boolean_is_not_numeric() -> None:
    with pytest.raises(DataError, match="stored as text|must hold numbers"):
        require_numeric(pd.DataFrame({"x": [True, False]}), "x", source=SOURCE)


def test_missing_column_is_reported_by_the_numeric_check() -> None:
    with pytest.raises(DataError, match="required column not found"):
        require_numeric(pd.DataFrame({"x": [1]}), "y", source=SOURCE)


def test_integer_range_passes_whole_numbers_and_missing() -> None:
    frame = pd.DataFrame({"wai1": [1.0, 7.0, np.nan, 4.0]})
    require_integer_range(frame, "wai1", low=1, high=7, source=SOURCE)


def test_integer_range_lists_fractions_and_out_of_range_values() -> None:
    frame = pd.DataFrame({"wai1": [1.0, 0.0, 2.5, np.nan, 8.0, 7.0]})
    with pytest.raises(DataError) as caught:
        require_integer_range(frame, "wai1", low=1, high=7, source=SOURCE)
    message = str(caught.value)
    assert "must hold whole numbers from 1 to 7, but 3 cells do not" in message
    assert "  row 2: 0\n  row 3: 2.5\n  row 5: 8\n" in message


def test_integer_range_rejects_text_first() -> None:
    with pytest.raises(DataError, match="must hold numbers"):
        require_integer_range(pd.DataFrame({"x": ["a"]}), "x", low=0, high=5, source=SOURCE)


def test_integer_range_bounds_must_be_ordered() -> None:
    with pytest.raises(ValueError, match="must not exceed"):
        require_integer_range(pd.DataFrame({"x": [1]}), "x", low=5, high=1, source=SOURCE)
