"""report layer: APA tables, figures and a self-contained HTML report from ``results.json``.

The report is a pure function of the results dictionary (docs/results-schema.md):
``write_report(results, folder)`` writes ``report.html`` and ``figures/``;
``render_from_json(path, folder)`` re-renders a saved ``results.json``.
"""

from alliance.report.apa_table import Table
from alliance.report.figures import ReportFigure, build_figures
from alliance.report.html import render_html
from alliance.report.table_catalog import build_tables
from alliance.report.write import render_from_json, write_report

__all__ = [
    "ReportFigure",
    "Table",
    "build_figures",
    "build_tables",
    "render_from_json",
    "render_html",
    "write_report",
]
