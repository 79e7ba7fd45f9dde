"""Function calls inside model formulas (``I(age^2)``, ``np.log(session)``).

formulaic evaluates Python expressions, but lme4 formulas use R syntax (``^`` is a power) and
lme4 names a column by the expression as written (``I(age^2)``). Each call is therefore
evaluated here, once, into a placeholder column; the caller renames the placeholder back to the
expression's own text. ``C(...)`` (categorical) is left to formulaic.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from alliance.errors import DataError, SpecificationError

_CALL_START = re.compile(r"(?<![\w.])([A-Za-z_][\w.]*)\s*\(")
_IDENTIFIER = re.compile(r"(?<![\w.])([A-Za-z_]\w*)(?![\w(])")
_PLACEHOLDER = "_alliance_transform_{}"

_NAMESPACE: dict[str, object] = {
    "np": np,
    "numpy": np,
    "log": np.log,
    "log2": np.log2,
    "log10": np.log10,
    "log1p": np.log1p,
    "exp": np.exp,
    "sqrt": np.sqrt,
    "abs": np.abs,
    "I": lambda value: value,
}
_NOT_VARIABLES = frozenset({"np", "numpy", "True", "False", "None", "pi"})


@dataclass(frozen=True)
class TransformedFormula:
    """A formula side with every function call replaced by a placeholder column.

    Attributes
    ----------
    text : str
        The formula side that formulaic can read.
    columns : dict of str to numpy.ndarray
        Placeholder name -> evaluated values (one per data row).
    names : dict of str to str
        Placeholder name -> the call as written (whitespace removed), e.g. ``I(age^2)``.
    """

    text: str
    columns: dict[str, np.ndarray]
    names: dict[str, str]


def _matching_paren(text: str, open_index: int) -> int:
    depth = 0
    for index in range(open_index, len(text)):
        if text[index] == "(":
            depth += 1
        elif text[index] == ")":
            depth -= 1
            if depth == 0:
                return index
    raise SpecificationError(f"unbalanced parentheses in '{text}'")


def call_variables(expression: str) -> set[str]:
    """Data columns that a call expression such as ``np.log(session + 1)`` reads."""
    names = set()
    for match in _IDENTIFIER.finditer(expression):
        name = match.group(1)
        if name not in _NOT_VARIABLES and name not in _NAMESPACE:
            names.add(name)
    return names


def evaluate_call(expression: str, data: pd.DataFrame | Mapping[str, Any]) -> np.ndarray:
    """Evaluate one call such as ``I(age^2)`` on the data columns, R's ``^`` read as a power."""
    python_text = expression.replace("^", "**")
    variables = call_variables(expression)
    missing = sorted(name for name in variables if name not in data)
    if missing:
        raise DataError(
            f"the formula term '{expression}' uses column(s) {missing} that are not in the data"
        )
    namespace = dict(_NAMESPACE)
    for name in variables:
        namespace[name] = pd.to_numeric(pd.Series(data[name]), errors="coerce").to_numpy(float)
    try:
        with np.errstate(all="ignore"):
            value = eval(python_text, {"__builtins__": {}}, namespace)  # noqa: S307
    except Exception as error:
        raise SpecificationError(
            f"cannot evaluate the formula term '{expression}': {error}"
        ) from error
    values = np.asarray(value, dtype=float)
    if values.ndim == 0:
        raise SpecificationError(
            f"the formula term '{expression}' gives a single number, not one value per row"
        )
    return values


def replace_calls(
    text: str, data: pd.DataFrame | Mapping[str, Any], counter: list[int]
) -> TransformedFormula:
    """Replace each top-level function call (other than ``C(...)``) in ``text`` by a placeholder.

    ``counter`` is a one-element list shared by the calls of one model so that placeholder
    names never collide between the fixed and the random parts.
    """
    pieces: list[str] = []
    columns: dict[str, np.ndarray] = {}
    names: dict[str, str] = {}
    position = 0
    while True:
        match = _CALL_START.search(text, position)
        if match is None:
            pieces.append(text[position:])
            break
        close = _matching_paren(text, match.end() - 1)
        function = match.group(1)
        if function == "C":
            pieces.append(text[position : close + 1])
            position = close + 1
            continue
        expression = re.sub(r"\s+", "", text[match.start() : close + 1])
        placeholder = _PLACEHOLDER.format(counter[0])
        counter[0] += 1
        columns[placeholder] = evaluate_call(expression, data)
        names[placeholder] = expression
        pieces.append(text[position : match.start()] + placeholder)
        position = close + 1
    return TransformedFormula("".join(pieces), columns, names)


def lme4_column_name(name: str, placeholders: Mapping[str, str]) -> str:
    """Rename a formulaic column to lme4's name.

    ``Intercept`` -> ``(Intercept)``; ``Sex[T.Female]`` and ``C(Sex)[T.Female]`` -> ``SexFemale``
    and ``C(Sex)Female``; placeholders -> the call as written; interactions part by part.
    """
    if name == "Intercept":
        return "(Intercept)"
    parts = []
    for part in name.split(":"):
        part = placeholders.get(part, part)
        if "[" in part:
            part = re.sub(r"\[T\.(.*)\]$", r"\1", part)
            part = re.sub(r"\[(.*)\]$", r"\1", part)
        parts.append(part)
    return ":".join(parts)
