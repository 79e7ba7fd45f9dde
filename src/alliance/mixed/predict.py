"""Predictions of a fitted model for new data (lme4's ``predict.merMod``).

``X_new beta_hat + sum_l Z_l,new b_hat_l``: the new rows go through the same fixed-effect and
random-effect designs as the data of the fit (the same categorical levels and contrasts,
``I(age^2)``-type terms evaluated on the new values), and each row gets the conditional mode
(BLUP) of its group at every grouping level. A group not seen in the fit gets 0 at that level
(lme4's ``allow.new.levels = TRUE``): a new patient of a known therapist is predicted with the
therapist's effect only. ``include_random=False`` gives the population-level prediction
``X_new beta_hat`` (lme4's ``re.form = NA``). Checked against lme4's ``fitted()`` on the
parity fixtures (tests/mixed/test_predict.py).
"""

from __future__ import annotations

import difflib
import re
import warnings
from collections.abc import Set as AbstractSet
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from alliance.errors import DataError, SpecificationError
from alliance.mixed.model_matrix import DataColumns, build_model_matrix, required_variables
from alliance.mixed.spec import MatrixRecipe
from alliance.mixed.transforms import (
    TransformedFormula,
    call_variables,
    evaluate_call,
    lme4_column_name,
)

if TYPE_CHECKING:
    from alliance.mixed.result import MixedResult

_CATEGORICAL_CALL = re.compile(r"^C\(\s*([A-Za-z_][\w.]*)")


