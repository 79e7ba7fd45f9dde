"""The analysis model: formula from the non-zero components; fast specs equal build_spec's."""

from __future__ import annotations

import numpy as np
import pytest

from alliance.mixed import build_spec, fit_spec
from alliance.power import ModelBuilder, PowerDesign, draw_layout, draw_response, model_formula
from alliance.power.model import layout_frame


@pytest.fixture(scope="module")
def reference() -> PowerDesign:
    return PowerDesign.reference()


def test_formula_keeps_the_non_zero_terms(reference: PowerDesign) -> None:
    assert model_formula(reference) == (
        "alliance ~ time * (personal_burdens + personal_satisfactions) + (time | therapist) "
        "+ (time | therapist:patient)"
    )
    no_therapist_slope = reference.updated({"variance": {"icc_slope": 0.0}})
    assert "(1 | therapist) + (time | therapist:patient)" in model_formula(no_therapist_slope)
    two_level = reference.updated({"variance": {"icc_pre_cluster": 0.0, "icc_slope": 0.0}})
    assert model_formula(two_level).endswith("(time | therapist:patient)")
    assert "| therapist)" not in model_formula(two_level)
    data = reference.to_dict()
    data["variance"] = {"therapist_sd": [0.0, 0.05], "patient_sd": [0.3, 0.0],
                        "residual_sd": 0.2}
    slope_only = PowerDesign.from_dict(data)
    assert model_formula(slope_only).endswith("(0 + time | therapist) + (1 | therapist:patient)")


@pytest.mark.filterwarnings("ignore::alliance.errors.BoundaryWarning")
@pytest.mark.parametrize(
    "change",
    [
        {},
        {"variance": {"icc_slope": 0.0}},
        {"variance": {"icc_pre_cluster": 0.0, "icc_slope": 0.0}},
        {"sample": {"caseload": "negative_binomial", "dispersion": 1.0}},
    ],
)
def test_fast_spec_equals_build_spec(reference: PowerDesign, change: dict) -> None:
    design = reference.updated(change)
    builder = ModelBuilder(design)
    rng = np.random.default_rng(11)
    layout = draw_layout(design, rng)
    y = draw_response(design, layout, design.fixed_effects(), rng)
    fast = builder.spec(layout, y)
    slow = build_spec(builder.formula, layout_frame(design, layout, y))
    assert fast.fixed_names == slow.fixed_names
    for name in ("y", "x", "strata", "row_index"):
        np.testing.assert_array_equal(getattr(fast, name), getattr(slow, name))
    assert len(fast.levels) == len(slow.levels)
    for mine, theirs in zip(fast.levels, slow.levels, strict=True):
        assert (mine.name, mine.blocks) == (theirs.name, theirs.blocks)
        np.testing.assert_array_equal(mine.codes, theirs.codes)
        np.testing.assert_array_equal(mine.labels, theirs.labels)
        np.testing.assert_array_equal(mine.z, theirs.z)
        if theirs.parent is None:
            assert mine.parent is None
        else:
            np.testing.assert_array_equal(mine.parent, theirs.parent)
    assert fit_spec(fast).deviance == fit_spec(slow).deviance
