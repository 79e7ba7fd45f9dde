"""Helpers shared by the tests that compare with R's reference values (tests/reference/).

Imported by name (``tests`` is on pytest's ``pythonpath``): reading a reference case's data with
R's factor levels, fitting without the engine's warnings, and re-assembling a result at lme4's
optimum, so that a comparison with R's numbers at R's own theta is exact.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from alliance.mixed import MixedResult, fit
from alliance.mixed.fit import assemble

REFERENCE = Path(__file__).resolve().parent / "reference"


def load(case: dict) -> pd.DataFrame:
    """The case's data (``case["data"]`` relative to tests/reference) with R's factor levels."""
    data = pd.read_csv(REFERENCE / case["data"])
    for column, levels in case["factor_levels"].items():
        data[column] = pd.Categorical(data[column].astype(str), categories=levels)
    return data


def quiet_fit(formula: str, data: pd.DataFrame, **kwargs: object) -> MixedResult:
    """:func:`alliance.mixed.fit` with its warnings silenced (boundary fits of the corpus)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit(formula, data, **kwargs)  # type: ignore[arg-type]


def at_lme4_optimum(result: MixedResult, theta: dict[str, float],
                    silenced: type[Warning] = Warning) -> MixedResult:
    """``result`` re-assembled at lme4's theta (lme4 names an entry ``group.row.col``)."""
    values = []
    for level in result.objective.layout.levels:
        names = level.column_names
        for row, col in zip(level.rows, level.cols, strict=True):
            values.append(theta[f"{level.name}.{names[col]}" if row == col
                                else f"{level.name}.{names[row]}.{names[col]}"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", silenced)
        return assemble(result.spec, result.objective, np.array(values), result.fit_info,
                        result.df_method, result.confidence, 0.0)
