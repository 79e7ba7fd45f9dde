"""Render the report as one self-contained HTML5 page (jinja2; templates are package data).

Self-contained: the stylesheet is inlined, figures are embedded as base64 PNG data URIs, and
the page has no script and no reference to any URL, so it opens offline and prints as is.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import jinja2
from markupsafe import Markup

from alliance.report.apa_table import Table
from alliance.report.figure_files import FigureFile
from alliance.report.labels import humanize, rater_label
from alliance.report.methods import (
    analysis_paragraph,
    data_paragraph,
    growth_equations,
    instrument_references,
    model_formulas,
    predictor_levels,
)
from alliance.report.notices import group_notices
from alliance.report.results_reader import factor_names, lookup

TEMPLATE = "report.html.j2"
DEFAULT_TITLE = "Therapist Factors and the Working Alliance"
STYLESHEET = "report.css"


@dataclass(frozen=True)
class NumberedTable:
    """A table with its APA number (0 when unavailable)."""

    number: int
    table: Table


@dataclass(frozen=True)
class NumberedFigure:
    """A figure with its APA number (0 when unavailable), file name and PNG data URI."""

    number: int
    figure: FigureFile
    data_uri: str


def data_uri(png: bytes) -> str:
    """``data:image/png;base64,...`` of PNG bytes."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _environment() -> jinja2.Environment:
    templates = resources.files("alliance.report") / "templates"
    return jinja2.Environment(
        loader=jinja2.FunctionLoader(lambda name: (templates / name).read_text(encoding="utf-8")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _numbered_tables(tables: Sequence[Table]) -> list[NumberedTable]:
    numbered, number = [], 0
    for table in tables:
        number += table.available
        numbered.append(NumberedTable(number if table.available else 0, table))
    return numbered


def _numbered_figures(figures: Sequence[FigureFile]) -> list[NumberedFigure]:
    numbered, number = [], 0
    for figure in figures:
        if figure.png:
            number += 1
            numbered.append(NumberedFigure(number, figure, data_uri(figure.png)))
        else:
            numbered.append(NumberedFigure(0, figure, ""))
    return numbered


def render_html(
    results: Mapping[str, Any],
    tables: Sequence[Table],
    figures: Sequence[FigureFile],
) -> str:
    """The report page for ``results``, its ``tables`` and its ``figures`` as written.

    Examples
    --------
    See :func:`alliance.report.write_report`, which builds the tables and writes the figures.
    """
    meta = lookup(results, "meta") or {}
    therapist_covariates, patient_covariates, unplaced = predictor_levels(results)
    notice_groups = group_notices(results)
    css = (resources.files("alliance.report") / "templates" / STYLESHEET).read_text("utf-8")
    context = {
        "css": Markup(css),
        "meta": meta,
        "title": str(lookup(meta, "config", "title") or DEFAULT_TITLE),
        "simulated": bool(meta.get("simulated")),
        "findings": [str(finding) for finding in results.get("findings") or []],
        "notice_groups": notice_groups,
        "n_notices": sum(len(group.notices) for group in notice_groups),
        "tables": _numbered_tables(tables),
        "figures": _numbered_figures(figures),
        "equations": growth_equations(factor_names(results), therapist_covariates,
                                      patient_covariates),
        "formulas": model_formulas(results),
        "covariates": [humanize(name) for name in unplaced],
        "placed_covariates": [humanize(name)
                              for name in (*therapist_covariates, *patient_covariates)],
        "references": instrument_references(results),
        "data_paragraph": data_paragraph(results),
        "analysis_paragraph": analysis_paragraph(results),
        "raters": ", ".join(rater_label(str(rater)).lower() for rater in meta.get("raters") or []),
        "packages": sorted((str(name), str(version or "not installed"))
                           for name, version in (meta.get("packages") or {}).items()),
    }
    return _environment().get_template(TEMPLATE).render(context)
