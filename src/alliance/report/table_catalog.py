"""The report's tables, each built from the results dictionary alone (docs/results-schema.md).

Every builder returns a :class:`~alliance.report.apa_table.Table`; a section that is absent (a model
that failed, recovery for real data) gives an unavailable table with the reason, never an error.
Values stay at full precision; :mod:`alliance.apa` formats them when rendered.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from alliance.report.apa_table import Table, unavailable
from alliance.report.labels import humanize
from alliance.report.model_tables import (
    fixed_effects_table,
    icc_table,
    joint_table,
    model_comparison_table,
    models_table,
    recovery_table,
    time_coding_table,
    variance_table,
)
from alliance.report.results_reader import MALFORMED
from alliance.report.scale_tables import loadings_table, reliability_table, therapist_factor_table

#: The tables of the report, in order of appearance.
BUILDERS: tuple[Callable[[Mapping[str, Any]], Table], ...] = (
    loadings_table,
    reliability_table,
    therapist_factor_table,
    variance_table,
    icc_table,
    time_coding_table,
    model_comparison_table,
    fixed_effects_table,
    joint_table,
    recovery_table,
    models_table,
)

def build_tables(results: Mapping[str, Any]) -> list[Table]:
    """All tables in order; a malformed section gives an unavailable table naming the error."""
    tables = []
    for builder in BUILDERS:
        try:
            tables.append(builder(results))
        except MALFORMED as error:
            name = builder.__name__.removesuffix("_table")
            tables.append(
                unavailable(
                    name.replace("_", "-"),
                    humanize(name),
                    f"This table could not be built from the results ({type(error).__name__}: "
                    f"{error}); check that section against docs/results-schema.md.",
                )
            )
    return tables
