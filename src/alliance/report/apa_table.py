"""One report table: full-precision numbers, how each column is formatted, and its APA layout.

A column named ``"95% CI|LL"`` sits under a spanning heading ``95% CI`` (the text before the
bar); the ``group`` column, when set, becomes full-width sub-heading rows instead of a column,
as APA tables group rows (e.g. by rater).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from alliance import apa

SPAN_SEPARATOR = "|"
#: Spanning heading of confidence-interval columns (``f"{CI}|LL"``, ``f"{CI}|UL"``).
CI = "95% CI"


@dataclass(frozen=True)
class Cell:
    """A formatted cell: its text, whether it is set in bold, whether it is a number."""

    text: str
    bold: bool = False
    numeric: bool = False

    @property
    def css_class(self) -> str:
        """``num`` (right-aligned figures) and/or ``bold``."""
        return " ".join(name for name, on in (("num", self.numeric), ("bold", self.bold)) if on)


@dataclass(frozen=True)
class HeaderCell:
    """A heading cell and how many columns (``colspan``) and rows (``rowspan``) it spans."""

    text: str
    colspan: int = 1
    rowspan: int = 1
    numeric: bool = False


@dataclass(frozen=True)
class Row:
    """A body row, or a group sub-heading (``heading`` set, no cells)."""

    cells: tuple[Cell, ...] = ()
    heading: str = ""


@dataclass(frozen=True)
class Table:
    """A numbered APA table.

    Attributes
    ----------
    key
        Stable identifier (HTML id ``table-<key>``).
    title
        Title in title case, printed in italics under the table number.
    frame
        The values at full precision, one column per printed column (headings as column
        names); ``None`` when the table is unavailable.
    formats
        Column -> one of :data:`alliance.apa.FORMATS` (default ``text``).
    note
        The table note (``Note.`` is prepended when rendered).
    group
        Column whose values become sub-heading rows.
    bold
        Boolean mask of ``frame``'s shape: cells to set in bold (e.g. salient loadings).
    unavailable
        Why the table could not be given (shown instead of it).
    """

    key: str
    title: str
    frame: pd.DataFrame | None
    formats: Mapping[str, str] = field(default_factory=dict)
    note: str = ""
    group: str | None = None
    bold: pd.DataFrame | None = None
    unavailable: str = ""

    @property
    def available(self) -> bool:
        return self.frame is not None and not self.frame.empty

    def printed_columns(self) -> list[str]:
        """The columns printed as columns (all but ``group``)."""
        if self.frame is None:
            return []
        return [column for column in self.frame.columns if column != self.group]

    def _numeric(self, column: str) -> bool:
        return self.formats.get(column, "text") not in ("text", "yes_no")

    def header_rows(self) -> list[list[HeaderCell]]:
        """One heading row, or two when some columns sit under a spanning heading."""
        columns = self.printed_columns()
        spans = [column.split(SPAN_SEPARATOR, 1) for column in columns]
        if all(len(parts) == 1 for parts in spans):
            return [[HeaderCell(column, numeric=self._numeric(column)) for column in columns]]
        top: list[HeaderCell] = []
        bottom: list[HeaderCell] = []
        index = 0
        while index < len(columns):
            parts = spans[index]
            if len(parts) == 1:
                top.append(HeaderCell(parts[0], rowspan=2, numeric=self._numeric(columns[index])))
                index += 1
                continue
            width = 1
            while index + width < len(columns) and spans[index + width][0] == parts[0] and len(
                spans[index + width]
            ) == 2:
                width += 1
            top.append(HeaderCell(parts[0], colspan=width, numeric=True))
            bottom.extend(
                HeaderCell(spans[index + offset][1], numeric=self._numeric(columns[index + offset]))
                for offset in range(width)
            )
            index += width
        return [top, bottom]

    def body_rows(self) -> list[Row]:
        """Formatted body rows, with a sub-heading row wherever the ``group`` value changes."""
        if self.frame is None:
            return []
        columns = self.printed_columns()
        rows: list[Row] = []
        current: object = object()
        for position in range(len(self.frame)):
            record = self.frame.iloc[position]
            if self.group is not None and record[self.group] != current:
                current = record[self.group]
                rows.append(Row(heading=apa.text(current)))
            cells = tuple(
                Cell(
                    apa.format_value(record[column], self.formats.get(column, "text")),
                    bold=self._is_bold(position, column),
                    numeric=self._numeric(column),
                )
                for column in columns
            )
            rows.append(Row(cells=cells))
        return rows

    def _is_bold(self, position: int, column: str) -> bool:
        if self.bold is None or column not in self.bold.columns:
            return False
        return bool(self.bold[column].iloc[position])


def unavailable(key: str, title: str, reason: str) -> Table:
    """A table that cannot be given, with the reason shown in its place."""
    return Table(key=key, title=title, frame=None, unavailable=reason)
