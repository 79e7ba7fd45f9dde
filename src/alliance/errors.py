"""Errors and warnings of ``alliance``, split by phase.

Every message names the problem, the offending values (file, column, row where there are
any) and a remedy.
"""

from __future__ import annotations


class AllianceError(Exception):
    """Base class of every error ``alliance`` raises on purpose."""


class DataError(AllianceError, ValueError):
    """Input data are unreadable or do not have the expected shape, type or values."""


class SpecificationError(AllianceError, ValueError):
    """A model, formula, instrument or configuration is ill-formed or cannot be estimated."""


class UnknownColumnError(DataError, SpecificationError):
    """A name in a formula or an option is not a column of the data.

    Either the data or the model is wrong, so this is both a :class:`DataError` and a
    :class:`SpecificationError`; the command line reports it as a data error.
    """


class FormulaSyntaxError(SpecificationError):
    """A model formula does not parse; ``position`` is the 0-based offending character."""

    def __init__(self, message: str, formula: str, position: int) -> None:
        pointer = " " * position + "^"
        super().__init__(f"{message}\n  {formula}\n  {pointer}")
        self.formula = formula
        self.position = position


class ConvergenceWarning(UserWarning):
    """An optimizer stopped without meeting its convergence criteria."""


class BoundaryWarning(UserWarning):
    """A fit ended on the boundary of the parameter space (a variance at 0, a correlation at ±1)."""
