"""Function calls inside model formulas (``I(age^2)``, ``np.log(session)``).

formulaic evaluates Python expressions, but lme4 formulas use R syntax (``^`` is a power) and
lme4 names a column by the expression as R prints it (``I(age^2)``, ``log(session + 1)``,
:mod:`alliance.mixed.deparse`). Each call is therefore evaluated here, once, into a
placeholder column; the caller renames the placeholder back to the expression as R prints
it. ``C(...)`` (categorical) is left to formulaic.

A call is checked before it runs: arithmetic, comparisons, numbers, columns and the functions
of ``_NAMESPACE`` (and numpy's, as ``np.name``) only; anything else (attributes such as
``x.__class__``, indexing, strings, unknown functions) is a SpecificationError. Its values
must be finite wherever the columns it reads are: ``log(0)`` is an error naming the rows, not
a missing value.

Column names follow R, where a dot is part of a name: in ``log(IQ.verb)`` the name
``IQ.verb`` is the column, read as such before Python sees the expression, never an
attribute ``verb`` of ``IQ``. A dotted name is a column name unless it starts at numpy
(``np.pi``) or one of its parts starts with an underscore (``time.__class__``, refused as an
attribute).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from alliance.errors import SpecificationError, UnknownColumnError
from alliance.io.validation import close_matches
from alliance.mixed.deparse import r_deparse
from alliance.mixed.values import call_values, check_domain

_CALL_START = re.compile(r"(?<![\w.])([A-Za-z_][\w.]*)\s*\(")
# a name as R reads it (letters, digits, '.' and '_', not starting with a digit or '.digit'),
# not a function called
_NAME = re.compile(r"(?<![\w.])((?:[A-Za-z_]|\.(?!\d))[\w.]*)(?![\w.]|\s*\()")
_ALIAS = "_alliance_column_{}"
_R_SYNTACTIC = re.compile(r"(?:[A-Za-z]|\.(?![0-9]))[A-Za-z0-9._]*|\.")
_R_RESERVED = frozenset({
    "if", "else", "repeat", "while", "function", "for", "next", "break", "TRUE", "FALSE",
    "NULL", "Inf", "NaN", "NA", "NA_integer_", "NA_real_", "NA_character_", "in",
})
_PLACEHOLDER = "_alliance_transform_{}"
# names or numbers separated by spaces only (x if y, a and b): not arithmetic
_SPACED_WORDS = re.compile(r"[\w.]\s+[\w.]")

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
_FUNCTIONS = tuple(name for name in _NAMESPACE if name not in ("np", "numpy"))
_ALLOWED_NODES = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Compare, ast.Call, ast.Name,
                  ast.Load, ast.Constant, ast.Attribute, ast.keyword, ast.operator, ast.unaryop,
                  ast.cmpop)


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
        Placeholder name -> the call as R deparses it (:func:`~alliance.mixed.deparse.r_deparse`),
        lme4's name of its column, e.g. ``I(age^2)``, ``log(session + 1)``.
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


def _column_name(name: str) -> bool:
    """Whether a name in a call is a column (``session``, ``IQ.verb``) rather than numpy's
    (``np.pi``), a known function, a constant or an attribute (``time.__class__``)."""
    root, *parts = name.split(".")
    if root in _NOT_VARIABLES or (not parts and name in _NAMESPACE):
        return False
    return not any(part.startswith("_") for part in parts)


def _quoted(expression: str) -> list[bool]:
    """Whether each character of ``expression`` is inside quotes."""
    inside: list[bool] = []
    quote = ""
    for char in expression:
        if quote:
            inside.append(True)
            quote = "" if char == quote else quote
        else:
            quote = char if char in "'\"" else ""
            inside.append(bool(quote))
    return inside


def _names(expression: str) -> list[re.Match[str]]:
    """The names outside quotes in ``expression`` that are columns (:func:`_column_name`)."""
    quoted = _quoted(expression)
    return [match for match in _NAME.finditer(expression)
            if not quoted[match.start()] and _column_name(match.group(1))]


def call_variables(expression: str) -> set[str]:
    """Data columns that a call expression such as ``np.log(session + 1)`` reads.

    R's names: ``log(IQ.verb)`` reads the column ``IQ.verb``.
    """
    return {match.group(1) for match in _names(expression)}


def _python_text(expression: str) -> tuple[str, dict[str, str]]:
    """``expression`` as Python: R's ``^`` as ``**``, each dotted column name as an alias.

    Returns the text and the column of each alias.
    """
    aliases: dict[str, str] = {}
    pieces = []
    position = 0
    for match in _names(expression):
        name = match.group(1)
        if "." not in name:
            continue
        alias = next((key for key, value in aliases.items() if value == name),
                     _ALIAS.format(len(aliases)))
        aliases[alias] = name
        pieces += [expression[position : match.start()], alias]
        position = match.end()
    pieces.append(expression[position:])
    return "".join(pieces).replace("^", "**"), aliases


def _refusal(expression: str, problem: str) -> SpecificationError:
    return SpecificationError(
        f"cannot use the formula term '{expression}': {problem}. A term can do arithmetic "
        f"(+ - * / ^), comparisons, and call {', '.join(_FUNCTIONS)} and numpy's functions as "
        "np.<name> (np.log); compute anything else as a column of the data first"
    )


def _numpy_name(node: ast.Attribute) -> bool:
    """``np.log``, ``numpy.pi``: a public name of numpy."""
    return (isinstance(node.value, ast.Name) and node.value.id in ("np", "numpy")
            and not node.attr.startswith("_") and hasattr(np, node.attr))


def _check_syntax(expression: str, python_text: str) -> None:
    """Refuse anything but arithmetic, comparisons, numbers and the known functions.

    The term is evaluated with Python's ``eval``; reading attributes (``x.__class__``),
    indexing, strings or unknown functions are refused before it runs.
    """
    try:
        tree = ast.parse(python_text, mode="eval")
    except SyntaxError as error:
        raise _refusal(expression, f"it does not parse ({error.msg})") from error
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            function = node.func
            if isinstance(function, ast.Name) and function.id not in _FUNCTIONS:
                close = close_matches(function.id, list(_FUNCTIONS))
                hint = f" (did you mean {close[0]}?)" if close else ""
                raise _refusal(expression, f"unknown function '{function.id}'{hint}")
            if isinstance(function, ast.Attribute) and not _numpy_name(function):
                raise _refusal(expression, f"unknown function '{ast.unparse(function)}'")
            if not isinstance(function, ast.Name | ast.Attribute):
                raise _refusal(expression, f"'{ast.unparse(function)}' is not a function name")
        elif isinstance(node, ast.Attribute) and not _numpy_name(node):
            raise _refusal(expression, f"'{ast.unparse(node)}' reads an attribute")
        elif isinstance(node, ast.Name) and node.id.startswith("__"):
            raise _refusal(expression, f"'{node.id}' is not a column name")
        elif isinstance(node, ast.Constant) and (
            isinstance(node.value, str | bytes) or not isinstance(node.value, int | float)
        ):
            raise _refusal(expression, f"{node.value!r} is not a number")
        elif not isinstance(node, _ALLOWED_NODES):
            raise _refusal(expression, f"'{ast.unparse(node)}' is not arithmetic")


def evaluate_call(expression: str, data: pd.DataFrame | Mapping[str, Any]) -> np.ndarray:
    """Evaluate one call such as ``I(age^2)`` on the data columns, R's ``^`` read as a power.

    Raises
    ------
    SpecificationError
        If the term is not arithmetic on columns with the known functions, or does not give
        one number per row.
    DataError
        If a column it reads is absent or has text or infinite values, or if the term is not
        finite where its columns are (``log(0)``, ``sqrt(-1)``): naming the columns and rows.
    """
    python_text, aliases = _python_text(expression)
    _check_syntax(expression, python_text)
    variables = sorted(call_variables(expression))
    missing = [name for name in variables if name not in data]
    if missing:
        raise UnknownColumnError(
            f"the formula term '{expression}' uses column(s) {missing} that are not in the "
            "data"
        )
    namespace = dict(_NAMESPACE)
    inputs = {name: call_values(pd.Series(data[name]), name, expression) for name in variables}
    namespace.update(inputs)
    namespace.update({alias: inputs[name] for alias, name in aliases.items()})
    try:
        with np.errstate(all="ignore"):
            value = eval(python_text, {"__builtins__": {}}, namespace)  # noqa: S307
        values = np.asarray(value, dtype=float)
    except Exception as error:
        raise SpecificationError(
            f"cannot evaluate the formula term '{expression}' to numbers: {error}"
        ) from error
    n_rows = len(next(iter(inputs.values()))) if inputs else None
    if values.ndim == 0 or values.shape != (n_rows,):
        raise SpecificationError(
            f"the formula term '{expression}' gives {values.size} number(s), not one value "
            "per row; use it on a column of the data"
        )
    check_domain(values, inputs, expression)
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
    # one variable per expression, as R: I(x^2) + I(x^2):z reads I(x^2) once
    placeholder_of: dict[str, str] = {}
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
        written = text[match.start() : close + 1]
        if _SPACED_WORDS.search(written):
            raise _refusal(" ".join(written.split()), "two names or numbers in a row")
        # lme4's name of the column, and one variable however the call is spaced
        expression = r_deparse(written)
        if expression not in placeholder_of:
            placeholder = _PLACEHOLDER.format(counter[0])
            counter[0] += 1
            columns[placeholder] = evaluate_call(expression, data)
            names[placeholder] = expression
            placeholder_of[expression] = placeholder
        pieces.append(text[position : match.start()] + placeholder_of[expression])
        position = close + 1
    return TransformedFormula("".join(pieces), columns, names)


def lme4_column_name(name: str, placeholders: Mapping[str, str]) -> str:
    """Rename a formulaic column to lme4's name.

    ``Intercept`` -> ``(Intercept)``; ``Sex[T.Female]`` and ``C(Sex)[T.Female]`` -> ``SexFemale``
    and ``C(Sex)Female``; placeholders -> the call as R prints it; a column name that R prints
    in backquotes (``a b``, not a syntactic name, :func:`r_syntactic`) -> ```a b```, as
    lme4 names it (```a b`:x``, ```a b`v``); interactions part by part.
    """
    if name == "Intercept":
        return "(Intercept)"
    parts = []
    for part in name.split(":"):
        level = re.search(r"\[(?:T\.)?([^][]*)\]$", part) if part not in placeholders else None
        base = part[: level.start()] if level else part
        if base in placeholders:
            base = placeholders[base]
        elif not r_syntactic(base) and "(" not in base:
            base = f"`{base}`"
        parts.append(base + (level.group(1) if level else ""))
    return ":".join(parts)


def r_syntactic(name: str) -> bool:
    """Whether R prints ``name`` without backquotes (``make.names(name) == name``)."""
    return _R_SYNTACTIC.fullmatch(name) is not None and name not in _R_RESERVED
