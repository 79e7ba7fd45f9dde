"""Checks of the study's tables, each naming the file, the column and the rows at fault.

Rows are numbered as in :mod:`alliance.io.validation`: from 1 at the first row below the
header, read from the ``row`` column the reader adds to every table.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from alliance.errors import DataError
from alliance.io import require_numeric
from alliance.io.validation import MAX_LISTED, ROWS_COUNTED

#: Column of the prepared frames holding the 1-based data row of the source file.
ROW = "row"


def id_values(frame: pd.DataFrame, column: str, source: str) -> pd.Series:
    """Identifiers as text (whole numbers without a decimal part); none may be missing."""
    values = frame[column]
    missing = values.isna().to_numpy()
    if missing.any():
        rows = frame[ROW].to_numpy()[missing]
        raise DataError(
            f"{source}: column {column!r} has empty identifiers in {rows_text(rows)} "
            f"({ROWS_COUNTED}). Fill them in or remove those rows."
        )
    # each distinct identifier is converted once (a practice network has a few thousand
    # therapists in hundreds of thousands of rows)
    codes, distinct = pd.factorize(values)
    return pd.Series(_texts(np.asarray(distinct))[codes], index=values.index,
                     name=values.name, dtype=object)


def _texts(distinct: np.ndarray) -> np.ndarray:
    """:func:`as_text` of each value; at once for text and for whole numbers (the 40,000
    patients of a practice network took 0.1 s one by one)."""
    if distinct.dtype.kind in "iu" or (
        distinct.dtype.kind == "f" and np.all(np.isfinite(distinct))
        and np.all(distinct == np.round(distinct)) and np.all(np.abs(distinct) < 2.0**53)
    ):
        return distinct.astype(np.int64).astype(str).astype(object)
    if pd.api.types.infer_dtype(distinct, skipna=False) == "string":
        return np.char.strip(distinct.astype(str)).astype(object)
    return np.array([as_text(value) for value in distinct], dtype=object)


def as_text(value: Any) -> str:
    """An identifier as text: whole numbers without ``.0``, text without surrounding spaces."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value).strip()


def require_unique(frame: pd.DataFrame, columns: list[str], source: str, what: str) -> None:
    """Each combination of ``columns`` must appear once."""
    duplicated = frame.duplicated(columns, keep=False).to_numpy()
    if duplicated.any():
        first = frame.loc[duplicated].groupby(columns, sort=False)
        key, rows = next(iter(first))
        shown = key if isinstance(key, tuple) else (key,)
        described = ", ".join(f"{c} = {v!r}" for c, v in zip(columns, shown, strict=True))
        raise DataError(
            f"{source}: columns {columns}: each {what} must appear once, but {described} "
            f"appears in {rows_text(rows[ROW].to_numpy())} ({int(duplicated.sum())} duplicated rows "
            f"in all; {ROWS_COUNTED}). Remove the duplicates or correct the identifiers."
        )


def one_therapist_each(frame: pd.DataFrame, column: str) -> None:
    """Raise if a patient appears under two therapists (``frame`` has ``source`` and ``row``)."""
    counts = frame.groupby("patient")["therapist"].nunique()
    split = counts.index[counts > 1]
    if len(split):
        patient = split[0]
        rows = frame.loc[frame["patient"] == patient].drop_duplicates("therapist")
        pairs = ", ".join(
            f"{therapist!r} ({source}, row {row})"
            for therapist, source, row in rows[["therapist", "source", ROW]].itertuples(
                index=False
            )
        )
        files = ", ".join(dict.fromkeys(rows["source"]))
        raise DataError(
            f"{files}: column {column!r}: patient {patient!r} is under more than one therapist: "
            f"{pairs} ({len(split)} such patients; {ROWS_COUNTED}). The model needs patients "
            "nested in therapists: correct the file, or give a patient who changed therapist "
            "a new id per treatment."
        )


def require_sessions(frame: pd.DataFrame, column: str, source: str) -> None:
    """Session numbers must be whole numbers from 1 up (session 1 is the first)."""
    require_numeric(frame, column, source=source)
    sessions = frame[column].to_numpy(dtype=float, na_value=np.nan)
    bad = ~(sessions > 0)
    if not bad.any():
        bad = sessions != np.round(sessions)
    if bad.any():
        shown = ", ".join(f"{value:g}" for value in sessions[bad][:5])
        raise DataError(
            f"{source}: column {column!r} must hold whole session numbers from 1 up (the "
            f"session's number in the treatment), which is not so in "
            f"{rows_text(frame[ROW].to_numpy()[bad])} ({shown}; {ROWS_COUNTED}). Correct or "
            "remove those rows."
        )


def numeric_covariates(frame: pd.DataFrame, covariates: Any, source: str) -> None:
    """Require numeric covariate columns and store them as floats (NaN missing)."""
    for column in covariates.values():
        require_numeric(frame, column, source=source)
        frame[column] = frame[column].to_numpy(dtype=float, na_value=np.nan)


def rows_text(rows: np.ndarray) -> str:
    """``"rows 3, 9"`` for 1-based row numbers, the first few only."""
    shown = ", ".join(str(int(r)) for r in rows[:MAX_LISTED])
    more = f" and {len(rows) - MAX_LISTED} more" if len(rows) > MAX_LISTED else ""
    return f"row{'s' if len(rows) > 1 else ''} {shown}{more}"


def describe(rows: pd.DataFrame, column: str) -> tuple[str, str]:
    """``("patients 'P1', 'P2' (rows 3, 9)", "are")`` for the offending rows."""
    ids = rows[column].unique()
    listed = ", ".join(repr(i) for i in ids[:5]) + (" ..." if len(ids) > 5 else "")
    noun = column if len(ids) == 1 else f"{column}s"
    return f"{noun} {listed} ({rows_text(rows[ROW].to_numpy())})", "is" if len(ids) == 1 else "are"
