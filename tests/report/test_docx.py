"""report.docx: the report's tables in Word, numbered as in the HTML, in APA layout."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import docx
import pytest
from docx.oxml.ns import qn

from alliance.report import build_tables
from alliance.report.apa_table import Table
from alliance.report.docx import tables_document


@pytest.fixture(scope="module")
def document(rendered: Path) -> Any:
    """report.docx of the example results, as python-docx reads it back."""
    return docx.Document(str(rendered / "report.docx"))


def available(results: dict[str, Any]) -> list[Table]:
    return [table for table in build_tables(results) if table.available]


def paragraphs(document: Any) -> list[str]:
    return [paragraph.text for paragraph in document.paragraphs]


def borders(row: Any) -> list[set[str]]:
    """The sides with a rule, of each cell element of a table row."""
    sides = []
    for cell in row._tr.tc_lst:
        found = cell.find(f"{qn('w:tcPr')}/{qn('w:tcBorders')}")
        sides.append(set() if found is None else {child.tag.split("}")[1] for child in found})
    return sides


def test_every_available_table_is_there_numbered_with_its_title_and_note(
    document: Any, example_results: dict[str, Any]
) -> None:
    tables = available(example_results)
    assert len(document.tables) == len(tables) == 11
    text = paragraphs(document)
    for number, table in enumerate(tables, start=1):
        position = text.index(f"Table {number}")
        assert text[position + 1] == table.title
        title = document.paragraphs[position + 1]
        assert all(run.italic for run in title.runs)
        assert document.paragraphs[position].runs[0].bold
        if table.note:
            assert f"Note. {table.note}" in text
            note = next(p for p in document.paragraphs if p.text == f"Note. {table.note}")
            assert note.runs[0].text == "Note." and note.runs[0].italic


def test_cells_hold_the_html_tables_text(document: Any, example_results: dict[str, Any]) -> None:
    for word, table in zip(document.tables, available(example_results), strict=True):
        headers = table.header_rows()
        body = table.body_rows()
        assert len(word.rows) == len(headers) + len(body)
        # the last heading row names every printed column (spanning headings above it)
        heading = [cell.text for cell in word.rows[len(headers) - 1].cells]
        assert heading == [column.split("|")[-1] for column in table.printed_columns()]
        for row, values in zip(word.rows[len(headers):], body, strict=True):
            cells = [cell.text for cell in row.cells]
            if values.heading:
                assert set(cells) == {values.heading}  # one merged full-width cell
            else:
                assert cells == [cell.text for cell in values.cells]


def test_horizontal_rules_only(document: Any, example_results: dict[str, Any]) -> None:
    for word, table in zip(document.tables, available(example_results), strict=True):
        n_headers = len(table.header_rows())
        rows = word.rows
        assert all("top" in sides for sides in borders(rows[0]))
        assert all("bottom" in sides for sides in borders(rows[n_headers - 1]))
        assert all("bottom" in sides for sides in borders(rows[-1]))
        for row in rows[n_headers:-1]:
            assert all(not sides for sides in borders(row))
        for row in rows:
            assert all(sides <= {"top", "bottom"} for sides in borders(row))
        # no table-wide borders (which would draw vertical rules)
        assert word._tbl.tblPr.find(qn("w:tblBorders")) is None


def test_spanning_headings_and_statistical_symbols(document: Any,
                                                  example_results: dict[str, Any]) -> None:
    keys = [table.key for table in available(example_results)]
    reliability = document.tables[keys.index("reliability")]
    top, bottom = reliability.rows[0], reliability.rows[1]
    spanner = next(cell for cell in top._tr.tc_lst if cell.grid_span == 2)
    assert "95% CI" in "".join(spanner.itertext())
    assert "bottom" in borders(top)[list(top._tr.tc_lst).index(spanner)]
    runs = {run.text: run for cell in bottom.cells for run in cell.paragraphs[0].runs}
    assert runs["LL"].italic and runs["UL"].italic
    fixed = document.tables[keys.index("fixed-effects")]
    runs = {run.text: run for cell in fixed.rows[0].cells for run in cell.paragraphs[0].runs}
    assert runs["SE"].italic and runs["p"].italic and not runs["Term"].italic


def test_unavailable_tables_are_named_with_the_reason(results: dict[str, Any]) -> None:
    del results["recovery"]
    tables = build_tables(results)
    missing = next(table for table in tables if table.key == "recovery")
    assert not missing.available
    document = tables_document(results, tables)
    text = paragraphs(document)
    assert f"Not available: {missing.unavailable}" in text
    assert len(document.tables) == 10 and "Table 11" not in text


def test_the_model_comparison_table_is_in_the_document(
    document: Any, example_results: dict[str, Any]
) -> None:
    tables = available(example_results)
    number = next(index for index, table in enumerate(tables, start=1)
                  if table.key == "model-comparison")
    text = paragraphs(document)
    position = text.index(f"Table {number}")
    assert text[position + 1] == "Likelihood-Ratio Comparison of the Growth Models"
    word = document.tables[number - 1]
    headings = [cell.text for cell in word.rows[0].cells]
    assert "\u03c7\u00b2" in headings and "AIC" in headings
    assert any("50:50 mixture" in paragraph for paragraph in text)


def test_the_same_results_give_the_same_file(example_results: dict[str, Any],
                                             tmp_path: Path) -> None:
    """No time of saving in the package: two saves a second apart are byte-identical, and
    Word's reader still opens the file."""
    import time

    from alliance.report.docx import save_document

    tables = build_tables(example_results)
    first, second = tmp_path / "first.docx", tmp_path / "second.docx"
    save_document(tables_document(example_results, tables), first)
    time.sleep(2.1)  # ZIP time stamps have a resolution of two seconds
    save_document(tables_document(example_results, tables), second)
    assert first.read_bytes() == second.read_bytes()
    reopened = docx.Document(str(second))
    assert reopened.core_properties.author == "alliance"
    assert len(reopened.tables) == sum(table.available for table in tables)
