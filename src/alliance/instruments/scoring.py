"""Score item responses: reverse keys, prorated subscales and totals, a report of what was missing.

The chain is: gather and validate responses (``responses``) -> key (reverse-keyed items
become ``min + max - x``) -> combine each subscale and the total with the instrument's
method and missing-item rule -> assemble a :class:`ScoreResult`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from alliance.errors import DataError, SpecificationError
from alliance.instruments.catalog import load_instrument
from alliance.instruments.instrument import Instrument
from alliance.instruments.responses import Responses, gather_long, gather_wide, item_columns
from alliance.io.validation import MAX_LISTED, ROWS_COUNTED

Layout = Literal["wide", "long"]
InvalidPolicy = Literal["error", "missing"]


@dataclass(frozen=True)
class ScoreResult:
    """Scores of one instrument, one row per administration, with what was missing.

    Attributes
    ----------
    instrument
        The definition used.
    scores
        Id columns (or ``row``, the 1-based input row, for wide data without ids); then for
        each subscale and the total, ``{prefix}{name}`` and ``{prefix}{name}_n_missing``;
        then ``{prefix}n_missing``, the missing items of the administration. Scores are
        at full precision, NaN where too many items are missing.
    items
        The same id columns and the keyed responses under the instrument's item ids
        (reverse-keyed items reversed; empty and invalid responses NaN): the input to
        factor analysis or reliability.
    invalid_cells
        Responses that were not whole numbers in range and were treated as missing
        (``invalid="missing"``): ``row`` (1-based input data row), ``column``, ``item``,
        ``value`` as given and ``reason``. Empty when there were none.
    incomplete
        One row per score set missing because too many of its items were missing: the
        administration's ids, ``score``, ``n_missing``, ``n_items`` and ``max_missing``.
    n_missing_cells
        Responses that were empty (or absent from long data), not counting invalid ones.
    """

    instrument: Instrument
    scores: pd.DataFrame
    items: pd.DataFrame
    invalid_cells: pd.DataFrame
    incomplete: pd.DataFrame
    n_missing_cells: int

    @property
    def n_administrations(self) -> int:
        """Number of administrations (rows of :attr:`scores`)."""
        return len(self.scores)

    @property
    def n_invalid_cells(self) -> int:
        """Number of invalid responses treated as missing."""
        return len(self.invalid_cells)

    def to_frame(self) -> pd.DataFrame:
        """The scores as a new DataFrame."""
        return self.scores.copy()

    def to_dict(self) -> dict[str, Any]:
        """Everything in plain Python types (NaN stays NaN; JSON writers turn it into null)."""
        return {
            "instrument": self.instrument.name,
            "n_administrations": self.n_administrations,
            "n_missing_cells": self.n_missing_cells,
            "n_invalid_cells": self.n_invalid_cells,
            "invalid_cells": _records(self.invalid_cells),
            "incomplete": _records(self.incomplete),
            "scores": _records(self.scores),
        }


def score(
    df: pd.DataFrame,
    instrument: Instrument | str,
    *,
    id_columns: Sequence[str] | None = None,
    items: Mapping[str, str] | None = None,
    prefix: str | None = None,
    layout: Layout = "wide",
    invalid: InvalidPolicy = "error",
) -> ScoreResult:
    """Score questionnaire responses: one row per administration out.

    Each reverse-keyed item is scored ``min + max - x``. A subscale score is the mean of
    its answered (keyed) items, or for ``method = "sum"`` that mean times the number of
    items, so that a subscale with missing items is prorated; it is missing when more
    than ``subscale_max_missing`` of its items are missing. The total does the same over
    all items with ``total_max_missing``. Without missing items, the mean and the sum are
    the plain mean and sum of the keyed items. Checked by hand-computed cases for every
    shipped instrument (tests/instruments/test_definitions.py).

    Parameters
    ----------
    df
        Wide data (one row per administration, one column per item) or long data (id
        columns plus ``item`` and ``response`` columns, one row per answered item).
    instrument
        An :class:`Instrument`, or the name or path of a definition to load.
    id_columns
        Columns that identify an administration (for example patient and session); they
        are carried into the results. Required for long data; for wide data without them
        administrations are identified by their 1-based row.
    items
        Item id -> column name (wide) or item label (long), for items not named as the
        instrument names them.
    prefix
        Name prefix of this administration's columns: items not in ``items`` are read
        from ``prefix + item id`` (wide) or labelled so (long), and score columns are
        named ``prefix + score name``. Use it for files holding several raters' items,
        such as ``pt_wai1`` and ``th_wai1``.
    layout
        ``"wide"`` or ``"long"``.
    invalid
        ``"error"``: a response that is not a whole number in the instrument's range
        raises :class:`DataError` listing the cells. ``"missing"``: such responses are
        treated as missing and reported in :attr:`ScoreResult.invalid_cells`.

    Raises
    ------
    SpecificationError
        For an unknown layout or policy, a template whose key is not complete, or items,
        id and score columns that clash.
    DataError
        For missing columns, missing or duplicated ids, unknown item labels (long), and
        invalid responses under ``invalid="error"``.
    """
    if layout not in ("wide", "long"):
        raise SpecificationError(f"layout must be 'wide' or 'long', not {layout!r}.")
    if invalid not in ("error", "missing"):
        raise SpecificationError(f"invalid must be 'error' or 'missing', not {invalid!r}.")
    definition = load_instrument(instrument) if isinstance(instrument, str) else instrument
    definition.require_scorable()
    ids = list(id_columns or [])
    columns = item_columns(definition, items, prefix)
    gather = gather_wide if layout == "wide" else gather_long
    responses = gather(df, definition, id_columns=ids, columns=columns)
    if invalid == "error" and len(responses.invalid_cells):
        raise DataError(_invalid_message(definition, responses.invalid_cells))

    keyed = _key(responses.values, definition)
    names = _score_columns(definition, prefix or "", responses.ids)
    table, incomplete = _combine(keyed, definition, names, responses)
    item_frame = pd.concat(
        [responses.ids, pd.DataFrame(keyed, columns=list(definition.items))], axis=1
    )
    return ScoreResult(
        instrument=definition,
        scores=table,
        items=item_frame,
        invalid_cells=responses.invalid_cells,
        incomplete=incomplete,
        n_missing_cells=responses.n_missing_cells,
    )


def _key(values: np.ndarray, instrument: Instrument) -> np.ndarray:
    keyed = values.copy()
    reverse = [instrument.items.index(item) for item in instrument.reverse_keyed]
    keyed[:, reverse] = instrument.response_min + instrument.response_max - keyed[:, reverse]
    return keyed


def _score_columns(instrument: Instrument, prefix: str, ids: pd.DataFrame) -> dict[str, str]:
    names = {name: f"{prefix}{name}" for name in instrument.score_names()}
    names.update({f"{name}_n_missing": f"{prefix}{name}_n_missing" for name in list(names)})
    names["n_missing"] = f"{prefix}n_missing"
    clash = sorted(set(names.values()) & {str(c) for c in ids.columns})
    if clash:
        raise SpecificationError(
            f"id columns {clash} have the names of score columns; rename them or pass a prefix."
        )
    return names


def _combine(
    keyed: np.ndarray, instrument: Instrument, names: dict[str, str], responses: Responses
) -> tuple[pd.DataFrame, pd.DataFrame]:
    missing = np.isnan(keyed)
    parts: list[tuple[str, list[int], int]] = [
        (sub.name, [instrument.items.index(i) for i in sub.items], instrument.subscale_max_missing)
        for sub in instrument.subscales
    ]
    if instrument.total:
        parts.append(("total", list(range(len(instrument.items))), instrument.total_max_missing))
    columns: dict[str, Any] = {}
    incomplete: list[pd.DataFrame] = []
    for name, positions, max_missing in parts:
        n_items = len(positions)
        n_missing = missing[:, positions].sum(axis=1)
        answered = n_items - n_missing
        sums = np.nansum(keyed[:, positions], axis=1)
        ok = (n_missing <= max_missing) & (answered > 0)
        value = np.full(len(keyed), np.nan)
        value[ok] = sums[ok] / answered[ok]
        if instrument.method == "sum":
            # a complete sum is the plain sum; an incomplete one is prorated to all items
            value[ok] = np.where(n_missing[ok] == 0, sums[ok], value[ok] * n_items)
        columns[names[name]] = value
        columns[names[f"{name}_n_missing"]] = n_missing
        dropped = ~ok
        if dropped.any():
            incomplete.append(
                responses.ids.loc[dropped].assign(
                    score=name,
                    n_missing=n_missing[dropped],
                    n_items=n_items,
                    max_missing=max_missing,
                )
            )
    columns[names["n_missing"]] = missing.sum(axis=1)
    table = pd.concat([responses.ids, pd.DataFrame(columns)], axis=1)
    report_columns = [
        *map(str, responses.ids.columns),
        "score",
        "n_missing",
        "n_items",
        "max_missing",
    ]
    report = (
        pd.concat(incomplete, ignore_index=True)
        if incomplete
        else pd.DataFrame(columns=report_columns)
    )
    return table, report


def _invalid_message(instrument: Instrument, cells: pd.DataFrame) -> str:
    low, high = instrument.response_min, instrument.response_max
    lines = [
        f"  row {row}, column {column!r}: {_show(value)} ({reason})"
        for row, column, value, reason in cells[["row", "column", "value", "reason"]]
        .head(MAX_LISTED)
        .itertuples(index=False)
    ]
    rest = len(cells) - MAX_LISTED
    if rest > 0:
        lines.append(f"  ... and {rest} more")
    count = "1 response is" if len(cells) == 1 else f"{len(cells)} responses are"
    return (
        f"{count} not valid for {instrument.name}, whose responses are whole numbers from "
        f"{low} to {high} ({ROWS_COUNTED}):\n"
        + "\n".join(lines)
        + "\nCorrect these cells or leave them empty; or score with invalid='missing' "
        "(CLI: --invalid missing) to treat them as missing and have them reported."
    )


def _show(value: object) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {
            str(key): (value.item() if isinstance(value, np.generic) else value)
            for key, value in row.items()
        }
        for row in frame.to_dict(orient="records")
    ]
