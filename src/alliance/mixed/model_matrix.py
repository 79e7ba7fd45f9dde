"""Model matrices of formula parts, with a fast path for purely numeric terms.

Every formula part reaches this module written out term by term in R's order
(:func:`~alliance.mixed.terms.in_r_order`). When every variable of the part is a column (no
call such as ``C(g)``), its terms and variables are read by :mod:`alliance.mixed.terms`;
otherwise by formulaic. When every factor of every term is a plain numeric column, the columns
are built here as products of the data columns: materialising through formulaic costs
milliseconds per call, which dominates a fit of a few thousand sessions and every replicate of
a power simulation. Anything else (categorical variables, ``C()``) goes through formulaic's own
materializer.

formulaic is imported only where it is used: importing it takes a fifth of a second (it loads
scipy.sparse), more than a whole fit of purely numeric terms spends on its formula.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.extensions import ExtensionDtype

from alliance.mixed.terms import written_terms
from alliance.mixed.transforms import TransformedFormula, lme4_column_name


@lru_cache(maxsize=256)
def parsed(text: str) -> Any:
    """formulaic's parse of a formula side (cached: the same formula is fitted many times)."""
    # imported here, not with the module: only sides with calls need it (start-up time)
    from formulaic import Formula

    return Formula(text)


@lru_cache(maxsize=256)
def column_terms(text: str) -> tuple[tuple[str, ...], ...] | None:
    """The columns of each term of a side whose variables are all columns, read without formulaic.

    ``text`` is written out term by term (:func:`~alliance.mixed.terms.written_terms`); the
    intercept is the term without columns. None if a variable is a call (``C(g)``) or the
    text is not written term by term: formulaic reads those.
    """
    terms = written_terms(text)
    if terms is None:
        return None
    columns = []
    for term in terms:
        names = tuple(variable.column for variable in term if variable.column is not None)
        if len(names) < len(term):
            return None
        columns.append(names)
    return tuple(columns)


@lru_cache(maxsize=256)
def required_variables(text: str) -> frozenset[str]:
    """Names of the data columns a formula side reads.

    A column looked up by name is that name whole: formulaic's own ``required_variables``
    cuts ```IQ.verb``` to ``IQ`` (the root of a Python attribute), but R's names hold dots.
    Cached like :func:`parsed`; the result is a frozenset so that no caller can alter it.
    """
    columns = column_terms(text)
    if columns is not None:
        return frozenset(name for term in columns for name in term)
    # imported here, not with the module: only sides with calls need it (start-up time)
    from formulaic.transforms import TRANSFORMS

    names: set[str] = set()
    for term in parsed(text):
        for factor in term.factors:
            if str(factor.eval_method.value) == "lookup":
                names.add(str(factor.expr))
            else:
                names.update(str(variable.root) for variable in factor.required_variables
                             if variable.root not in TRANSFORMS)
    return frozenset(names)


@lru_cache(maxsize=256)
def plain_variables(text: str) -> frozenset[str]:
    """Names a formula side reads as they are, not inside a call (``x`` in ``x + C(g)``)."""
    columns = column_terms(text)
    if columns is not None:
        return frozenset(name for term in columns for name in term)
    return frozenset(
        str(factor.expr)
        for term in parsed(text)
        for factor in term.factors
        if str(factor.eval_method.value) == "lookup"
    )


@lru_cache(maxsize=256)
def numeric_terms(text: str) -> tuple[tuple[str, ...], ...] | None:
    """The variables of each term, or None if a term has a factor other than a variable.

    The intercept is the term without variables. Depends on the text only, so it is cached
    with the parse; the tuples cannot be altered by a caller.
    """
    columns = column_terms(text)
    return columns if columns is not None else formulaic_terms(text)


def formulaic_terms(text: str) -> tuple[tuple[str, ...], ...] | None:
    """formulaic's reading of :func:`numeric_terms`: the variables of each term, or None if a
    term has a factor other than a variable (what :func:`column_terms` reads without it)."""
    terms = []
    for term in parsed(text):
        names = []
        for factor in term.factors:
            method = str(factor.eval_method.value)
            if method == "literal" and str(factor.expr) == "1":
                continue
            if method != "lookup":
                return None
            names.append(str(factor.expr))
        terms.append(tuple(names))
    return tuple(terms)


def formulaic_refusal(error: BaseException) -> str | None:
    """formulaic's reason for refusing a formula side, without its terminal colours; None if
    ``error`` is not formulaic's.

    formulaic is imported only by the sides that need it: when it is not imported, no error
    is its own, and it is not imported to tell.
    """
    errors = sys.modules.get("formulaic.errors")
    if errors is None or not isinstance(error, errors.FormulaicError):
        return None
    # formulaic marks the place in the formula with terminal colours and brackets
    return re.sub(r"\x1b\[[0-9;]*m|[\u29da\u29db]", "", str(error))


def _plain_numbers(dtype: np.dtype | ExtensionDtype) -> bool:
    """NumPy integers or floats: the usual numeric column, checked without pandas' helpers."""
    return isinstance(dtype, np.dtype) and dtype.kind in "iuf"


def _is_numeric(dtype: np.dtype | ExtensionDtype) -> bool:
    """Numbers, but not booleans or categoricals (whatever their categories)."""
    return _plain_numbers(dtype) or (
        not isinstance(dtype, pd.CategoricalDtype)
        and pd.api.types.is_numeric_dtype(dtype)
        and not pd.api.types.is_bool_dtype(dtype)
    )


