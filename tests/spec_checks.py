"""A check shared by the tests of the two ways of building a spec (tests/mixed/test_spec.py,
tests/power/test_model.py): ``rebuild_spec`` gives what ``build_spec`` gives.

Imported by name (``tests`` is on pytest's ``pythonpath``).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from alliance.mixed.spec import MixedModelSpec


def _assert_same_value(mine: object, theirs: object, where: str) -> None:
    if isinstance(theirs, np.ndarray) or isinstance(mine, np.ndarray):
        assert isinstance(mine, np.ndarray) and isinstance(theirs, np.ndarray), where
        assert mine.dtype == theirs.dtype, where
        np.testing.assert_array_equal(mine, theirs, err_msg=where, strict=True)
    else:
        assert mine == theirs, where


def assert_same_spec(mine: MixedModelSpec, theirs: MixedModelSpec) -> None:
    """Every field equal, arrays value for value with their dtypes and shapes; each level's
    fields likewise; the recipes equal (they are not compared by ``==`` of the spec)."""
    for spec_field in dataclasses.fields(theirs):
        name = spec_field.name
        if name == "levels":
            assert len(mine.levels) == len(theirs.levels)
            for index, (a, b) in enumerate(zip(mine.levels, theirs.levels, strict=True)):
                for level_field in dataclasses.fields(b):
                    _assert_same_value(getattr(a, level_field.name), getattr(b, level_field.name),
                                       f"levels[{index}].{level_field.name}")
        else:
            _assert_same_value(getattr(mine, name), getattr(theirs, name), name)
