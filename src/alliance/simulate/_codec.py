"""Build the frozen design dataclasses from nested mappings (parsed TOML) and back.

The field types of a dataclass say how a value is read: ``int``, ``float``, ``str``,
``tuple[T, ...]`` (any depth), ``Mapping[str, float]`` and nested dataclasses (booleans are
not numbers here). Values missing from the input come from ``defaults`` (a mapping of the
same shape); nested dataclass sections are merged key by key, every other value (lists,
matrices, name -> value maps) is replaced whole. Unknown keys are errors, so that a misspelt
parameter is never ignored.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

from alliance.errors import SpecificationError

T = TypeVar("T")


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _describe(value: Any) -> str:
    return f"{value!r} ({type(value).__name__})"


def _convert(value: Any, hint: Any, path: str) -> Any:
    origin = typing.get_origin(hint)
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SpecificationError(f"{path} is {_describe(value)}; write a whole number.")
        if isinstance(value, float) and not value.is_integer():
            raise SpecificationError(f"{path} is {value!r}; write a whole number such as 70.")
        return int(value)
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SpecificationError(f"{path} is {_describe(value)}; write a number.")
        if not math.isfinite(value):
            raise SpecificationError(f"{path} is {value!r}; write a finite number.")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise SpecificationError(f"{path} is {_describe(value)}; write a quoted string.")
        return value
    if origin is tuple:
        (item_hint, _ellipsis) = typing.get_args(hint)
        if isinstance(value, str | bytes) or not isinstance(value, list | tuple):
            raise SpecificationError(f"{path} is {_describe(value)}; write a list [a, b, ...].")
        return tuple(
            _convert(item, item_hint, f"{path}[{index}]") for index, item in enumerate(value)
        )
    if origin is Mapping:
        key_hint, value_hint = typing.get_args(hint)
        if not isinstance(value, Mapping):
            raise SpecificationError(
                f"{path} is {_describe(value)}; write a table of name = value pairs."
            )
        return {
            _convert(key, key_hint, path): _convert(item, value_hint, _join(path, str(key)))
            for key, item in value.items()
        }
    raise TypeError(f"unsupported field type {hint!r} at {path}")


def build(cls: type[T], data: Any, defaults: Mapping[str, Any] | None, path: str = "") -> T:
    """Build dataclass ``cls`` from ``data``, taking missing values from ``defaults``.

    Raises
    ------
    SpecificationError
        On an unknown key, a missing value without a default, a value of the wrong type, or
        a value that the dataclass' own validation rejects; the message names the field by its
        full path (``alliance.patient_rated.residual_sd``).
    """
    if not isinstance(data, Mapping):
        raise SpecificationError(
            f"{path or 'the design'} is {_describe(data)}; write a table [{path}] of values."
        )
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    fields = {field.name: field for field in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        where = f"[{path}]" if path else "the design"
        raise SpecificationError(
            f"{where} has unknown parameter(s) {', '.join(unknown)}; the known ones are "
            f"{', '.join(fields)}. Check the spelling."
        )
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for name in fields:
        hint = hints[name]
        field_path = _join(path, name)
        default = None if defaults is None else defaults.get(name)
        if dataclasses.is_dataclass(hint):
            values[name] = build(typing.cast(type, hint), data.get(name, {}), default, field_path)
        elif name in data:
            values[name] = _convert(data[name], hint, field_path)
        elif default is not None:
            values[name] = _convert(default, hint, field_path)
        else:
            raise SpecificationError(f"{field_path} is missing; give it a value.")
    try:
        return cls(**values)
    except SpecificationError as error:
        if not path:
            raise
        raise SpecificationError(f"{path}.{error}") from error


def to_plain(value: Any) -> Any:
    """Dataclasses, tuples and mappings as plain dicts and lists (for TOML and JSON)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            field.name: to_plain(getattr(value, field.name)) for field in dataclasses.fields(value)
        }
    if isinstance(value, Mapping):
        return {str(key): to_plain(item) for key, item in value.items()}
    if isinstance(value, tuple | list):
        return [to_plain(item) for item in value]
    return value
