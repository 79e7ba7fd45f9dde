"""Reading values of a power design (parsed TOML) with errors that name the field."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from alliance.errors import SpecificationError


def number(value: Any, name: str) -> float:
    """A finite number (booleans are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise SpecificationError(f"{name} is {value!r} ({type(value).__name__}); write a number.")
    if not np.isfinite(value):
        raise SpecificationError(f"{name} is {value!r}; write a finite number.")
    return float(value)


def integer(value: Any, name: str) -> int:
    """A whole number (``70`` or ``70.0``)."""
    result = number(value, name)
    if not result.is_integer():
        raise SpecificationError(f"{name} is {value!r}; write a whole number such as 70.")
    return int(result)


def text(value: Any, name: str, choices: Sequence[str]) -> str:
    """One of ``choices``."""
    if not isinstance(value, str) or value not in choices:
        raise SpecificationError(
            f"{name} is {value!r}; choose one of {', '.join(repr(c) for c in choices)}."
        )
    return value


def numbers(value: Any, name: str) -> tuple[float, ...]:
    """A list of numbers."""
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise SpecificationError(f"{name} is {value!r}; write a list [a, b, ...].")
    return tuple(number(item, f"{name}[{index}]") for index, item in enumerate(value))


def table(value: Any, name: str) -> Mapping[str, Any]:
    """A TOML table."""
    if not isinstance(value, Mapping):
        raise SpecificationError(f"{name} is {value!r}; write a table [{name}] of values.")
    return value


def known_keys(data: Mapping[str, Any], allowed: Sequence[str], where: str) -> None:
    """Refuse misspelt parameters rather than ignore them."""
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise SpecificationError(
            f"{where} has unknown parameter(s) {', '.join(map(str, unknown))}; the known ones "
            f"are {', '.join(allowed)}. Check the spelling."
        )


def required(data: Mapping[str, Any], key: str, where: str, example: str) -> Any:
    """A value that has no default."""
    if key not in data:
        prefix = f"{where}." if where else ""
        raise SpecificationError(f"{prefix}{key} is missing; give it a value, e.g. {example}.")
    return data[key]
