"""Stage 1 of a fit: formula + data -> validated arrays (the model specification).

All validation of user input happens here and nowhere later, as in lme4's ``lFormula``: unknown
columns, text in numeric columns and infinite values (:mod:`values`), transforms outside their
domain (:mod:`transforms`), missing values (rows dropped and counted), grouping factors that
are crossed rather than nested or whose variances the data cannot identify (:mod:`levels`),
rank-deficient fixed effects.

:func:`build_spec` builds a spec from a formula and a data frame; :func:`rebuild_spec` builds the
spec of the same model on new data from a spec built before (the replicates of a power
simulation), with the same checks of the data, without parsing the formula again. No code
outside :mod:`alliance.mixed` builds a :class:`MixedModelSpec` or fills its arrays.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy.linalg import lapack

from alliance.errors import DataError, SpecificationError, UnknownColumnError
from alliance.io.validation import close_matches
from alliance.mixed.formula import ParsedFormula, RandomTerm, parse_formula
from alliance.mixed.levels import (
    GroupingDraft,
    LevelSpec,
    TermBlock,
    check_identifiable,
    group_codes,
    nest_levels,
    unique_inverse,
)
from alliance.mixed.model_matrix import (
    DataColumns,
    build_model_matrix,
    formulaic_refusal,
    numeric_terms,
    plain_variables,
    product_columns,
    required_variables,
)
from alliance.mixed.terms import in_r_order
from alliance.mixed.transforms import TransformedFormula, replace_calls
from alliance.mixed.values import check_finite, predictor_values, response_values

if TYPE_CHECKING:
    from formulaic import ModelSpec as FormulaicModelSpec


@dataclass(frozen=True)
class MatrixRecipe:
    """What rebuilds a model matrix on new data (used by prediction).

    ``text`` is the formula side as materialised (calls replaced by placeholder columns, terms
    written out in R's order), ``calls`` maps each placeholder to the call as R prints it
    (``I(age^2)``), to be evaluated on the new data; ``full_rank`` asks for treatment contrasts; ``names`` are the columns' lme4
    names. ``model_spec`` is formulaic's record of the design (levels of categorical
    variables, contrasts) when formulaic built it; None for purely numeric terms, which need
    no record.
    """

    text: str
    calls: dict[str, str]
    full_rank: bool
    names: tuple[str, ...]
    model_spec: FormulaicModelSpec | None = None


@dataclass(frozen=True)
class MixedModelSpec:
    """Validated arrays of a nested linear mixed model.

    The model is ``y = X beta + sum_l Z_l b_l + e`` with ``b_l ~ N(0, sigma^2 Lambda_l Lambda_l')``
    per group of level ``l`` and ``e ~ N(0, sigma^2 delta_s^2)`` for rows of residual stratum ``s``
    (``delta_0 = 1``).
    """

    formula: ParsedFormula
    response: str
    y: np.ndarray
    x: np.ndarray
    fixed_names: tuple[str, ...]
    levels: tuple[LevelSpec, ...]
    strata: np.ndarray
    strata_labels: tuple[str, ...]
    strata_column: str | None
    row_index: np.ndarray
    n_dropped: int
    dropped_rows: tuple[object, ...] = field(repr=False)
    fixed_recipe: MatrixRecipe | None = field(default=None, repr=False, compare=False)
    random_recipes: tuple[tuple[str, MatrixRecipe], ...] = field(
        default=(), repr=False, compare=False
    )

    @property
    def n_obs(self) -> int:
        return int(self.y.shape[0])

    @property
    def n_fixed(self) -> int:
        return int(self.x.shape[1])

    @property
    def groups(self) -> dict[str, int]:
        return {level.name: level.n_groups for level in self.levels}


def _suggest(name: str, columns: Sequence[str]) -> str:
    close = close_matches(name, columns)
    return f" Did you mean '{close[0]}'?" if close else ""


def _check_columns(names: Set[str], data: pd.DataFrame, where: str) -> None:
    for name in sorted(names):
        if name not in data.columns:
            raise UnknownColumnError(
                f"column '{name}' used in the {where} is not in the data; the data have columns "
                f"{list(map(str, data.columns))}.{_suggest(name, list(map(str, data.columns)))}"
            )


def _variables(formula: TransformedFormula, *, plain: bool = False) -> set[str]:
    """The data columns a formula side reads; ``plain``: only those read as they are, not
    inside a call such as ``C(x)``. Placeholders of evaluated calls are left out."""
    names = set(plain_variables(formula.text))
    if not plain:
        names |= required_variables(formula.text)
    return names - set(formula.columns)


def _numeric_response(data: DataColumns, parsed: ParsedFormula, counter: list[int]) -> np.ndarray:
    transformed = replace_calls(parsed.response, data, counter)
    if transformed.columns:
        return next(iter(transformed.columns.values()))
    name = parsed.response.strip()
    _check_columns({name}, data.frame, "response")
    numeric = data.numeric(name)
    if numeric is not None:
        check_finite(numeric, data[name], name)
        return numeric
    return response_values(data[name], name)


def _numeric_predictors(data: DataColumns, names: Set[str]) -> DataColumns:
    """The data with every predictor that holds numbers as numbers.

    Checks each column read as it is (not inside a call such as ``C(x)``): numbers with text
    cells, numbers stored as text and infinite values are errors (:mod:`values`); a column
    of Python numbers (an object column) becomes a float column, not a categorical one.
    """
    converted = {}
    for name in sorted(names):
        numeric = data.numeric(name)
        if numeric is not None:
            check_finite(numeric, data[name], name)
            continue
        values = predictor_values(data[name], name)
        if values is not None:
            converted[name] = values
    return DataColumns(data.frame.assign(**converted)) if converted else data


def _sorted_text_codes(values: pd.api.extensions.ExtensionArray) -> tuple[np.ndarray, np.ndarray]:
    """Codes (sorted levels, -1 where missing) and levels of Arrow-backed text.

    Arrow encodes the text without making a Python string of each value; only the levels are
    sorted (by code point, as Python sorts strings) and converted.
    """
    text = pa.array(values)
    if isinstance(text, pa.ChunkedArray):
        # pandas keeps text in several chunks after a concat, for one
        text = text.combine_chunks()
    encoded = text.dictionary_encode()
    order = pc.array_sort_indices(encoded.dictionary).to_numpy()
    # the sorted position of each level, and -1 for the missing values, encoded as one past
    # the last level
    rank = np.concatenate((order.argsort(), [-1]))
    indices = encoded.indices
    if indices.null_count:
        indices = indices.fill_null(len(order))
    return rank.take(indices.to_numpy()), encoded.dictionary.to_numpy(zero_copy_only=False)[order]


def _integer_ids(dtype: np.dtype | pd.api.extensions.ExtensionDtype) -> bool:
    """NumPy integers that int64 holds exactly (no missing value is possible)."""
    return isinstance(dtype, np.dtype) and (
        dtype.kind == "i" or (dtype.kind == "u" and dtype.itemsize < 8)
    )


#: Integer ids below this are labelled from a table of their texts (:func:`_id_texts`).
TABULATED_IDS = 2**16


@lru_cache(maxsize=8)
def _id_texts(size: int) -> np.ndarray:
    """``str(i)`` for ``i`` in ``0 .. size-1``, as an object array (built once per size)."""
    return np.array([str(i) for i in range(size)], dtype=object)


def _id_labels(ids: np.ndarray) -> np.ndarray:
    """The labels of sorted integer ids, as Python prints them (``"12"``, ``"-3"``).

    Ids in ``0 .. TABULATED_IDS-1``, the usual case of numbered therapists and patients, are
    looked up in a table (a power of two in size, at least 1024) instead of converted one
    by one, which takes most of the time of coding a few hundred groups.
    """
    if len(ids) and 0 <= ids[0] and ids[-1] < TABULATED_IDS:
        return _id_texts(max(1024, 1 << int(ids[-1]).bit_length()))[ids]
    return np.array(list(map(str, ids.tolist())), dtype=object)


def _factor(column: pd.Series | np.ndarray, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Codes (sorted levels, -1 where missing) and level labels of one grouping column.

    ``n_rows``, the number of rows the model uses, chooses between the paths for small and
    large data, which label some values (dates, for one) differently. Integer ids, whatever
    the size, are coded by :func:`~alliance.mixed.levels.unique_inverse` and labelled as
    Python prints them, the labels both paths give, several times faster.
    """
    if _integer_ids(column.dtype) and len(column):
        keys = np.asarray(column).astype(np.int64, copy=False)
        low, high = int(keys.min()), int(keys.max())
        if high - low >= 16 * len(keys):
            distinct, codes = np.unique(keys, return_inverse=True)
            return codes, _id_labels(distinct)
        present = np.zeros(high - low + 1, dtype=bool)
        present[keys - low] = True
        if present.all():
            # every id from low to high occurs (numbered groups): the codes are the ids
            return keys - low, _id_labels(np.arange(low, high + 1))
        distinct, codes = unique_inverse(keys - low, high - low + 1)
        return codes, _id_labels(distinct + low)
    small = n_rows < 50_000
    uniques: np.ndarray | pd.Index
    if isinstance(column, pd.Series) and isinstance(column.array, pd.arrays.ArrowStringArray):
        codes, uniques = _sorted_text_codes(column.array)
    elif small:
        # on small columns numpy's object path beats the overhead of pandas' own
        codes, uniques = pd.factorize(np.asarray(column), sort=True)
    else:
        codes, uniques = pd.factorize(column, sort=True)
    codes = codes.astype(np.int64, copy=False)
    if small:
        return codes, np.asarray(uniques).astype(str).astype(object)
    return codes, np.asarray(pd.Index(uniques).astype(str), dtype=object)


def _grouping_factors(
    data: Mapping[str, pd.Series] | Mapping[str, np.ndarray],
    names: Set[str],
    keep: np.ndarray,
    n_kept: int,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Codes and labels of each grouping column over the rows in ``keep``.

    Each column is factorised whole, without copying the kept rows out of the frame; levels
    only present in dropped rows are then removed. As the levels are sorted, the codes are
    those of factorising the kept rows alone.
    """
    factors = {}
    for name in names:
        codes, labels = _factor(data[name], n_kept)
        if n_kept < len(keep):
            codes = codes[keep]
            present = np.zeros(len(labels), dtype=bool)
            present[codes] = True
            codes = (np.cumsum(present, dtype=np.int64) - 1)[codes]
            labels = labels[present]
        factors[name] = codes, labels
    return factors


def _random_design(
    data: DataColumns, transformed: TransformedFormula
) -> tuple[np.ndarray, tuple[str, ...], MatrixRecipe]:
    matrix, names, record = build_model_matrix(transformed, data)
    recipe = MatrixRecipe(transformed.text, transformed.names, False, names, record)
    return matrix, names, recipe


def _rows_with_nan(matrix: np.ndarray) -> np.ndarray:
    """Whether each row of ``matrix`` has a NaN."""
    nan = np.isnan(matrix)
    # the row-wise reduction is many times slower than the whole-array one, and most data
    # have no missing value at all
    return nan.any(axis=1) if nan.any() else np.zeros(len(matrix), dtype=bool)


def build_spec(
    formula: str,
    data: pd.DataFrame,
    *,
    residual_groups: str | None = None,
) -> MixedModelSpec:
    """Validate ``data`` against ``formula`` and build the model's arrays.

    Parameters
    ----------
    formula : str
        lme4 syntax, e.g. ``"wai ~ time * burdens + (time | therapist/patient)"``.
    data : pandas.DataFrame
        One row per observation.
    residual_groups : str, optional
        Column whose levels get their own residual variance (nlme's ``varIdent``).

    Raises
    ------
    DataError
        Unknown column (:class:`~alliance.errors.UnknownColumnError`, also a
        SpecificationError), text in a numeric column, infinite values, a transform outside
        its domain (``log(0)``), a column with no non-missing value; naming the rows.
    SpecificationError
        A formula mistake, no random or fixed effects, crossed grouping factors, a variance
        the data cannot identify (lme4's rules, :mod:`alliance.mixed.levels`),
        rank-deficient fixed effects.
    """
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"data must be a pandas DataFrame, not {type(data).__name__}")
    parsed = parse_formula(formula)
    if not parsed.random:
        raise SpecificationError(
            f"the formula '{formula}' has no random-effects term; add one such as (1 | therapist)"
        )
    try:
        return _build_spec(parsed, data, residual_groups)
    except Exception as error:
        # what the formula parser leaves to formulaic, and formulaic refuses
        reason = formulaic_refusal(error)
        if reason is None:
            raise
        raise SpecificationError(f"the formula '{formula}' cannot be used: {reason}") from error


def _build_spec(parsed: ParsedFormula, data: pd.DataFrame, residual_groups: str | None) -> MixedModelSpec:
    columns = DataColumns(data)
    counter = [0]
    fixed = in_r_order(replace_calls(parsed.fixed, columns, counter))
    fixed_vars = _variables(fixed)
    _check_columns(fixed_vars, data, "fixed part of the formula")
    group_vars = {name for term in parsed.random for name in term.grouping}
    _check_columns(group_vars, data, "random-effects grouping")
    if residual_groups is not None:
        _check_columns({residual_groups}, data, "residual variance strata")

    response = _numeric_response(columns, parsed, counter)
    # (time | therapist/patient) expands to two terms with the same columns: build once
    randoms: dict[str, TransformedFormula] = {}
    for term in parsed.random:
        if term.expression not in randoms:
            transformed = in_r_order(replace_calls(term.expression, columns, counter))
            _check_columns(_variables(transformed), data, f"random effects {term.source}")
            randoms[term.expression] = transformed
    columns = _numeric_predictors(columns, set().union(
        *(_variables(part, plain=True) for part in (fixed, *randoms.values()))
    ))
    x_all, fixed_names, fixed_record = build_model_matrix(fixed, columns, full_rank=True)
    by_expression = {
        expression: _random_design(columns, transformed)
        for expression, transformed in randoms.items()
    }
    random_parts = [by_expression[term.expression] for term in parsed.random]

    categorical_vars = group_vars | ({residual_groups} if residual_groups else set())
    for name in sorted(fixed_vars | categorical_vars):
        if columns.missing(name).all():
            raise DataError(f"column '{name}' has no non-missing value; check the data file")
    if np.isnan(response).all():
        raise DataError(f"the response '{parsed.response}' has no non-missing value")

    keep = _complete_rows(
        response,
        [x_all, *(z for z, _, _ in by_expression.values())],
        [columns.missing(name) for name in categorical_vars],
    )
    n_dropped = len(keep) - int(np.count_nonzero(keep))
    if n_dropped == len(keep):
        raise DataError(_NO_COMPLETE_ROW)
    dropped = tuple(data.index[~keep]) if n_dropped else ()
    y, x, levels = _used_rows(
        parsed, keep, response, x_all, fixed_names,
        [(z, names) for z, names, _ in random_parts], columns, group_vars,
    )

    if residual_groups is None:
        strata = np.zeros(len(y), dtype=np.int64)
        strata_labels: tuple[str, ...] = ("all",)
    else:
        column = columns[residual_groups]
        column = column if n_dropped == 0 else column[keep]
        if isinstance(column.dtype, pd.CategoricalDtype):
            # the first level (nlme's reference stratum) is the first category
            present = [c for c in column.cat.categories if (column == c).any()]
            codes = pd.Categorical(column, categories=present).codes
            strata_labels = tuple(str(value) for value in present)
        else:
            codes, uniques = pd.factorize(column.astype("string"), sort=True)
            strata_labels = tuple(str(value) for value in uniques)
        strata = np.asarray(codes, dtype=np.int64)
    return MixedModelSpec(
        formula=parsed,
        response=parsed.response,
        y=y,
        x=x,
        fixed_names=fixed_names,
        levels=levels,
        strata=strata,
        strata_labels=strata_labels,
        strata_column=residual_groups,
        row_index=np.asarray(data.index)[keep],
        n_dropped=n_dropped,
        dropped_rows=dropped,
        fixed_recipe=MatrixRecipe(fixed.text, fixed.names, True, fixed_names, fixed_record),
        random_recipes=tuple(
            (term.group_name, recipe)
            for term, (_, _, recipe) in zip(parsed.random, random_parts, strict=True)
        ),
    )


def rebuild_spec(template: MixedModelSpec, columns: Mapping[str, np.ndarray]) -> MixedModelSpec:
    """The spec of ``template``'s model on new data: equal to ``build_spec`` on those data.

    For many data sets of one model (the replicates of a power simulation or of a bootstrap)
    the formula is parsed and checked once, by :func:`build_spec` on a template data set;
    each new data set then only goes through what depends on the data. With
    ``v_1 .. v_m`` the template's variables, each column of ``X`` and of every ``Z_l`` is the
    intercept or the product ``v_a * v_b * ...`` of a term's variables, built by the function
    that builds them in :func:`build_spec` (its numeric fast path); the group codes of every
    level come from the new grouping columns; ``y`` is the new response. The data are
    checked as :func:`build_spec` checks them: numeric, finite values; rows with a missing
    value (NaN, or None in a grouping column) dropped and counted, as lme4's ``na.omit``;
    full-rank fixed effects; grouping factors nested and their variances identifiable
    (lme4's rules, :mod:`alliance.mixed.levels`). The result is array for array what
    ``build_spec(formula, pandas.DataFrame(columns))`` gives: rows are numbered from 0
    (``row_index``, ``dropped_rows``), groups coded and labelled as there (sorted values;
    ``"3:12"`` for an interaction).

    Parameters
    ----------
    template : MixedModelSpec
        A spec from :func:`build_spec` whose terms are all plain numeric columns and products
        of them (no call such as ``I(x^2)`` or ``log(x)``, no categorical variable, no
        residual strata, a response that is a column), the model matrices
        :func:`build_spec` builds without formulaic.
    columns : mapping of str to numpy.ndarray
        One value per row for the response, every variable of the formula (numbers) and every
        grouping column (integers, numbers or text, as in the template's data); other
        entries are ignored.

    Returns
    -------
    MixedModelSpec
        With the template's formula, names and recipes.

    Raises
    ------
    SpecificationError
        A template whose model matrices need formulaic, calls, residual strata or a response
        that is a call (use :func:`build_spec`); rank-deficient fixed effects, crossed
        grouping factors, a variance the new data cannot identify, or levels that are no
        longer ordered as the template's (as many patients as therapists, say).
    DataError
        A column missing (:class:`~alliance.errors.UnknownColumnError`), not numeric, of
        another length than the response, with infinite values or with no non-missing value;
        no complete row.
    """
    if template.strata_column is not None:
        raise SpecificationError(
            f"rebuild_spec takes a template without residual strata, not strata by "
            f"'{template.strata_column}': build each spec with build_spec instead"
        )
    if "(" in template.response:
        raise SpecificationError(
            f"rebuild_spec takes a template whose response is a column, not the call "
            f"'{template.response.strip()}': build each spec with build_spec instead"
        )
    texts = []
    for recipe in (template.fixed_recipe, *[recipe for _, recipe in template.random_recipes]):
        if recipe is None or recipe.calls or recipe.model_spec is not None:
            raise SpecificationError(_NOT_NUMERIC.format(template.formula.formula))
        texts.append(recipe.text)
    plan = _rebuild_plan(template.formula, template.response.strip(), tuple(texts))
    data: dict[str, np.ndarray] = {}
    for name in plan.columns:
        if name not in columns:
            raise UnknownColumnError(
                f"column '{name}' of the model is not in the new data; they have columns "
                f"{list(columns)}.{_suggest(name, list(columns))}"
            )
        data[name] = np.asarray(columns[name])
    n_rows = len(data[plan.response])
    for name, values in data.items():
        if values.shape != (n_rows,):
            raise DataError(
                f"column '{name}' has shape {values.shape} where the response "
                f"'{plan.response}' has {n_rows} values: give one value per row"
            )
    numbers = {name: _numbers(data[name], name) for name in plan.numbers}
    missing = [_missing_ids(data[name]) for name in plan.groups]
    y_all = numbers[plan.response]
    x_all = product_columns(plan.fixed_terms, numbers, n_rows)
    z_all = {text: product_columns(terms, numbers, n_rows)
             for text, terms in plan.random_terms.items()}
    matrices = [x_all, *z_all.values()]
    present = [mask for mask in missing if mask is not None]
    if present or not all(np.isfinite(array).all() for array in (y_all, *matrices)):
        for name in plan.numbers:
            if np.isinf(numbers[name]).any():
                check_finite(numbers[name], pd.Series(data[name]), name)
        keep = _complete_rows(y_all, matrices, present)
    else:
        # every variable enters a column of a matrix: all are finite, no row is incomplete
        keep = np.ones(n_rows, dtype=bool)
    if not keep.any():
        # as build_spec says it: which column has no value at all, if one has none
        for name, mask in zip(plan.groups, missing, strict=True):
            if mask is not None and mask.all():
                raise DataError(f"column '{name}' has no non-missing value")
        for name in (*plan.fixed_variables, plan.response):
            if np.isnan(numbers[name]).all():
                raise DataError(f"column '{name}' has no non-missing value")
        raise DataError(_NO_COMPLETE_ROW)
    y, x, levels = _used_rows(
        template.formula, keep, y_all, x_all, template.fixed_names,
        [(z_all[recipe.text], recipe.names) for _, recipe in template.random_recipes],
        data, set(plan.groups),
    )
    names = [level.name for level in levels]
    if names != [level.name for level in template.levels]:
        raise SpecificationError(
            f"the new data give the grouping levels {names} (innermost first, by their "
            f"numbers of groups {[level.n_groups for level in levels]}) where the template "
            f"has {[level.name for level in template.levels]}"
        )
    rows = np.arange(n_rows)
    complete = len(y) == n_rows
    return MixedModelSpec(
        formula=template.formula,
        response=template.response,
        y=y,
        x=x,
        fixed_names=template.fixed_names,
        levels=levels,
        strata=np.zeros(len(y), dtype=np.int64),
        strata_labels=("all",),
        strata_column=None,
        row_index=rows if complete else rows[keep],
        n_dropped=n_rows - len(y),
        dropped_rows=() if complete else tuple(rows[~keep].tolist()),
        fixed_recipe=template.fixed_recipe,
        random_recipes=template.random_recipes,
    )


_NOT_NUMERIC = (
    "rebuild_spec takes a template whose terms are numeric columns and their products; "
    "'{}' has calls or categorical terms (formulaic builds its matrices): build each spec "
    "with build_spec instead"
)

_NO_COMPLETE_ROW = "no row is complete for the variables of the model"


@dataclass(frozen=True)
class _RebuildPlan:
    """What :func:`rebuild_spec` reads of a template, worked out once per model.

    ``fixed_terms`` and ``random_terms`` (by recipe text) are the variables of each column
    (:func:`~alliance.mixed.model_matrix.numeric_terms`); ``numbers`` the numeric columns
    (response included), ``groups`` the grouping columns, ``columns`` all of them.
    """

    response: str
    fixed_terms: tuple[tuple[str, ...], ...]
    random_terms: dict[str, tuple[tuple[str, ...], ...]]
    fixed_variables: tuple[str, ...]
    numbers: tuple[str, ...]
    groups: tuple[str, ...]
    columns: tuple[str, ...]


@lru_cache(maxsize=64)
def _rebuild_plan(
    parsed: ParsedFormula, response: str, texts: tuple[str, ...]
) -> _RebuildPlan:
    """The plan of a model: its formula, response and recipe texts (fixed part first)."""
    terms = {}
    for text in texts:
        found = numeric_terms(text)
        if found is None:
            raise SpecificationError(_NOT_NUMERIC.format(parsed.formula))
        terms[text] = found
    fixed_terms = terms[texts[0]]
    numbers = {name for found in terms.values() for term in found for name in term}
    groups = {name for term in parsed.random for name in term.grouping}
    return _RebuildPlan(
        response=response,
        fixed_terms=fixed_terms,
        random_terms={text: terms[text] for text in texts[1:]},
        fixed_variables=tuple(sorted({name for term in fixed_terms for name in term})),
        numbers=tuple(sorted(numbers | {response})),
        groups=tuple(sorted(groups)),
        columns=tuple(sorted(numbers | groups | {response})),
    )


def _numbers(values: np.ndarray, name: str) -> np.ndarray:
    """Float values of a numeric column of new data (NaN where missing)."""
    if values.dtype.kind not in "iuf":
        raise DataError(
            f"column '{name}' holds {values.dtype} values, not numbers; the model reads it "
            "as numbers"
        )
    return values.astype(float, copy=False)


def _missing_ids(values: np.ndarray) -> np.ndarray | None:
    """Whether each value of a grouping column is missing (NaN, None, NaT); None for a
    column of integers or booleans, which cannot have a missing value."""
    if values.dtype.kind in "iub":
        return None
    if values.dtype.kind == "f":
        return np.isnan(values)
    return np.asarray(pd.isna(values), dtype=bool)


def _complete_rows(
    response: np.ndarray, matrices: Sequence[np.ndarray], missing: Sequence[np.ndarray]
) -> np.ndarray:
    """Rows with a response, no NaN in any model matrix and no ``missing`` mark (lme4's
    ``na.omit``)."""
    keep = ~np.isnan(response)
    for matrix in matrices:
        keep &= ~_rows_with_nan(matrix)
    for mask in missing:
        keep &= ~mask
    return keep


def _used_rows(
    parsed: ParsedFormula,
    keep: np.ndarray,
    response: np.ndarray,
    x_all: np.ndarray,
    fixed_names: tuple[str, ...],
    random_parts: list[tuple[np.ndarray, tuple[str, ...]]],
    groups: Mapping[str, pd.Series] | Mapping[str, np.ndarray],
    group_vars: Set[str],
) -> tuple[np.ndarray, np.ndarray, tuple[LevelSpec, ...]]:
    """Response, fixed-effects matrix and levels over the rows in ``keep``, checked.

    Refuses rank-deficient fixed effects, crossed grouping factors and variances the rows
    cannot identify (:func:`~alliance.mixed.levels.check_identifiable`).
    """
    n_kept = int(np.count_nonzero(keep))
    dropping = n_kept < len(keep)
    # the response may be a view of the data: always a copy. The design matrices are new
    # arrays, copied again only to drop rows.
    y = response[keep]
    x = x_all[keep] if dropping else x_all
    _check_rank(x, fixed_names)
    factors = _grouping_factors(groups, group_vars, keep, n_kept)
    levels = _build_levels(
        parsed, factors, [(z[keep] if dropping else z, names) for z, names in random_parts]
    )
    check_identifiable(levels, len(y))
    return y, x, levels


def _check_rank(x: np.ndarray, names: tuple[str, ...]) -> None:
    if not names:
        raise SpecificationError(
            "the formula has no fixed effects; keep at least the intercept, e.g. "
            "wai ~ 1 + (1 | therapist)"
        )
    if x.shape[0] <= x.shape[1]:
        raise SpecificationError(
            f"{x.shape[0]} complete rows cannot estimate {x.shape[1]} fixed effects"
        )
    cross = x.T @ x
    scale = np.sqrt(cross.diagonal())
    if not scale.all():
        zero = [names[i] for i in np.flatnonzero(scale == 0)]
        raise SpecificationError(f"fixed-effect column(s) {zero} are all zero in the used rows")
    # Pivoted QR of the scaled cross-product: p x p work, whatever the number of rows.
    diagonal, pivot = _pivoted_qr_diagonal(cross / np.outer(scale, scale))
    rank = int(np.count_nonzero(diagonal > diagonal[0] * 1e-10))
    if rank < x.shape[1]:
        aliased = [names[i] for i in pivot[rank:]]
        raise SpecificationError(
            f"the fixed effects are rank deficient: {aliased} are linear combinations of other "
            "columns; remove them from the formula (or centre / rescale the predictors)"
        )


def _pivoted_qr_diagonal(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Absolute diagonal of R and column order of the QR decomposition with column pivoting.

    LAPACK's ``dgeqp3`` called as ``scipy.linalg.qr(matrix, pivoting=True)`` calls it (a
    workspace query, here once per size, then the decomposition), so the result is the same;
    scipy's wrapper costs ten times the decomposition of the few columns of a fixed-effects
    design.
    """
    checked = np.asarray_chkfinite(matrix)
    factor, pivot, *_ = lapack.dgeqp3(checked, lwork=_qr_workspace(checked.shape[0]))
    return np.abs(factor.diagonal()), pivot - 1


@lru_cache(maxsize=64)
def _qr_workspace(size: int) -> int:
    """LAPACK's optimal workspace of ``dgeqp3`` for a ``size x size`` matrix (its workspace
    query, asked once per size)."""
    *_, work, _ = lapack.dgeqp3(np.eye(size), lwork=-1)
    return int(work[0].real)


def _build_levels(
    parsed: ParsedFormula,
    factors: dict[str, tuple[np.ndarray, np.ndarray]],
    random_parts: list[tuple[np.ndarray, tuple[str, ...]]],
) -> tuple[LevelSpec, ...]:
    by_group: dict[str, list[tuple[RandomTerm, np.ndarray, tuple[str, ...]]]] = {}
    for term, (z, names) in zip(parsed.random, random_parts, strict=True):
        by_group.setdefault(term.group_name, []).append((term, z, names))
    drafts = []
    for name, terms in by_group.items():
        grouping = terms[0][0].grouping
        codes, labels = group_codes(grouping, factors)
        blocks: list[TermBlock] = []
        columns = []
        for term, z, names in terms:
            if term.correlated:
                blocks.append(TermBlock(names, True))
            else:
                blocks.extend(TermBlock((single,), False) for single in names)
            columns.append(z)
        all_names = [n for block in blocks for n in block.names]
        if len(set(all_names)) != len(all_names):
            raise SpecificationError(
                f"the random effects for '{name}' repeat a term: {all_names}; list each once"
            )
        drafts.append(GroupingDraft(name, grouping, codes, labels, tuple(blocks),
                                    np.concatenate(columns, axis=1)))
    return nest_levels(drafts)
