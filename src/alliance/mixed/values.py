"""Values of the columns a model reads as numbers: text cells and infinities are errors.

lme4 reads a column with one text cell as a factor, so a numeric predictor with one "missing"
or " " would become as many dummy columns as it has values; an infinite value ends the fit
with a numerical error. Here a column that mixes numbers and text, or holds numbers stored
as text, is refused naming its rows and values, and so is an infinite value: neither is a
missing value. A column of text only is a categorical predictor, as in lme4; ``C(x)``
declares any column categorical on purpose.

Rows are numbered as everywhere in ``alliance`` (:data:`alliance.io.validation.ROWS_COUNTED`):
from 1 at the first data row.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable

import numpy as np
import pandas as pd

from alliance.errors import DataError
from alliance.io.validation import MAX_LISTED, ROWS_COUNTED, list_cells, show_value


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def _kinds(column: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Float values (NaN where not a number), and masks of text cells and numbers as text.

    A number stored as text (``"5"``) has its value and is marked in the third mask; any
    other non-missing cell that is not a number (``"missing"``, ``" "``, a date) is text.
    Each distinct value is looked at once: a text column of many rows has few of them.
    """
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    distinct = np.asarray(uniques, dtype=object)
    is_string = np.fromiter((isinstance(value, str) for value in distinct), bool, len(distinct))
    number = np.fromiter(map(_is_number, distinct), bool, len(distinct))
    floats = np.full(len(distinct) + 1, np.nan)  # the last entry for missing cells (code -1)
    floats[:-1][number] = distinct[number].astype(float)
    parsed = pd.to_numeric(pd.Series(distinct[is_string], dtype=object), errors="coerce")
    floats[:-1][is_string] = parsed.to_numpy(dtype=float, na_value=np.nan)
    in_text = is_string & ~np.isnan(floats[:-1])
    text = ~number & ~in_text
    present = codes >= 0
    return (floats[codes], present & np.append(text, False)[codes],
            present & np.append(in_text, False)[codes])


def _count(mask: np.ndarray, singular: str, plural: str) -> str:
    count = int(mask.sum())
    return f"1 {singular}" if count == 1 else f"{count} {plural}"


def _cells(column: pd.Series, mask: np.ndarray) -> str:
    return f"{_count(mask, 'cell', 'cells')} ({ROWS_COUNTED}):\n" + list_cells(
        column, np.flatnonzero(mask)
    )


def _listed(column: pd.Series, mask: np.ndarray) -> str:
    return f" ({ROWS_COUNTED}):\n" + list_cells(column, np.flatnonzero(mask))


def check_finite(values: np.ndarray, column: pd.Series, name: str) -> None:
    """Refuse infinite values of a numeric column (``values`` are its floats).

    Raises
    ------
    DataError
        Naming the column, the rows and the values.
    """
    infinite = np.isinf(values)
    if infinite.any():
        raise DataError(
            f"column '{name}' has infinite values in {_cells(column, infinite)}\nAn infinite "
            "value is not a missing value: correct these cells, or leave them empty if the "
            "value is missing."
        )


