"""Write the report of a results dictionary: ``report.html``, ``report.docx`` (the tables in
Word) and ``figures/*.png|svg``."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from alliance.errors import DataError
from alliance.report.docx import save_document, tables_document
from alliance.report.figure_files import FIGURE_FOLDER, FigureFile
from alliance.report.html import render_html
from alliance.report.table_catalog import build_tables

REPORT_FILE = "report.html"
DOCX_FILE = "report.docx"


#: Waits for figures drawn elsewhere and returns them, or None when they must be drawn here.
DrawnElsewhere = Callable[[], Sequence[FigureFile] | None]


def write_report(
    results: Mapping[str, Any], folder: Path, drawn_elsewhere: DrawnElsewhere | None = None
) -> None:
    """Render ``results`` (docs/results-schema.md) into ``folder``.

    Writes ``folder/report.html`` (self-contained: inline CSS, figures as data URIs), the APA
    tables as ``folder/report.docx`` (:func:`alliance.report.docx.tables_document`) and every
    figure as ``folder/figures/<name>.png`` and ``.svg``. The report is a function of
    ``results`` alone; sections that are absent are shown as unavailable with the reason.

    Parameters
    ----------
    results
        The study's results, as ``StudyResults.to_dict()`` or a loaded ``results.json``.
    folder
        An existing folder (the caller creates it, and renames it when complete).
    drawn_elsewhere
        Called once the tables are written: waits for the figures of ``results`` being drawn
        into ``folder/figures`` elsewhere (:meth:`alliance.report.figure_worker.FigureWorker.
        result`) and returns them, or None, and they are drawn here. Without it they are
        drawn here.

    Raises
    ------
    DataError
        ``results`` is not a dictionary, or ``folder`` does not exist.
    """
    if not isinstance(results, Mapping):
        raise DataError(
            f"results must be a dictionary (StudyResults.to_dict() or a loaded results.json), "
            f"not {type(results).__name__}."
        )
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(
            f"report folder {folder} does not exist; create it before writing the report."
        )
    tables = build_tables(results)
    save_document(tables_document(results, tables), folder / DOCX_FILE)
    figures = drawn_elsewhere() if drawn_elsewhere is not None else None
    if figures is None:
        from alliance.report.figures import write_figures  # matplotlib, only when drawing

        figures = write_figures(results, folder / FIGURE_FOLDER)
    (folder / REPORT_FILE).write_text(render_html(results, tables, figures), encoding="utf-8")


def render_from_json(path: Path | str, folder: Path | str) -> None:
    """Re-render a saved ``results.json`` into ``folder`` (created if missing).

    Raises
    ------
    DataError
        The file cannot be read, is not JSON, or does not hold a JSON object.
    """
    path, folder = Path(path), Path(folder)
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise DataError(f"cannot read results file {path}: {error.strerror or error}.") from error
    except json.JSONDecodeError as error:
        raise DataError(
            f"results file {path} is not valid JSON (line {error.lineno}, column {error.colno}: "
            f"{error.msg}); give the results.json written by `alliance replicate` or "
            "`alliance analyze`."
        ) from error
    if not isinstance(results, dict):
        raise DataError(
            f"results file {path} holds a JSON {type(results).__name__}, not an object; give the "
            "results.json written by `alliance replicate` or `alliance analyze`."
        )
    folder.mkdir(parents=True, exist_ok=True)
    write_report(results, folder)
