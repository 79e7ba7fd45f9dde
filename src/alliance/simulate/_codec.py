"""Build the frozen design dataclasses from nested mappings (parsed TOML) and back.

The field types of a dataclass say how a value is read, with the field readers of
:mod:`alliance.io.config_fields`: ``int`` (a whole number; ``70.0`` is accepted), ``float``,
``str``, ``tuple[T, ...]`` (any depth), ``Mapping[str, float]`` and nested dataclasses.
Values missing from the input come from ``defaults`` (a mapping of the same shape); nested
dataclass sections are merged key by key, every other value (lists, matrices, name -> value
maps) is replaced whole. Unknown keys are errors, so that a misspelt parameter is never ignored.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

from alliance.errors import SpecificationError
from alliance.io import config_fields as fields

T = TypeVar("T")


def _convert(value: Any, hint: Any, path: str) -> Any:
    origin = typing.get_origin(hint)
    if hint is int:
        return fields.integer(value, path, whole_floats=True)
    if hint is float:
        return fields.number(value, path)
    if hint is str:
        return fields.text(value, path)
    if origin is tuple:
        (item_hint, _ellipsis) = typing.get_args(hint)
        return tuple(_convert(item, item_hint, fields.join(path, index))
                     for index, item in enumerate(fields.array(value, path)))
    if origin is Mapping:
        _key_hint, value_hint = typing.get_args(hint)
        return {fields.text(key, path): _convert(item, value_hint, fields.join(path, str(key)))
                for key, item in fields.table(value, path).items()}
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
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    data = fields.table(data, path)
    names = [field.name for field in dataclasses.fields(cls)]
    fields.known_keys(data, names, path)
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for name in names:
        hint = hints[name]
        field_path = fields.join(path, name)
        default = None if defaults is None else defaults.get(name)
        if dataclasses.is_dataclass(hint):
            values[name] = build(typing.cast(type, hint), data.get(name, {}), default, field_path)
        elif name in data:
            values[name] = _convert(data[name], hint, field_path)
        elif default is not None:
            values[name] = _convert(default, hint, field_path)
        else:
            fields.missing(field_path, "a value")
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
