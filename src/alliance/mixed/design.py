"""Design matrices of formula parts, with a fast path for purely numeric terms.

formulaic parses every formula part (term expansion and ordering as R). When every factor of
every term is a plain numeric column, the columns are built here as products of the data
columns: materialising through formulaic costs milliseconds per call, which dominates a fit of
a few thousand sessions and every replicate of a power simulation. Anything else (categorical
variables, ``C()``) goes through formulaic's own materializer.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from formulaic import Formula, model_matrix

from alliance.mixed.transforms import lme4_column_name


@lru_cache(maxsize=256)
def parsed(text: str) -> Any:
    """formulaic's parse of a formula side (cached: the same formula is fitted many times)."""
    return Formula(text)


def required_variables(text: str) -> set[str]:
    """Names of the data columns a formula side reads."""
    return {str(name) for name in parsed(text).required_variables}


def _numeric_column(data: pd.DataFrame, name: str) -> np.ndarray | None:
    if name not in data.columns:
        return None
    column = data[name]
    if isinstance(column.dtype, pd.CategoricalDtype) or not (
        pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype)
    ):
        return None
    return column.to_numpy(dtype=float, na_value=np.nan)


def _fast_design(
    text: str, data: pd.DataFrame, names: dict[str, str]
) -> tuple[np.ndarray, tuple[str, ...]] | None:
    columns: list[np.ndarray] = []
    labels: list[str] = []
    cache: dict[str, np.ndarray] = {}
    for term in parsed(text):
        product = np.ones(len(data))
        parts = []
        for factor in term.factors:
            method = str(factor.eval_method.value)
            if method == "literal" and str(factor.expr) == "1":
                continue
            if method != "lookup":
                return None
            name = str(factor.expr)
            if name not in cache:
                values = _numeric_column(data, name)
                if values is None:
                    return None
                cache[name] = values
            product = product * cache[name]
            parts.append(name)
        columns.append(product)
        labels.append(lme4_column_name(":".join(parts) if parts else "Intercept", names))
    if not columns:
        return np.empty((len(data), 0)), ()
    return np.column_stack(columns), tuple(labels)


def design_matrix(
    text: str,
    data: pd.DataFrame,
    names: dict[str, str],
    *,
    full_rank: bool = False,
) -> tuple[np.ndarray, tuple[str, ...], Any]:
    """Columns of a formula side, their lme4 names and formulaic's record of the design.

    Missing values stay NaN. The record (levels of categorical variables, contrasts) is None
    when the fast path built the columns: purely numeric terms need none to be rebuilt.

    Parameters
    ----------
    text : str
        A formula side in formulaic syntax (calls already replaced by placeholders).
    data : pandas.DataFrame
        The data, including placeholder columns.
    names : dict
        Placeholder -> the call as written, for naming.
    full_rank : bool
        Drop the reference level of categorical variables (treatment contrasts, as R).
    """
    fast = _fast_design(text, data, names)
    if fast is not None:
        return fast[0], fast[1], None
    matrix = model_matrix(text, data, na_action="ignore", ensure_full_rank=full_rank)
    labels = tuple(lme4_column_name(str(name), names) for name in matrix.columns)
    return np.asarray(matrix, dtype=float), labels, matrix.model_spec
