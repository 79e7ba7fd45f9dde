"""The small TOML writer used for design.toml."""

from __future__ import annotations

import math
import tomllib

import pytest

from alliance.io.toml_writer import dumps


def test_round_trip_of_nested_tables_lists_and_special_values() -> None:
    data = {
        "name": 'a "quoted" ñame',
        "flag": True,
        "count": 3,
        "tiny": 1e-300,
        "third": 1 / 3,
        "section": {
            "matrix": [[1.0, -0.25], [-0.25, 1.0]],
            "empty": {},
            "deeper": {"values": [1, 2, 3], "label": "x"},
        },
        "other": {"key with space": 0.5},
    }
    text = dumps(data, header="line one\nline two")
    assert text.startswith("# line one\n# line two\n")
    assert tomllib.loads(text) == data
    special = tomllib.loads(dumps({"a": math.inf, "b": -math.inf}))
    assert special == {"a": math.inf, "b": -math.inf}
    assert math.isnan(tomllib.loads(dumps({"c": math.nan}))["c"])


def test_unsupported_values_are_refused() -> None:
    with pytest.raises(TypeError, match="cannot write"):
        dumps({"x": object()})