class DataColumns(Mapping[str, pd.Series]):
    """The columns of a data frame, each looked up and converted at most once.

    ``data[name]`` builds a new Series on every call, at a cost of tens of microseconds, and a
    model reads each of its columns several times (design, missing values, grouping). The
    frame itself is never modified.

    Parameters
    ----------
    frame : pandas.DataFrame
        The data.
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self._series: dict[str, pd.Series] = {}
        self._numeric: dict[str, np.ndarray | None] = {}
        self._missing: dict[str, np.ndarray] = {}

    def __getitem__(self, name: str) -> pd.Series:
        if name not in self._series:
            self._series[name] = self.frame[name]
        return self._series[name]

    def __contains__(self, name: object) -> bool:
        return name in self.frame.columns

    def __iter__(self) -> Iterator[str]:
        return iter(self.frame.columns)

    def __len__(self) -> int:
        return len(self.frame.columns)

    @property
    def n_rows(self) -> int:
        return len(self.frame)

    def numeric(self, name: str) -> np.ndarray | None:
        """Float values of a numeric column, NaN where missing.

        None for an absent column and for a categorical, boolean or non-numeric one.
        """
        if name not in self._numeric:
            self._numeric[name] = self._to_float(name)
        return self._numeric[name]

    def missing(self, name: str) -> np.ndarray:
        """Whether each value of a column is missing (as ``Series.isna``)."""
        if name not in self._missing:
            self._missing[name] = self._find_missing(name)
        return self._missing[name]

    def _find_missing(self, name: str) -> np.ndarray:
        values = self.numeric(name) if _plain_numbers(self[name].dtype) else None
        if values is None:
            # the array's own isna is what Series.isna calls, without building a Series
            return np.asarray(self[name].array.isna(), dtype=bool)
        # NumPy integers and floats: missing means NaN, and the float values are at hand
        return np.isnan(values)

    def _to_float(self, name: str) -> np.ndarray | None:
        if name not in self or not _is_numeric(self[name].dtype):
            return None
        return self[name].to_numpy(dtype=float, na_value=np.nan)


def _factor_values(formula: TransformedFormula, data: DataColumns, name: str) -> np.ndarray | None:
    """Float values of a placeholder or data column; None if it is not plain numbers."""
    if name not in formula.columns:
        return data.numeric(name)
    values = formula.columns[name]
    # a call giving other than one value per row is left to formulaic to report
    return values if values.shape == (data.n_rows,) else None


def _fast_design(
    formula: TransformedFormula, data: DataColumns
) -> tuple[np.ndarray, tuple[str, ...]] | None:
    terms = numeric_terms(formula.text)
    if terms is None:
        return None
    values: dict[str, np.ndarray] = {}
    for name in {name for term in terms for name in term}:
        found = _factor_values(formula, data, name)
        if found is None:
            return None
        values[name] = found
    labels = tuple(
        lme4_column_name(":".join(term) if term else "Intercept", formula.names) for term in terms
    )
    return product_columns(terms, values, data.n_rows), labels


def product_columns(
    terms: tuple[tuple[str, ...], ...], values: Mapping[str, np.ndarray], n_rows: int
) -> np.ndarray:
    """The columns of purely numeric terms (:func:`numeric_terms`): a new row-major array.

    The term without variables is the intercept (1); any other is the product of its variables'
    ``values``, multiplied in the order of the term's factors, so that the numbers do not
    depend on who builds the matrix (``build_spec`` or ``rebuild_spec``).
    """
    matrix = np.empty((n_rows, len(terms)))
    for index, term in enumerate(terms):
        column = matrix[:, index]
        column[:] = values[term[0]] if term else 1.0
        for name in term[1:]:
            np.multiply(column, values[name], out=column)
    return matrix


def build_model_matrix(
    formula: TransformedFormula,
    data: DataColumns,
    *,
    full_rank: bool = False,
) -> tuple[np.ndarray, tuple[str, ...], Any]:
    """Columns of a formula side, their lme4 names and formulaic's record of the design.

    The columns are a new row-major array; missing values stay NaN. The record (levels of
    categorical variables, contrasts) is None when the fast path built the columns: purely
    numeric terms need none to be rebuilt.

    Parameters
    ----------
    formula : TransformedFormula
        A formula side in formulaic syntax, its calls replaced by placeholder columns.
    data : DataColumns
        The data.
    full_rank : bool
        Drop the reference level of categorical variables (treatment contrasts, as R).
    """
    fast = _fast_design(formula, data)
    if fast is not None:
        return fast[0], fast[1], None
    # imported here, not with the module: only categorical terms and calls need it (start-up
    # time)
    from formulaic import model_matrix

    frame = data.frame.assign(**formula.columns) if formula.columns else data.frame
    matrix = model_matrix(formula.text, frame, na_action="ignore", ensure_full_rank=full_rank)
    labels = tuple(lme4_column_name(str(name), formula.names) for name in matrix.columns)
    # a new row-major array, as the fast path gives: the frame's values may be read-only and
    # column-major, and the caller keeps the matrix as it is when no row is dropped
    return np.array(matrix, dtype=float, order="C"), labels, matrix.model_spec
