"""alliance.mixed.record_types: numba's types of the engine's records, worked out once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from numba import typeof
from numba.core import types
from numba.core.typing.typeof import Purpose, _TypeofContext, typeof_impl

from alliance.mixed import build_spec, compute_statistics, engine
from alliance.mixed.objective import ProfiledDeviance
from alliance.mixed.parameters import ParameterLayout

DATA = Path(__file__).resolve().parents[1] / "reference" / "data"


def objective() -> ProfiledDeviance:
    spec = build_spec("Reaction ~ Days + (Days | Subject)", pd.read_csv(DATA / "sleepstudy.csv"))
    return ProfiledDeviance(compute_statistics(spec), ParameterLayout.from_spec(spec), True)


def numba_typing(record: tuple) -> types.Type:
    """What numba's own typing of tuples gives the record."""
    return typeof_impl.dispatch(tuple)(record, _TypeofContext(Purpose.argument))


def test_records_get_numba_s_own_types_once_worked_out() -> None:
    deviance = objective()
    problem = deviance.problem()
    request = engine.request(engine.DEVIANCE_GRADIENT, deviance.layout.start())
    for record in (problem, request):
        assert typeof(record) == numba_typing(record)
        assert isinstance(typeof(record), types.NamedTuple)
    # another record of the same description: the same type object, not a new one
    assert typeof(deviance.problem(first_level=1)) is typeof(problem)
    other = engine.request(engine.SEARCH, deviance.layout.start() + 0.1, max_iterations=5)
    assert typeof(other) is typeof(request)


def test_a_field_numba_types_differently_gives_another_type() -> None:
    deviance = objective()
    request = engine.request(engine.DEVIANCE_GRADIENT, deviance.layout.start())
    variants = {
        "read-only array": request._replace(params=np.asarray(request.params).copy()),
        "float32 array": request._replace(params=request.params.astype(np.float32)),
        "strided array": request._replace(params=np.zeros(2 * len(request.params))[::2]),
        "float for int": request._replace(max_iterations=5.0),
        "integer beyond 64 bits": request._replace(max_iterations=2**64),
    }
    variants["read-only array"].params.flags.writeable = False
    for name, variant in variants.items():
        if name == "integer beyond 64 bits":
            # numba refuses such an integer; so does the looked-up typing
            try:
                typeof(variant)
            except ValueError:
                continue
        assert typeof(variant) == numba_typing(variant), name
        assert typeof(variant) != typeof(request), name