def _require(data: pd.DataFrame, names: AbstractSet[str], where: str) -> None:
    columns = [str(column) for column in data.columns]
    for name in sorted(names):
        if name not in data.columns:
            close = difflib.get_close_matches(name, columns, n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise DataError(
                f"column '{name}' ({where}) is not in the new data; it has columns "
                f"{columns}.{hint}"
            )


def _check_levels(recipe: MatrixRecipe, data: pd.DataFrame) -> None:
    """Every categorical value of the new data must be one the model was fitted with."""
    if recipe.model_spec is None:
        return
    for key, (kind, state) in recipe.model_spec.encoder_state.items():
        categories = state.get("categories") if isinstance(state, dict) else None
        if str(getattr(kind, "value", kind)) != "categorical" or categories is None:
            continue
        match = _CATEGORICAL_CALL.match(key)
        column = key if key in data.columns else match.group(1) if match else None
        if column is None or column not in data.columns:
            continue
        values = data[column]
        unseen = values.notna() & ~values.isin(list(categories))
        if unseen.any():
            shown = ", ".join(
                f"{value!r} (row {row})" for row, value in list(values[unseen].items())[:5]
            )
            raise DataError(
                f"column '{column}' of the new data has levels the model was not fitted with: "
                f"{shown}; the fitted levels are {list(categories)}. A fixed effect has no "
                "estimate for an unseen level: recode these rows or leave them out"
            )


def _materialise(
    recipe: MatrixRecipe, data: pd.DataFrame, calls: dict[str, np.ndarray]
) -> tuple[np.ndarray, tuple[str, ...]]:
    """The recipe's columns of the new rows (``calls``: the values of its placeholders) and
    their lme4 names: through formulaic's record of the fit's design if it has one (levels
    and contrasts of categorical variables), else built as in the fit."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if recipe.model_spec is None:
            values, names, _ = build_model_matrix(
                TransformedFormula(recipe.text, calls, recipe.calls), DataColumns(data),
                full_rank=recipe.full_rank,
            )
            return values, names
        matrix = recipe.model_spec.get_model_matrix(data.assign(**calls), na_action="ignore")
    names = tuple(lme4_column_name(str(name), recipe.calls) for name in matrix.columns)
    return np.asarray(matrix, dtype=float), names


def _model_matrix(recipe: MatrixRecipe, data: pd.DataFrame, where: str) -> tuple[np.ndarray, np.ndarray]:
    """The recipe matrix of the new rows and a mask of rows with a missing input."""
    called = {name for expression in recipe.calls.values() for name in call_variables(expression)}
    plain = required_variables(recipe.text) - set(recipe.calls)
    _require(data, plain | called, where)
    _check_levels(recipe, data)
    inputs = {name: data[name].to_numpy() for name in called}
    columns = {name: evaluate_call(expression, inputs) for name, expression in recipe.calls.items()}
    values, names = _materialise(recipe, data, columns)
    if names != recipe.names:
        raise DataError(
            f"the new data give the {where} columns {list(names)} where the model has "
            f"{list(recipe.names)}; check that {sorted(plain)} have the types they had in the "
            "data of the fit (numbers, not text)"
        )
    absent = data[sorted(plain | called)].isna().to_numpy().any(axis=1)
    return values, np.asarray(absent | np.isnan(values).any(axis=1), dtype=bool)


def _group_labels(data: pd.DataFrame, grouping: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Labels as the fit made them (``"T01:P001"`` for ``patient:therapist``) and missing rows."""
    missing = np.asarray(data[grouping].isna().to_numpy().any(axis=1), dtype=bool)
    texts = [[str(value) for value in data[name].to_numpy(dtype=object)] for name in grouping]
    labels = np.array([":".join(parts) for parts in zip(*texts, strict=True)], dtype=object)
    return labels, missing


def predict(
    result: MixedResult,
    newdata: pd.DataFrame,
    *,
    include_random: bool = True,
    allow_new_levels: bool = True,
) -> pd.Series:
    """Predict the response of the rows of ``newdata`` (see the module docstring).

    Parameters
    ----------
    result : MixedResult
        The fitted model.
    newdata : pandas.DataFrame
        The predictors and grouping columns of the model; the response is not needed.
    include_random : bool
        Add the conditional modes of the random effects (default) or predict at the
        population level.
    allow_new_levels : bool
        Groups not in the fit get random effects of 0 (default); when False they are an error.

    Returns
    -------
    pandas.Series
        One prediction per row, indexed as ``newdata``; NaN where a used column is missing.

    Raises
    ------
    DataError
        A used column is absent, a categorical column has a level the model was not fitted
        with (the column and values are named), or, with ``allow_new_levels=False``, a group
        is new.
    """
    if not isinstance(newdata, pd.DataFrame):
        raise DataError(f"newdata must be a pandas DataFrame, not {type(newdata).__name__}")
    spec = result.spec
    if spec.fixed_recipe is None:
        raise SpecificationError(
            "this model specification keeps no recipe to apply to new data; build it with "
            "build_spec (or fit) from a formula and a DataFrame"
        )
    x, missing = _model_matrix(spec.fixed_recipe, newdata, "fixed effects")
    prediction = x @ result.beta
    if include_random:
        for level, modes in zip(spec.levels, result.conditional.modes, strict=True):
            recipes = [recipe for group, recipe in spec.random_recipes if group == level.name]
            parts = [_model_matrix(recipe, newdata, f"random effects of {level.name}")
                     for recipe in recipes]
            z = np.column_stack([part[0] for part in parts])
            grouping = level.name.split(":")
            _require(newdata, set(grouping), "grouping factor")
            labels, no_group = _group_labels(newdata, grouping)
            position = {label: index for index, label in enumerate(level.labels)}
            index = np.array([position.get(label, -1) for label in labels], dtype=np.int64)
            new = (index < 0) & ~no_group
            if new.any() and not allow_new_levels:
                shown = ", ".join(sorted({str(label) for label in labels[new]})[:5])
                raise DataError(
                    f"{int(new.sum())} rows of the new data belong to groups of "
                    f"'{level.name}' that were not in the fit ({shown}); pass "
                    "allow_new_levels=True to predict them with random effects of 0"
                )
            effects = np.where((index >= 0)[:, None], modes[np.maximum(index, 0)], 0.0)
            prediction = prediction + np.einsum("nq,nq->n", z, effects)
            missing = missing | no_group
            for part in parts:
                missing = missing | part[1]
    return pd.Series(np.where(missing, np.nan, prediction), index=newdata.index,
                     name="prediction")
