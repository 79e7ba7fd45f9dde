"""numba's types of the engine's records, worked out once: calls of the entry point stay cheap.

At every call of a compiled function from Python, numba finds the type of each argument. The
records the engine's entry point (:func:`alliance.mixed.engine.run`) takes,
:class:`~alliance.mixed.deviance.Problem` and :class:`~alliance.mixed.engine.Request`, are
named tuples holding a typed list of the levels and a dozen arrays; numba types a named tuple
field by field and builds and hashes the whole nested type anew at each call: about 0.15 ms,
more than the compiled work of a call on a small model, and 40% of a parametric bootstrap on a
study of 70 therapists (eight calls per replicate).

The type numba gives a record depends only on what its typing reads of each field: an
array's dtype, dimensions, layout and writeability (``numba.core.typing.typeof``
``_typeof_ndarray``), the typed list's own type, a tuple's fields, a scalar's Python type
(and, for an integer, whether it fits in 64 bits). :func:`register` has numba type a record
class through :func:`typed_record`, which asks numba's own typing of tuples once per such
description and looks the type up afterwards (``typeof_impl`` is numba's extension point for
typing Python objects, ``numba.extending.typeof_impl``).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, cast

import numpy as np
from numba.extending import typeof_impl

#: description of a record (its class, the purpose of the typing, each field's description)
#: -> (numba's type, the typed lists' types, kept so that their ids stay theirs)
_TYPES: dict[Hashable, tuple[Any, list[Any]]] = {}
_INT64 = (-(2**63), 2**63)


def _described(value: object, kept: list[Any]) -> Hashable:
    """What numba's typing of ``value`` depends on; typed lists' types are added to ``kept``."""
    if isinstance(value, np.ndarray):
        flags = value.flags
        return (value.dtype.str, value.ndim, flags.c_contiguous, flags.f_contiguous,
                flags.writeable)
    list_type = getattr(value, "_numba_type_", None)
    if list_type is not None:
        kept.append(list_type)
        return ("numba type", id(list_type))
    if isinstance(value, tuple):
        return (type(value), tuple(_described(item, kept) for item in value))
    if isinstance(value, int) and type(value) is int:
        return (int, _INT64[0] <= value < _INT64[1])
    return cast(Hashable, type(value))


def typed_record(record: tuple[Any, ...], context: Any) -> Any:
    """numba's type of the named tuple ``record``, looked up by its description.

    The first record of a description is typed by numba's own typing of tuples
    (``typeof_impl.dispatch(tuple)``); later ones get the same type object.
    """
    kept: list[Any] = []
    key = (type(record), context.purpose, tuple(_described(field, kept) for field in record))
    found = _TYPES.get(key)
    if found is None:
        found = (typeof_impl.dispatch(tuple)(record, context), kept)
        _TYPES[key] = found
    return found[0]


def register(record_class: type) -> None:
    """Type ``record_class`` (a named tuple class) with :func:`typed_record`."""
    typeof_impl.register(record_class)(typed_record)
