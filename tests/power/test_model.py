"""The analysis model: formula from the non-zero components; replicate specs equal build_spec's."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from spec_checks import assert_same_spec

from alliance.errors import SpecificationError
from alliance.mixed import build_spec, fit_spec
from alliance.power import (
    ModelBuilder,
    PowerDesign,
    draw_layout,
    draw_response,
    model_formula,
    replicate_rng,
)
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
        {"sample": {"caseload": "negative_binomial", "dispersion": 1.0},
         "schedule": {"dropout": 0.3}},
        {"sample": {"caseload": "fixed", "patients_per_therapist": 3}},
    ],
)
def test_replicate_spec_equals_build_spec(reference: PowerDesign, change: dict) -> None:
    """On several replicates of each design (unequal caseloads in all but the last; dropout and
    treatment lengths, hence unequal waves per patient, in all): every array, name and level
    as build_spec gives them."""
    design = reference.updated(change)
    builder = ModelBuilder(design)
    for replicate in range(3):
        rng = replicate_rng(11, 0, replicate)
        layout = draw_layout(design, rng)
        y = draw_response(design, layout, design.fixed_effects(), rng)
        rebuilt = builder.spec(layout, y)
        expected = build_spec(builder.formula, layout_frame(design, layout, y))
        assert_same_spec(rebuilt, expected)
        assert expected.groups["therapist:patient"] == layout.n_patients
    assert fit_spec(rebuilt).deviance == fit_spec(expected).deviance


def test_replicate_that_cannot_identify_the_model_is_refused(reference: PowerDesign) -> None:
    """A replicate with one wave per patient (the last) is refused as build_spec refuses it
    (run_task counts the error as a failed fit), not fitted."""
    builder = ModelBuilder(reference)
    rng = replicate_rng(3, 0, 0)
    layout = draw_layout(reference, rng)
    last = np.r_[layout.patient[1:] != layout.patient[:-1], True]
    single = dataclasses.replace(layout, therapist=layout.therapist[last],
                                 patient=layout.patient[last], time=layout.time[last])
    y = draw_response(reference, single, reference.fixed_effects(), rng)
    message = f"'therapist:patient' has {single.n_patients} levels for {single.n_obs} obs"
    with pytest.raises(SpecificationError, match=message):
        build_spec(builder.formula, layout_frame(reference, single, y))
    with pytest.raises(SpecificationError, match=message):
        builder.spec(single, y)
