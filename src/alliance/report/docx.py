"""The report's APA tables as a Word document (python-docx), where manuscripts are written.

The same :class:`~alliance.report.apa_table.Table` objects as the HTML report, with the same
numbers, in the layout of the APA Publication Manual (7th ed., section 7.8-7.21): the table
number in bold, the title below it in italic title case, horizontal rules only (above and
below the column headings, below a spanning heading, and below the last row; no vertical
rules), group sub-headings as full-width rows in italics, numbers right-aligned, statistical
symbols in the headings in italics, and the note below the table, introduced by *Note.* in
italics. A table that is unavailable is shown by its title and the reason, unnumbered, as in
the HTML report.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from docx import Document
from docx.document import Document as WordDocument
from docx.enum.table import WD_ALIGN_VERTICAL, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Inches, Pt
from docx.table import Table as WordTable
from docx.table import _Cell
from docx.text.paragraph import Paragraph

from alliance.report.apa_table import Table
from alliance.report.results_reader import lookup

FONT = "Times New Roman"
BODY_SIZE = Pt(12)
TABLE_SIZE = Pt(10)
#: Column headings set in italics: statistical symbols (APA 7th ed., section 6.44-6.46).
ITALIC_HEADINGS = frozenset({"b", "B", "SE", "t", "p", "M", "SD", "df", "r", "N", "n", "LL",
                             "UL", "F", "z", "\u03b1", "\u03c9", "h\u00b2"})
DEFAULT_TITLE = "Therapist Factors and the Working Alliance"
#: Children of a cell's properties that follow ``tcBorders`` in the OOXML schema.
TCPR_AFTER_BORDERS = ("w:shd", "w:noWrap", "w:tcMar", "w:textDirection", "w:tcFitText",
                      "w:vAlign", "w:hideMark", "w:headers", "w:cellIns", "w:cellDel",
                      "w:cellMerge", "w:tcPrChange")


#: The time stamp of every part of a saved document: the earliest a ZIP file can hold.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def save_document(document: WordDocument, path: Path | str) -> None:
    """Save ``document`` so that the same document gives the same bytes.

    python-docx stamps every part of the package (a ZIP file) with the time of saving; the
    parts are written again with :data:`ZIP_EPOCH`, in the same order and compression, as the
    report's figures are written without creation dates.
    """
    buffer = io.BytesIO()
    document.save(buffer)
    with zipfile.ZipFile(buffer) as saved, zipfile.ZipFile(path, "w") as target:
        for info in saved.infolist():
            part = zipfile.ZipInfo(info.filename, date_time=ZIP_EPOCH)
            part.compress_type = info.compress_type
            part.external_attr = info.external_attr
            target.writestr(part, saved.read(info.filename))


def tables_document(results: Mapping[str, Any], tables: Sequence[Table]) -> WordDocument:
    """A Word document of ``tables`` (numbered as in the HTML report) for ``results``.

    Parameters
    ----------
    results
        The results dictionary (docs/results-schema.md): its title, date and seed head the
        document.
    tables
        The report's tables (:func:`alliance.report.table_catalog.build_tables`), in order.
    """
    document = Document()
    _set_defaults(document)
    meta = lookup(results, "meta") or {}
    title = str(lookup(meta, "config", "title") or DEFAULT_TITLE)
    document.core_properties.title = title
    document.core_properties.author = "alliance"
    document.core_properties.comments = "Tables of an alliance analysis"
    heading = document.add_paragraph()
    heading.alignment = WD_ALIGN_PARAGRAPH.CENTER
    heading.add_run(f"Tables: {title}").bold = True
    origin = "simulated data" if meta.get("simulated") else "the data supplied"
    created = f", {meta['created']}" if meta.get("created") else ""
    seed = f", seed {meta['seed']}" if meta.get("seed") is not None else ""
    document.add_paragraph(
        f"The tables of an alliance analysis of {origin}{created}{seed}; the numbers are those "
        "of report.html and results.json."
    )
    number = 0
    for table in tables:
        if table.available:
            number += 1
            _add_table(document, table, number)
        else:
            _add_unavailable(document, table)
    return document


def _set_defaults(document: WordDocument) -> None:
    style = document.styles["Normal"]
    font = style.font
    font.name = FONT
    font.size = BODY_SIZE
    # East-Asian font name too, or Word falls back to its theme font for some characters
    style.element.rPr.rFonts.set(qn("w:eastAsia"), FONT)
    for section in document.sections:
        section.left_margin = section.right_margin = Inches(1)
        section.top_margin = section.bottom_margin = Inches(1)


def _add_table(document: WordDocument, table: Table, number: int) -> None:
    label = document.add_paragraph()
    label.paragraph_format.space_before = Pt(18)
    label.paragraph_format.keep_with_next = True
    label.add_run(f"Table {number}").bold = True
    title = document.add_paragraph()
    title.paragraph_format.keep_with_next = True
    title.add_run(table.title).italic = True
    headers = table.header_rows()
    body = table.body_rows()
    n_columns = len(table.printed_columns())
    word = document.add_table(rows=len(headers) + len(body), cols=n_columns)
    word.alignment = WD_TABLE_ALIGNMENT.CENTER
    word.autofit = True
    _fill_headers(word, headers)
    # python-docx builds the list of rows anew on every access of ``rows``: read it once
    rows = list(word.rows)
    for offset, row in enumerate(body):
        cells = rows[len(headers) + offset].cells
        if row.heading:
            merged = cells[0].merge(cells[-1]) if n_columns > 1 else cells[0]
            _write(merged, row.heading, italic=True)
            continue
        for cell, value in zip(cells, row.cells, strict=True):
            _write(cell, value.text, bold=value.bold, right=value.numeric)
    _rule_row(word, len(rows) - 1, "bottom")
    for row in rows[: len(headers)]:
        _repeat_header(row._tr)
    if table.note:
        note = document.add_paragraph()
        note.paragraph_format.space_before = Pt(6)
        note.add_run("Note.").italic = True
        note.add_run(f" {table.note}")


def _fill_headers(word: WordTable, headers: list[list[Any]]) -> None:
    """Heading rows with their spans; rules above, below, and under each spanning heading."""
    occupied: set[tuple[int, int]] = set()
    # the heading rows' cells before any merge (``word.cell`` scans the whole table on every
    # call); a merge only removes cells of positions already marked occupied
    grid = [row.cells for row in list(word.rows)[: len(headers)]]
    for row_index, header in enumerate(headers):
        column = 0
        for cell in header:
            while (row_index, column) in occupied:
                column += 1
            first = grid[row_index][column]
            last = grid[row_index + cell.rowspan - 1][column + cell.colspan - 1]
            target = first.merge(last) if (cell.rowspan, cell.colspan) != (1, 1) else first
            _write(target, cell.text, italic=cell.text in ITALIC_HEADINGS,
                   right=cell.numeric and cell.colspan == 1, centre=cell.colspan > 1)
            if cell.colspan > 1:
                _rule(target._tc, "bottom")
            for r in range(row_index, row_index + cell.rowspan):
                for c in range(column, column + cell.colspan):
                    occupied.add((r, c))
            column += cell.colspan
    _rule_row(word, 0, "top")
    _rule_row(word, len(headers) - 1, "bottom")


def _write(cell: _Cell, text: str, *, bold: bool = False, italic: bool = False,
           right: bool = False, centre: bool = False) -> None:
    cell.vertical_alignment = WD_ALIGN_VERTICAL.BOTTOM
    paragraph: Paragraph = cell.paragraphs[0]
    paragraph.paragraph_format.space_after = Pt(0)
    if right:
        paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    elif centre:
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = paragraph.add_run(text)
    run.bold = bold or None
    run.italic = italic or None
    run.font.size = TABLE_SIZE


def _rule_row(word: WordTable, index: int, side: str) -> None:
    """A rule on ``side`` of every cell element of row ``index``.

    The row's own cell elements, not ``row.cells``: Word draws the bottom rule of a vertically
    merged cell from its last element, which ``row.cells`` does not return.
    """
    for element in word.rows[index]._tr.tc_lst:
        _rule(element, side)


def _rule(element: Any, side: str) -> None:
    """A single horizontal rule on ``side`` (``top`` or ``bottom``) of a cell element.

    Child elements are kept in the order of the OOXML schema (``tcBorders`` before
    ``vAlign``; ``top`` before ``bottom``), which Word requires.
    """
    properties = element.get_or_add_tcPr()
    borders = properties.find(qn("w:tcBorders"))
    if borders is None:
        borders = OxmlElement("w:tcBorders")
        properties.insert_element_before(borders, *TCPR_AFTER_BORDERS)
    edge = borders.find(qn(f"w:{side}"))
    if edge is None:
        edge = OxmlElement(f"w:{side}")
        if side == "top":
            borders.insert(0, edge)
        else:
            borders.append(edge)
    for key, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "0"),
                       ("w:color", "000000")):
        edge.set(qn(key), value)


def _repeat_header(row: Any) -> None:
    """Repeat a heading row at the top of every page the table runs onto."""
    properties = row.get_or_add_trPr()
    repeat = OxmlElement("w:tblHeader")
    repeat.set(qn("w:val"), "true")
    properties.append(repeat)


def _add_unavailable(document: WordDocument, table: Table) -> None:
    title = document.add_paragraph()
    title.paragraph_format.space_before = Pt(18)
    title.add_run(table.title).italic = True
    document.add_paragraph(f"Not available: {table.unavailable}")
