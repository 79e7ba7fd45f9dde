"""Checks that a table has the columns and the kinds of values an analysis needs.

Every check raises :class:`alliance.errors.DataError` naming the file (``source``), the
column, the offending rows and values, and what to do about it. Rows are numbered as a
spreadsheet user counts data rows: from 1 at the first row below the header.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from alliance.errors import DataError, SpecificationError

#: How many offending cells a message lists before summarising the rest.
MAX_LISTED = 20

#: How rows are numbered in every message: as a spreadsheet user counts data rows.
ROWS_COUNTED = "rows are counted from 1 at the first row below the header"

_DECIMAL_COMMA = re.compile(r"^\s*[-+]?\d+,\d+\s*$")
#: What to do about numbers written with a decimal comma.
DECIMAL_COMMA_HINT = (
    "These look like numbers with a decimal comma: write them with a decimal point (in a "
    "spreadsheet, save the CSV with '.' as the decimal separator)."
)


def require_columns(df: pd.DataFrame, columns: Sequence[str], *, source: str) -> None:
    """Raise if any of ``columns`` is not a column of ``df``.

    The message names each missing column with the closest existing column names
    (``difflib.get_close_matches``) and lists the columns that exist.

    Raises
    ------
    DataError
        If one or more columns are missing.
    """
    existing = [str(name) for name in df.columns]
    missing = [column for column in columns if column not in df.columns]
    if not missing:
        return
    noun = "column" if len(missing) == 1 else "columns"
    raise DataError(
        f"{source}: {len(missing)} required {noun} not found:\n"
        + unknown_names(missing, existing)
        + f"\nColumns in the file: {format_names(existing)}.\n"
        "Rename the columns in the file or name the right columns in the command."
    )


def unknown_names(names: Sequence[object], existing: Sequence[str]) -> str:
    """One indented line per unknown name, with the names it resembles:
    ``  'tme' (did you mean 'time'?)``."""
    lines = []
    for name in names:
        matches = close_matches(str(name), existing)
        hint = f" (did you mean {', '.join(repr(m) for m in matches)}?)" if matches else ""
        lines.append(f"  {name!r}{hint}")
    return "\n".join(lines)


def close_matches(name: str, candidates: Sequence[str]) -> list[str]:
    """Up to three of ``candidates`` that look like ``name``, ignoring case and surrounding
    spaces; only the one that differs just so, if there is one."""
    keys: dict[str, str] = {}
    for candidate in candidates:
        keys.setdefault(candidate.strip().lower(), candidate)
    if name.strip().lower() in keys:
        return [keys[name.strip().lower()]]
    found = difflib.get_close_matches(name.strip().lower(), list(keys), n=3, cutoff=0.6)
    return [keys[key] for key in found]


def require_numeric(df: pd.DataFrame, column: str, *, source: str) -> None:
    """Raise unless every non-missing value of ``df[column]`` is a number.

    Empty cells are missing values and pass. Text that does not read as a number
    (``"n/a"``, ``"3,5"``, ``"four"``) fails, and so does a column of numbers stored as
    text, which an analysis would otherwise treat as categories.

    Raises
    ------
    DataError
        Naming the file, the column, the first offending rows (1-based data rows) and
        their values, with a remedy.
    """
    require_columns(df, [column], source=source)
    values = df[column]
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return
    present = values.notna().to_numpy()
    parsed = pd.to_numeric(values, errors="coerce")
    bad = present & parsed.isna().to_numpy()
    if not bad.any():
        first = int(np.flatnonzero(present)[0]) if present.any() else 0
        raise DataError(
            f"{source}: column {column!r} holds numbers stored as text "
            f"(for example row {first + 1}: {values.iloc[first]!r}). "
            "Store the column as numbers (in a spreadsheet: format the cells as numbers) "
            "and read the file again."
        )
    positions = np.flatnonzero(bad)
    raise DataError(
        f"{source}: column {column!r} must hold numbers, but "
        f"{_do_not(len(positions))} ({ROWS_COUNTED}):\n"
        + list_cells(values, positions)
        + "\nCorrect these cells, or leave them empty if the value is missing."
    )


def require_integer_range(
    df: pd.DataFrame, column: str, *, low: int, high: int, source: str
) -> None:
    """Raise unless every non-missing value of ``df[column]`` is a whole number in ``[low, high]``.

    Empty cells are missing values and pass; the column must first pass
    :func:`require_numeric`.

    Raises
    ------
    DataError
        Naming the file, the column, the allowed range and the first offending rows
        (1-based data rows) with their values.
    """
    if low > high:
        raise SpecificationError(
            f"require_integer_range: low ({low}) must not exceed high ({high}); swap them."
        )
    require_numeric(df, column, source=source)
    values = df[column]
    numbers = values.to_numpy(dtype=float, na_value=np.nan)
    present = ~np.isnan(numbers)
    with np.errstate(invalid="ignore"):
        bad = present & ((numbers != np.round(numbers)) | (numbers < low) | (numbers > high))
    if not bad.any():
        return
    positions = np.flatnonzero(bad)
    raise DataError(
        f"{source}: column {column!r} must hold whole numbers from {low} to {high}, but "
        f"{_do_not(len(positions))} ({ROWS_COUNTED}):\n"
        + list_cells(values, positions)
        + "\nCorrect these cells, or leave them empty if the value is missing."
    )


def list_cells(values: pd.Series, positions: np.ndarray) -> str:
    """One indented line per cell at ``positions`` (0-based), ``  row 4: 'n/a'``, rows counted
    from 1 (:data:`ROWS_COUNTED`); at most :data:`MAX_LISTED`, then how many more. When the
    cells look like numbers with a decimal comma (``'3,5'``), a last line says so."""
    lines = [f"  row {i + 1}: {show_value(values.iloc[i])}" for i in positions[:MAX_LISTED]]
    rest = len(positions) - MAX_LISTED
    if rest > 0:
        lines.append(f"  ... and {_count(rest, 'more cell')}")
    if any(_DECIMAL_COMMA.match(str(values.iloc[i])) for i in positions[:MAX_LISTED]):
        lines.append(DECIMAL_COMMA_HINT)
    return "\n".join(lines)


def show_value(value: object) -> str:
    """A cell's value as a message shows it: whole numbers without ``.0``, text quoted."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value)) if abs(float(value)) < 1e15 else repr(float(value))
    if isinstance(value, str):
        return repr(value)
    return str(value)


def _do_not(n: int) -> str:
    return "1 cell does not" if n == 1 else f"{n} cells do not"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def format_names(names: Sequence[str], limit: int = 40) -> str:
    shown = ", ".join(repr(name) for name in names[:limit])
    if len(names) > limit:
        shown += f", ... ({len(names) - limit} more)"
    return shown or "(none)"
