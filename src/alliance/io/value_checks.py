"""Checks of design values that raise :class:`~alliance.errors.SpecificationError`.

Each check names the field, the offending value and a remedy. Field names are relative to
the section being built; the design reader prefixes the section path (``alliance.patient_rated.``)
so that the final message names the field as it is spelled in a design file. Used by the
simulation design (:mod:`alliance.simulate`) and the power design (:mod:`alliance.power`),
hence public here, below both (docs/architecture.md, "Where each concept lives").
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from alliance.errors import SpecificationError


def non_negative(value: float, name: str, what: str = "standard deviation") -> None:
    """A standard deviation, variance or rate must be 0 or more."""
    if value < 0:
        raise SpecificationError(
            f"{name} is {value!r}, but a {what} cannot be negative; set it to 0 or more."
        )


def positive(value: float, name: str, what: str = "value") -> None:
    """A scale, a median or a shape parameter must be strictly positive."""
    if value <= 0:
        raise SpecificationError(
            f"{name} is {value!r}, but the {what} must be greater than 0; set a positive value."
        )


def at_least(value: int, minimum: int, name: str, remedy: str) -> None:
    """A count must reach a minimum."""
    if value < minimum:
        raise SpecificationError(
            f"{name} is {value!r}, but it must be at least {minimum}; {remedy}"
        )


def probability(value: float, name: str) -> None:
    """A probability of missingness must lie in [0, 1)."""
    if not 0.0 <= value < 1.0:
        raise SpecificationError(
            f"{name} is {value!r}, but a probability of missingness must lie in [0, 1); "
            "set a value such as 0.1 for 10% missing."
        )


def correlation(value: float, name: str) -> None:
    """A correlation must lie strictly inside (-1, 1)."""
    if not -1.0 < value < 1.0:
        raise SpecificationError(
            f"{name} is {value!r}, but a correlation must lie strictly between -1 and 1; "
            "choose a value inside (-1, 1)."
        )


def same_length(values: Sequence[object], expected: int, name: str, remedy: str) -> None:
    """A per-item list must have one entry per item."""
    if len(values) != expected:
        raise SpecificationError(
            f"{name} has {len(values)} values, but {expected} are needed; {remedy}"
        )


def strictly_increasing(values: Sequence[float], name: str) -> None:
    """Thresholds and wave schedules must increase strictly."""
    steps = np.diff(np.asarray(values, dtype=float))
    if np.any(steps <= 0):
        raise SpecificationError(
            f"{name} is {list(values)!r}, but its values must increase strictly; "
            "sort them and remove duplicates."
        )


def correlation_matrix(matrix: Sequence[Sequence[float]], size: int, name: str) -> None:
    """A correlation matrix: ``size`` x ``size``, symmetric, unit diagonal, positive definite."""
    array = np.asarray(matrix, dtype=float)
    if array.shape != (size, size):
        raise SpecificationError(
            f"{name} has shape {array.shape}, but a {size} x {size} matrix is needed; "
            f"give {size} rows of {size} values."
        )
    for i in range(size):
        if array[i, i] != 1.0:
            raise SpecificationError(
                f"{name}[{i}][{i}] is {array[i, i]!r}, but the diagonal of a correlation "
                "matrix is 1; set it to 1.0."
            )
        for j in range(size):
            if i == j:
                continue
            correlation(float(array[i, j]), f"{name}[{i}][{j}]")
            if array[i, j] != array[j, i]:
                raise SpecificationError(
                    f"{name} is not symmetric: [{i}][{j}] is {array[i, j]!r} but [{j}][{i}] is "
                    f"{array[j, i]!r}; give both the same value."
                )
    smallest = float(np.linalg.eigvalsh(array).min())
    if smallest <= 1e-10:
        raise SpecificationError(
            f"{name} is not positive definite (smallest eigenvalue {smallest:.4g}): these "
            "correlations cannot hold together; shrink the largest ones towards 0."
        )
