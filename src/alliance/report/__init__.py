"""report layer: APA tables, figures and a self-contained HTML report from ``results.json``.

The report is a pure function of the results dictionary (docs/results-schema.md):
``write_report(results, folder)`` writes ``report.html`` and ``figures/``;
``render_from_json(path, folder)`` re-renders a saved ``results.json``.

The names below are loaded from their modules when first used, not with the package: a study
run starts its figure worker (:mod:`alliance.report.figure_worker`) before its first step,
without loading matplotlib, the templates or the Word writer until the report is written.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from alliance.report.apa_table import Table
    from alliance.report.figures import ReportFigure, build_figures
    from alliance.report.html import render_html
    from alliance.report.table_catalog import build_tables
    from alliance.report.write import render_from_json, write_report

#: Each public name and the module that defines it.
_HOMES = {
    "ReportFigure": "alliance.report.figures",
    "Table": "alliance.report.apa_table",
    "build_figures": "alliance.report.figures",
    "build_tables": "alliance.report.table_catalog",
    "render_from_json": "alliance.report.write",
    "render_html": "alliance.report.html",
    "write_report": "alliance.report.write",
}

__all__ = [
    "ReportFigure",
    "Table",
    "build_figures",
    "build_tables",
    "render_from_json",
    "render_html",
    "write_report",
]


def __getattr__(name: str) -> Any:
    """A public name, imported from its module on first use."""
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_HOMES[name]), name)
