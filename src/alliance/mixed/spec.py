"""Stage 1 of a fit: formula + data -> validated arrays (the model specification).

All validation of user input happens here and nowhere later, as in lme4's ``lFormula``: unknown
columns, text in numeric columns and infinite values (:mod:`values`), transforms outside their
domain (:mod:`transforms`), missing values (rows dropped and counted), grouping factors that
are crossed rather than nested or whose variances the data cannot identify (:mod:`levels`),
rank-deficient fixed effects.
"""

from __future__ import annotations

import re
from collections.abc import Sequence, Set
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from formulaic import ModelSpec as FormulaicModelSpec
from formulaic.errors import FormulaicError
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
)
from alliance.mixed.model_matrix import (
    DataColumns,
    build_model_matrix,
    plain_variables,
    required_variables,
)
from alliance.mixed.terms import in_r_order
from alliance.mixed.transforms import TransformedFormula, replace_calls
from alliance.mixed.values import check_finite, predictor_values, response_values


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


def _factor(column: pd.Series, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Codes (sorted levels, -1 where missing) and level labels of one grouping column.

    ``n_rows``, the number of rows the model uses, chooses between the paths for small and
    large data, which label some values (dates, for one) differently.
    """
    small = n_rows < 50_000
    uniques: np.ndarray | pd.Index
    if isinstance(column.array, pd.arrays.ArrowStringArray):
        codes, uniques = _sorted_text_codes(column.array)
    elif small:
        # on small columns numpy's object path beats the overhead of pandas' own
        codes, uniques = pd.factorize(column.to_numpy(), sort=True)
    else:
        codes, uniques = pd.factorize(column, sort=True)
    codes = codes.astype(np.int64, copy=False)
    if small:
        return codes, np.asarray(uniques).astype(str).astype(object)
    return codes, np.asarray(pd.Index(uniques).astype(str), dtype=object)


def _grouping_factors(
    data: DataColumns, names: Set[str], keep: np.ndarray, n_kept: int
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
    except FormulaicError as error:
        # what the formula parser leaves to formulaic, and formulaic refuses; its message
        # marks the place with terminal colours
        reason = re.sub(r"\x1b\[[0-9;]*m|[\u29da\u29db]", "", str(error))
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

    keep = ~np.isnan(response) & ~_rows_with_nan(x_all)
    for z, _, _ in by_expression.values():
        keep &= ~_rows_with_nan(z)
    for name in categorical_vars:
        keep &= ~columns.missing(name)
    n_kept = int(np.count_nonzero(keep))
    n_dropped = len(keep) - n_kept
    dropped = tuple(data.index[~keep]) if n_dropped else ()
    if n_kept == 0:
        raise DataError("no row is complete for the variables of the model")

    # the response may be a view of the data: always a copy. The design matrices are new
    # arrays, copied again only to drop rows.
    y = response[keep]
    x = x_all[keep] if n_dropped else x_all
    _check_rank(x, fixed_names)
    factors = _grouping_factors(columns, group_vars, keep, n_kept)
    levels = _build_levels(
        parsed, factors, [(z[keep] if n_dropped else z, names) for z, names, _ in random_parts]
    )
    check_identifiable(levels, len(y))

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
    workspace query, then the decomposition), so the result is the same; scipy's wrapper costs
    ten times the decomposition of the few columns of a fixed-effects design.
    """
    checked = np.asarray_chkfinite(matrix)
    *_, work, _ = lapack.dgeqp3(checked, lwork=-1)
    factor, pivot, *_ = lapack.dgeqp3(checked, lwork=int(work[0].real))
    return np.abs(factor.diagonal()), pivot - 1


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
