"""Item responses ready for analysis: chosen columns, numeric checks, missing-data handling.

Every psychometric function of :mod:`alliance.scales` starts here, so that a wrong item name,
a text column, an item without variance or a row without any response is reported the same
way everywhere. Rows are never dropped silently: :class:`ItemData` counts what was excluded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from alliance.errors import DataError, SpecificationError
from alliance.io.validation import format_names, require_numeric, unknown_names

Missing = Literal["pairwise", "listwise"]
MISSING_CHOICES: tuple[str, ...] = ("pairwise", "listwise")

#: How many offending rows an error message lists.
_ROWS_LISTED = 10


@dataclass(frozen=True)
class ItemData:
    """Numeric item responses (rows = respondents) after missing-data handling.

    Attributes
    ----------
    items
        Item names, in analysis order.
    values
        Read-only ``(n_obs, n_items)`` float array; ``NaN`` marks a missing response
        (only possible under ``missing="pairwise"``).
    rows
        Positions (0-based) in the input of the rows kept.
    n_rows
        Rows in the input.
    n_excluded
        Rows excluded: under ``"listwise"`` every row with a missing response, under
        ``"pairwise"`` only rows without any response to the items.
    missing
        The missing-data rule applied.
    """

    items: tuple[str, ...]
    values: np.ndarray
    rows: np.ndarray
    n_rows: int
    n_excluded: int
    missing: str

    @property
    def n_obs(self) -> int:
        """Rows analysed."""
        return int(self.values.shape[0])


def check_missing_rule(missing: str) -> None:
    """Raise :class:`SpecificationError` unless ``missing`` is ``"pairwise"`` or ``"listwise"``."""
    if missing not in MISSING_CHOICES:
        raise SpecificationError(
            f"missing={missing!r} is not a missing-data rule; use 'pairwise' (each correlation "
            "from the rows that answered both items, as psych) or 'listwise' (complete rows only)."
        )


def select_items(data: pd.DataFrame, items: Sequence[str] | None) -> tuple[str, ...]:
    """The item columns to analyse: ``items`` (checked) or every column of ``data``.

    Raises
    ------
    DataError
        If ``data`` is not a DataFrame, an item is not a column (named with the closest
        column names), an item is listed twice, or fewer than two items remain.
    """
    if not isinstance(data, pd.DataFrame):
        raise DataError(
            f"item data must be a pandas DataFrame with one column per item, not "
            f"{type(data).__name__}. Wrap an array as pandas.DataFrame(array, columns=names)."
        )
    columns = [str(column) for column in data.columns]
    if len(set(columns)) != len(columns):
        repeated = sorted({c for c in columns if columns.count(c) > 1})
        raise DataError(
            f"the data have repeated column names: {format_names(repeated)}. "
            "Give every column a unique name."
        )
    if items is None:
        chosen = columns
    else:
        if isinstance(items, str):
            items = [part.strip() for part in items.split(",") if part.strip()]
        chosen = [str(item) for item in items]
        unknown = [item for item in chosen if item not in columns]
        if unknown:
            noun = "item is" if len(unknown) == 1 else "items are"
            raise DataError(
                f"{len(unknown)} requested {noun} not a column of the data:\n"
                + unknown_names(unknown, columns)
                + f"\nColumns available: {format_names(columns)}.\n"
                "Correct the item names, or pass items=None to analyse every column."
            )
        repeated = sorted({item for item in chosen if chosen.count(item) > 1})
        if repeated:
            raise DataError(
                f"items listed more than once: {format_names(repeated)}. List each item once."
            )
    if len(chosen) < 2:
        raise DataError(
            f"an analysis of items needs at least two items; got {len(chosen)} "
            f"({format_names(chosen)}). Name more items."
        )
    return tuple(chosen)


def prepare_items(
    data: pd.DataFrame,
    items: Sequence[str] | None = None,
    *,
    missing: str = "pairwise",
    min_rows: int = 3,
) -> ItemData:
    """Select, check and apply the missing-data rule to item responses.

    Parameters
    ----------
    data
        One row per respondent, one column per item (plus other columns, if ``items`` is given).
    items
        Columns to use; default every column.
    missing
        ``"pairwise"`` keeps every row with at least one response (the correlation of two
        items then uses the rows that answered both, as ``cor(use = "pairwise")`` in R);
        ``"listwise"`` keeps complete rows only.
    min_rows
        Fewest rows an analysis needs after the rule is applied.

    Raises
    ------
    DataError
        Unknown or repeated items, a non-numeric item (rows and values listed), an item with
        no variance (its single value named), or too few rows.
    SpecificationError
        An unknown ``missing`` rule.
    """
    check_missing_rule(missing)
    chosen = select_items(data, items)
    for item in chosen:
        series = data[item]
        if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            require_numeric(data, item, source="data")
    frame = data.loc[:, list(chosen)]
    values = frame.to_numpy(dtype=float, na_value=np.nan)
    infinite = np.isinf(values)
    if infinite.any():
        row, column = (int(i) for i in np.argwhere(infinite)[0])
        raise DataError(
            f"item {chosen[column]!r} holds an infinite value in row {row + 1} (rows counted "
            "from 1). Replace it by a valid response or leave the cell empty."
        )
    observed = ~np.isnan(values)
    keep = observed.all(axis=1) if missing == "listwise" else observed.any(axis=1)
    rows = np.flatnonzero(keep)
    kept = values[keep]
    if kept.shape[0] < min_rows:
        rule = "with a response to every item" if missing == "listwise" else "with any response"
        remedy = " Use missing='pairwise' to use incomplete rows." if missing == "listwise" else ""
        raise DataError(
            f"only {kept.shape[0]} of {values.shape[0]} rows {rule} to the items "
            f"{format_names(chosen)}; at least {min_rows} are needed.{remedy}"
        )
    _check_variance(kept, chosen)
    kept.setflags(write=False)
    rows.setflags(write=False)
    return ItemData(
        items=chosen,
        values=kept,
        rows=rows,
        n_rows=int(values.shape[0]),
        n_excluded=int(values.shape[0] - kept.shape[0]),
        missing=missing,
    )


def _check_variance(values: np.ndarray, items: tuple[str, ...]) -> None:
    """Raise :class:`DataError` naming every item whose responses do not vary."""
    problems = []
    for j, item in enumerate(items):
        column = values[:, j]
        present = column[~np.isnan(column)]
        if present.size == 0:
            problems.append(f"  {item!r}: no responses in the rows analysed")
        elif present.size == 1 or np.all(present == present[0]):
            problems.append(
                f"  {item!r}: every one of its {present.size} responses is {_number(present[0])}"
            )
    if problems:
        raise DataError(
            "items without variance cannot be correlated:\n"
            + "\n".join(problems)
            + "\nRemove these items from the analysis (items=[...]) or check the data."
        )


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def list_rows(rows: np.ndarray) -> str:
    """Render 0-based row positions as 1-based data rows, the first few only."""
    shown = ", ".join(str(int(r) + 1) for r in rows[:_ROWS_LISTED])
    rest = len(rows) - _ROWS_LISTED
    return shown + (f", ... ({rest} more)" if rest > 0 else "")
