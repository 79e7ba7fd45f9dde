"""Item responses in: gather wide or long data into one row per administration, and check them.

This is the validation stage of scoring: it finds the item columns (or item rows), the
administrations, and every response that is not a whole number inside the instrument's
range. It computes no scores.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from alliance.errors import DataError, SpecificationError
from alliance.instruments.instrument import Instrument
from alliance.io import require_columns
from alliance.io.validation import MAX_LISTED, ROWS_COUNTED, close_matches

#: Column names of long-layout data.
ITEM_COLUMN = "item"
RESPONSE_COLUMN = "response"

#: Identifies administrations of wide data given without id columns: the 1-based data row.
ROW_COLUMN = "row"

_SOURCE = "item data"


@dataclass(frozen=True)
class Responses:
    """Raw item responses, one row per administration, before keying.

    Attributes
    ----------
    ids
        The administrations: the id columns' values (or ``row`` for wide data without ids).
    values
        ``(administrations, items)`` responses as floats, NaN where missing or invalid.
    invalid_cells
        One row per invalid response: ``row`` (1-based input data row), ``column``
        (input column), ``item`` (instrument item id), ``value`` (as given), ``reason``.
    n_missing_cells
        Responses that were empty (or, in long data, absent), not counting invalid ones.
    """

    ids: pd.DataFrame
    values: np.ndarray
    invalid_cells: pd.DataFrame
    n_missing_cells: int


def item_columns(
    instrument: Instrument, items: Mapping[str, str] | None, prefix: str | None
) -> dict[str, str]:
    """The input column (wide) or item label (long) of each item: ``items[id]`` if given,
    else ``prefix + id``."""
    mapping = dict(items or {})
    unknown = [key for key in mapping if key not in instrument.items]
    if unknown:
        lines = []
        for key in unknown:
            near = close_matches(key, list(instrument.items))
            lines.append(f"{key!r}" + (f" (did you mean {near[0]!r}?)" if near else ""))
        raise SpecificationError(
            f"items maps ids that are not items of {instrument.name}: {', '.join(lines)}. "
            f"Its item ids are {', '.join(instrument.items)}."
        )
    columns = {item: mapping.get(item, f"{prefix or ''}{item}") for item in instrument.items}
    shared = sorted({c for c in columns.values() if list(columns.values()).count(c) > 1})
    if shared:
        raise SpecificationError(
            f"several items would be read from the same column: {shared}. "
            "Map each item to its own column."
        )
    return columns


def gather_wide(
    df: pd.DataFrame,
    instrument: Instrument,
    *,
    id_columns: Sequence[str],
    columns: Mapping[str, str],
) -> Responses:
    """Responses from wide data: one row per administration, one column per item."""
    ids_list = list(id_columns)
    overlap = sorted(set(ids_list) & set(columns.values()))
    if overlap:
        raise SpecificationError(f"columns {overlap} are given both as id and as item columns.")
    require_columns(df, ids_list + list(columns.values()), source=_SOURCE)
    if ids_list:
        _require_complete_ids(df, ids_list)
        duplicated = df.duplicated(subset=ids_list, keep=False).to_numpy()
        if duplicated.any():
            raise DataError(
                f"{_SOURCE}: {int(duplicated.sum())} rows share their ids ({', '.join(ids_list)})"
                f" with another row ({ROWS_COUNTED}): rows "
                + _rows(np.flatnonzero(duplicated))
                + ". Each row of wide data must be one administration: remove duplicates or"
                " add the id column that tells them apart (for example the session)."
            )
        ids = df.loc[:, ids_list].reset_index(drop=True)
    else:
        ids = pd.DataFrame({ROW_COLUMN: np.arange(1, len(df) + 1)})

    values = np.full((len(df), len(instrument.items)), np.nan)
    reasons = np.full(values.shape, "", dtype=object)
    for j, item in enumerate(instrument.items):
        values[:, j], reasons[:, j] = _parse(df[columns[item]], instrument)
    bad_rows, bad_items = np.nonzero(reasons != "")
    invalid = pd.DataFrame(
        {
            "row": bad_rows + 1,
            "column": [columns[instrument.items[j]] for j in bad_items],
            "item": [instrument.items[j] for j in bad_items],
            "value": [
                df[columns[instrument.items[j]]].iloc[i]
                for i, j in zip(bad_rows, bad_items, strict=True)
            ],
            "reason": reasons[bad_rows, bad_items].astype(str),
        }
    )
    n_missing = int(np.isnan(values).sum()) - len(invalid)
    return Responses(ids=ids, values=values, invalid_cells=invalid, n_missing_cells=n_missing)


def gather_long(
    df: pd.DataFrame,
    instrument: Instrument,
    *,
    id_columns: Sequence[str],
    columns: Mapping[str, str],
) -> Responses:
    """Responses from long data: id columns, an ``item`` column and a ``response`` column."""
    ids_list = list(id_columns)
    if not ids_list:
        raise SpecificationError(
            "long data need id columns that identify each administration (for example "
            "patient and session): pass id_columns (CLI: --id-cols)."
        )
    clash = sorted(set(ids_list) & {ITEM_COLUMN, RESPONSE_COLUMN})
    if clash:
        raise SpecificationError(f"{clash} are the item and response columns, not id columns.")
    require_columns(df, ids_list + [ITEM_COLUMN, RESPONSE_COLUMN], source=_SOURCE)
    _require_complete_ids(df, ids_list + [ITEM_COLUMN])

    item_of_label = {label: item for item, label in columns.items()}
    labels = df[ITEM_COLUMN].astype(str)
    known = labels.isin(list(item_of_label)).to_numpy()
    if not known.all():
        unknown = labels[~known].value_counts(sort=False)
        lines = []
        for label, count in unknown.items():
            near = close_matches(str(label), list(item_of_label))
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            lines.append(f"  {label!r}: {count} rows{hint}")
        raise DataError(
            f"{_SOURCE}: the {ITEM_COLUMN!r} column holds labels that are not items of "
            f"{instrument.name}:\n" + "\n".join(lines[:MAX_LISTED]) + "\n"
            f"Expected labels: {', '.join(columns.values())}. Remove rows of other "
            "questionnaires, or map labels to item ids with items (CLI: --prefix)."
        )
    keys = df.loc[:, ids_list].assign(**{ITEM_COLUMN: labels})
    duplicated = keys.duplicated(keep=False).to_numpy()
    if duplicated.any():
        raise DataError(
            f"{_SOURCE}: {int(duplicated.sum())} rows repeat an item of the same administration"
            f" ({ROWS_COUNTED}): rows " + _rows(np.flatnonzero(duplicated)) + ". Keep one "
            "response per item and administration."
        )

    # administrations in order of first appearance; ids are complete (checked above)
    ids = df.loc[:, ids_list].drop_duplicates().reset_index(drop=True)
    codes = df.groupby(ids_list, sort=False).ngroup().to_numpy()
    item_index = {item: j for j, item in enumerate(instrument.items)}
    item_positions = labels.map(lambda label: item_index[item_of_label[label]]).to_numpy()

    parsed, reasons = _parse(df[RESPONSE_COLUMN], instrument)
    values = np.full((len(ids), len(instrument.items)), np.nan)
    values[codes, item_positions] = parsed
    bad = np.flatnonzero(reasons != "")
    invalid = pd.DataFrame(
        {
            "row": bad + 1,
            "column": RESPONSE_COLUMN,
            "item": [instrument.items[j] for j in item_positions[bad]],
            "value": df[RESPONSE_COLUMN].iloc[bad].tolist(),
            "reason": reasons[bad].astype(str),
        }
    )
    n_missing = int(np.isnan(values).sum()) - len(invalid)
    return Responses(ids=ids, values=values, invalid_cells=invalid, n_missing_cells=n_missing)


def _parse(series: pd.Series, instrument: Instrument) -> tuple[np.ndarray, np.ndarray]:
    """Responses as floats (NaN where missing or invalid) and the reason each is invalid."""
    low, high = instrument.response_min, instrument.response_max
    present = series.notna().to_numpy()
    reasons = np.full(len(series), "", dtype=object)
    if pd.api.types.is_bool_dtype(series):
        reasons[present] = "not a number"
        return np.full(len(series), np.nan), reasons
    numbers = pd.to_numeric(series, errors="coerce").to_numpy(
        dtype=float, na_value=np.nan, copy=True
    )
    not_number = present & np.isnan(numbers)
    with np.errstate(invalid="ignore"):
        fraction = ~not_number & present & (numbers != np.floor(numbers))
        outside = ~not_number & present & ~fraction & ((numbers < low) | (numbers > high))
    reasons[not_number] = "not a number"
    reasons[fraction] = "not a whole number"
    reasons[outside] = f"outside {low}-{high}"
    numbers[not_number | fraction | outside] = np.nan
    return numbers, reasons


def _require_complete_ids(df: pd.DataFrame, id_columns: list[str]) -> None:
    for column in id_columns:
        empty = df[column].isna().to_numpy()
        if empty.any():
            raise DataError(
                f"{_SOURCE}: column {column!r} is empty in {int(empty.sum())} rows "
                f"({ROWS_COUNTED}): rows {_rows(np.flatnonzero(empty))}. Fill in the ids, or "
                "remove these rows if they are not administrations."
            )


def _rows(positions: np.ndarray) -> str:
    shown = ", ".join(str(int(p) + 1) for p in positions[:MAX_LISTED])
    rest = len(positions) - MAX_LISTED
    return shown + (f" and {rest} more" if rest > 0 else "")