def predictor_values(column: pd.Series, name: str) -> np.ndarray | None:
    """Float values of a column not stored as numbers, or None if it is categorical.

    A column of Python numbers (and missing values) gives its values; a column without any
    number (text, dates), a categorical or a boolean one is categorical and gives None.

    Raises
    ------
    DataError
        When the column mixes numbers with text cells, holds numbers stored as text, or has
        infinite values: naming the column, the rows, the values, and how to declare a
        categorical predictor with ``C(name)``.
    """
    if isinstance(column.dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(column):
        return None
    floats, text, in_text = _kinds(column)
    numeric = column.notna().to_numpy() & ~text
    if not numeric.any():
        return None
    categorical = (f"to use '{name}' as a categorical predictor on purpose, write C({name}) "
                   "in the formula.")
    if text.any():
        if text.sum() <= numeric.sum():
            listed = (f"{_count(text, 'cell is', 'cells are')} not a number"
                      f"{_listed(column, text)}\nIf '{name}' is numeric, correct these cells, "
                      "or leave them empty if the value is missing")
        else:
            listed = (f"{_count(numeric, 'cell is a number', 'cells are numbers')} among "
                      f"text{_listed(column, numeric)}\nIf these cells are mistakes, correct "
                      "them")
        raise DataError(f"column '{name}' mixes numbers and text: {listed}; {categorical}")
    if in_text.any():
        first = in_text & (np.cumsum(in_text) <= 3)
        raise DataError(
            f"column '{name}' holds numbers stored as text, for example in "
            f"{_cells(column, first)}\nStore the column as numbers (in a spreadsheet: format "
            f"the cells as numbers); {categorical}"
        )
    check_finite(floats, column, name)
    return floats


def _float_values(
    column: pd.Series, name: str, text_message: Callable[[np.ndarray], str]
) -> np.ndarray:
    """Float values of ``column``, NaN where missing; numbers stored as text count.

    Raises a DataError with ``text_message(text)`` when cells are text (``text`` marks them),
    and :func:`check_finite`'s error when values are infinite.
    """
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        values = column.to_numpy(dtype=float, na_value=np.nan)
    else:
        values, text, _ = _kinds(column)
        if text.any():
            raise DataError(text_message(text))
    check_finite(values, column, name)
    return values


def response_values(column: pd.Series, name: str) -> np.ndarray:
    """Float values of the response column, NaN where missing; numbers stored as text count.

    Raises
    ------
    DataError
        If the column has text cells or infinite values, naming the rows and the values.
    """
    return _float_values(column, name, lambda text: (
        f"the response '{name}' must be numeric, but "
        f"{_count(text, 'cell is', 'cells are')} not a number{_listed(column, text)}\n"
        "Correct these cells, or leave them empty if the value is missing."
    ))


def call_values(column: pd.Series, name: str, term: str) -> np.ndarray:
    """Float values of a column read by a formula term such as ``log(session)``.

    Raises
    ------
    DataError
        If the column has text cells or infinite values, naming the column, the term, the
        rows and the values.
    """
    return _float_values(column, name, lambda text: (
        f"the formula term '{term}' needs numbers, but column '{name}' has text in "
        f"{_cells(column, text)}\nCorrect these cells, or leave them empty if the "
        "value is missing; compute any other transformation as a column of the data."
    ))


def check_domain(values: np.ndarray, inputs: dict[str, np.ndarray], term: str) -> None:
    """Refuse a transformation that is not finite where every column it reads is a number.

    ``values`` are the term's values, ``inputs`` the float values of the columns it reads;
    where one of them is missing the term is missing too, which is fine.

    Raises
    ------
    DataError
        Naming the term, its columns, and the rows with their values: ``log(session)`` at
        ``session = 0``.
    """
    outside = ~np.isfinite(values)
    for column in inputs.values():
        outside &= np.isfinite(column)
    if not outside.any():
        return
    positions = np.flatnonzero(outside)
    lines = [
        f"  row {row + 1}: " + ", ".join(
            f"{name} = {show_value(column[row])}" for name, column in inputs.items()
        )
        for row in positions[:MAX_LISTED]
    ]
    if len(positions) > MAX_LISTED:
        lines.append(f"  ... and {len(positions) - MAX_LISTED} more rows")
    names = " and ".join(f"'{name}'" for name in inputs)
    where = f"{names} {'has a value' if len(inputs) == 1 else 'have values'}"
    raise DataError(
        f"the formula term '{term}' is undefined (not a finite number) in "
        f"{_count(outside, 'row', 'rows')} where {where} ({ROWS_COUNTED}):\n"
        + "\n".join(lines) + "\nThe function is not defined there (log of 0 or of a negative "
        "number, sqrt of a negative number, division by 0), and these rows are not missing "
        "values. Transform differently (e.g. log(x + 1)) or remove these rows from the data."
    )
