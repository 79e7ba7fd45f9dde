"""The correlation matrix an analysis starts from: computed from item responses or given.

:func:`correlation_input` is the one place where the input of :func:`alliance.scales.efa` and
:func:`alliance.scales.parallel_analysis` is checked: raw responses (a DataFrame with one
column per item) become a Pearson or polychoric correlation matrix under a missing-data rule;
a labelled correlation matrix (square DataFrame, same labels on both axes, unit diagonal) is
taken as it is, with the number of observations given separately. A singular matrix is an
error that names the items responsible.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from alliance.errors import DataError, SpecificationError
from alliance.scales.correlation import (
    check_pairs,
    check_positive_definite,
    correlation_from_frame,
    looks_like_correlation,
    pairwise_correlation,
)
from alliance.scales.items import ItemData, check_missing_rule, prepare_items, select_items
from alliance.scales.polychoric import polychoric_from_items

CORRELATIONS: tuple[str, ...] = ("pearson", "polychoric")


@dataclass(frozen=True)
class CorrelationInput:
    """A checked correlation matrix and where it came from.

    Attributes
    ----------
    items
        Item names (rows and columns of ``matrix``).
    matrix
        Read-only positive-definite correlation matrix.
    kind
        ``"pearson"``, ``"polychoric"`` or ``"given"`` (a correlation matrix was passed).
    n_obs
        Observations behind the matrix (rows analysed), or ``None`` if unknown.
    pair_counts
        Rows that answered both items of each pair (raw data only).
    item_data
        The prepared responses (raw data only).
    n_excluded
        Rows excluded by the missing-data rule (0 for a given matrix).
    smoothed
        Whether a non-positive-definite polychoric matrix was smoothed.
    """

    items: tuple[str, ...]
    matrix: np.ndarray
    kind: str
    n_obs: int | None
    pair_counts: np.ndarray | None
    item_data: ItemData | None
    n_excluded: int
    smoothed: bool


def correlation_input(
    data: pd.DataFrame,
    items: Sequence[str] | None = None,
    *,
    n_obs: int | None = None,
    missing: str = "pairwise",
    correlation: str = "pearson",
) -> CorrelationInput:
    """Check the input of a factor analysis and compute its correlation matrix.

    Parameters
    ----------
    data
        Item responses (one row per respondent) or a labelled correlation matrix.
    items
        Items to analyse; default every column.
    n_obs
        Observations behind a correlation matrix; not allowed with raw responses, whose
        number of rows is used.
    missing
        ``"pairwise"`` or ``"listwise"`` (raw responses only).
    correlation
        ``"pearson"`` or ``"polychoric"`` (raw responses only).

    Raises
    ------
    DataError
        Wrong items, non-numeric or constant items, uncomputable pairs, a malformed or
        singular correlation matrix.
    SpecificationError
        Unknown ``missing`` or ``correlation``, or ``n_obs`` that does not fit the input.
    """
    check_missing_rule(missing)
    if correlation not in CORRELATIONS:
        raise SpecificationError(
            f"correlation={correlation!r} is unknown; use 'pearson' or 'polychoric' (ordinal "
            "items)."
        )
    if isinstance(data, pd.DataFrame) and looks_like_correlation(data):
        return _given_matrix(data, items, n_obs, correlation)
    if n_obs is not None:
        raise SpecificationError(
            f"n_obs={n_obs} is only for a correlation matrix; with item responses the number of "
            "rows analysed is used. Drop n_obs."
        )
    prepared = prepare_items(data, items, missing=missing)
    if correlation == "polychoric":
        poly = polychoric_from_items(prepared)
        matrix, counts, smoothed = np.array(poly.matrix), np.array(poly.pair_counts), poly.smoothed
    else:
        matrix, counts = pairwise_correlation(prepared.values)
        check_pairs(matrix, counts, prepared.items)
        smoothed = False
    check_positive_definite(matrix, prepared.items)
    matrix.setflags(write=False)
    counts.setflags(write=False)
    return CorrelationInput(
        items=prepared.items,
        matrix=matrix,
        kind=correlation,
        n_obs=prepared.n_obs,
        pair_counts=counts,
        item_data=prepared,
        n_excluded=prepared.n_excluded,
        smoothed=smoothed,
    )


def _given_matrix(
    data: pd.DataFrame, items: Sequence[str] | None, n_obs: int | None, correlation: str
) -> CorrelationInput:
    if correlation != "pearson":
        raise SpecificationError(
            f"correlation={correlation!r} needs item responses, but a correlation matrix was "
            "given. Pass the raw responses, or drop the correlation option."
        )
    if n_obs is not None and (
        isinstance(n_obs, bool) or not isinstance(n_obs, int | np.integer) or n_obs < 2
    ):
        raise SpecificationError(f"n_obs must be a whole number of at least 2; got {n_obs!r}.")
    chosen = select_items(data, items)
    subset = data.loc[list(chosen), list(chosen)]
    matrix, names = correlation_from_frame(subset)
    if n_obs is not None and n_obs <= len(names):
        raise DataError(
            f"n_obs={n_obs} is not more than the {len(names)} items, so the correlation matrix "
            "cannot be positive definite. Give the number of respondents behind the matrix."
        )
    check_positive_definite(matrix, names)
    matrix.setflags(write=False)
    return CorrelationInput(
        items=names,
        matrix=matrix,
        kind="given",
        n_obs=None if n_obs is None else int(n_obs),
        pair_counts=None,
        item_data=None,
        n_excluded=0,
        smoothed=False,
    )
