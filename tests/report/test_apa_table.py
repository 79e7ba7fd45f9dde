"""Layout of an APA table: spanning headings, group sub-headings, bold cells."""

from __future__ import annotations

import pandas as pd

from alliance.report.apa_table import Table


def make_table() -> Table:
    frame = pd.DataFrame(
        {
            "Rater": ["Patient-rated", "Patient-rated", "Therapist-rated"],
            "Term": ["Intercept", "Time", "Intercept"],
            "b": [3.67, 0.083, -3.43],
            "95% CI|LL": [3.58, 0.054, -3.5],
            "95% CI|UL": [3.76, 0.111, -3.3],
            "p": [1e-9, 0.0321, 0.5],
        }
    )
    bold = pd.DataFrame(False, index=frame.index, columns=frame.columns)
    bold.loc[1, "b"] = True
    formats = {"b": "number3", "95% CI|LL": "number", "95% CI|UL": "number", "p": "p"}
    return Table("demo", "Demo", frame, formats, group="Rater", bold=bold)


def test_spanning_heading_over_ci_columns() -> None:
    top, bottom = make_table().header_rows()
    assert [(cell.text, cell.colspan, cell.rowspan) for cell in top] == [
        ("Term", 1, 2), ("b", 1, 2), ("95% CI", 2, 1), ("p", 1, 2)
    ]
    assert [cell.text for cell in bottom] == ["LL", "UL"]


def test_group_rows_and_formatted_cells() -> None:
    rows = make_table().body_rows()
    assert [row.heading for row in rows] == ["Patient-rated", "", "", "Therapist-rated", ""]
    assert [cell.text for cell in rows[1].cells] == ["Intercept", "3.670", "3.58", "3.76", "< .001"]
    assert rows[4].cells[1].text == "\u22123.430"
    assert rows[2].cells[1].bold and rows[2].cells[1].css_class == "num bold"
    assert not rows[1].cells[1].bold
    assert rows[1].cells[0].css_class == ""


def test_single_header_row_without_spans() -> None:
    table = Table("plain", "Plain", pd.DataFrame({"Item": ["a"], "Loading": [0.5]}),
                  {"Loading": "bounded"})
    (header,) = table.header_rows()
    assert [cell.text for cell in header] == ["Item", "Loading"]
    assert table.body_rows()[0].cells[1].text == ".50"
    assert table.available


def test_unavailable_table_has_no_rows() -> None:
    table = Table("gone", "Gone", None, unavailable="not fitted")
    assert not table.available
    assert table.body_rows() == []
