"""StudyDesign: defaults, TOML round trips, merging over defaults, and validation errors."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from alliance.errors import SpecificationError
from alliance.simulate import StudyDesign


@pytest.fixture(scope="module")
def default() -> StudyDesign:
    return StudyDesign.default()


def test_default_design_is_the_reference_study(default: StudyDesign) -> None:
    assert default.sample.n_reference == 4828
    assert (default.sample.n_therapists, default.sample.n_patients) == (70, 227)
    assert (default.sample.min_caseload, default.sample.max_caseload) == (1, 9)
    assert default.qpl.items == tuple(f"qpl{k}" for k in range(1, 17))
    assert (default.qpl.scale_min, default.qpl.scale_max) == (0, 5)
    assert default.qpl.factors == ("personal_satisfactions", "personal_burdens")
    assert default.qpl.factor_correlation[0][1] == pytest.approx(-0.25)
    assert default.wai.items == tuple(f"wai{k}" for k in range(1, 13))
    assert (default.wai.scale_min, default.wai.scale_max) == (1, 5)
    assert default.schedule.sessions == (3, 12, 20, 40)
    assert default.alliance.time_coding == "log"
    patient, therapist = default.alliance.patient_rated, default.alliance.therapist_rated
    assert patient.growth_effect("personal_burdens") < 0
    assert patient.growth_effect("personal_satisfactions") == 0.0
    assert therapist.growth_effect("personal_satisfactions") > 0
    assert therapist.growth_effect("personal_burdens") == 0.0
    for model in (patient, therapist):
        assert model.level_effect("experience") == model.growth_effect("experience") == 0.0
        assert model.level_effect("severity") == model.growth_effect("severity") == 0.0


def test_qpl_primary_loadings_are_between_half_and_point_eight(default: StudyDesign) -> None:
    loadings = np.abs(default.qpl.loading_matrix)
    primary = loadings.max(axis=1)
    assert np.all((primary >= 0.5) & (primary <= 0.8))
    assert np.bincount(loadings.argmax(axis=1)).tolist() == [8, 8]
    assert np.all(default.qpl.unique_variances > 0)


def test_dict_and_toml_round_trips(default: StudyDesign, tmp_path: Path) -> None:
    assert StudyDesign.from_dict(default.to_dict()) == default
    path = tmp_path / "design.toml"
    path.write_text(default.to_toml(), encoding="utf-8")
    assert StudyDesign.from_toml(path) == default
    assert tomllib.loads(default.to_toml()) == default.to_dict()


def test_a_design_file_needs_only_the_values_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "small.toml"
    path.write_text(
        "[sample]\nn_therapists = 30\nn_patients = 90\n"
        "[alliance.patient_rated.growth]\npersonal_burdens = -0.2\n",
        encoding="utf-8",
    )
    design = StudyDesign.from_toml(path)
    assert (design.sample.n_therapists, design.sample.n_patients) == (30, 90)
    assert design.sample.n_reference == 4828
    growth = design.alliance.patient_rated
    assert growth.growth == {"personal_burdens": -0.2}
    assert growth.growth_effect("personal_satisfactions") == 0.0
    assert (
        design.alliance.patient_rated.intercept
        == StudyDesign.default().alliance.patient_rated.intercept
    )


def test_updated_changes_only_the_given_values(default: StudyDesign) -> None:
    changed = default.updated(
        {"sample": {"n_reference": 500}, "alliance": {"time_coding": "linear"}}
    )
    assert changed.sample.n_reference == 500
    assert changed.alliance.time_coding == "linear"
    assert changed.qpl == default.qpl
    assert default.sample.n_reference == 4828


def _error(overrides: dict[str, Any]) -> str:
    with pytest.raises(SpecificationError) as caught:
        StudyDesign.from_dict(overrides)
    return str(caught.value)


BAD_DESIGNS = [
    pytest.param(
        {"qpl": {"loadings": [[0.95, -0.5]] + [[0.6, 0.0]] * 15}},
        ["qpl.loadings[0]", "unique variance", "negative"],
        id="negative-unique-variance",
    ),
    pytest.param(
        {"alliance": {"patient_rated": {"residual_sd": -0.1}}},
        ["alliance.patient_rated.residual_sd", "-0.1", "cannot be negative"],
        id="negative-residual-sd",
    ),
    pytest.param(
        {"alliance": {"between_patients": {"sd": [0.4, -0.1, 0.3, 0.06]}}},
        ["alliance.between_patients.sd[1]", "patient_rated_time", "cannot be negative"],
        id="negative-random-sd",
    ),
    pytest.param(
        {"treatment": {"log_sd": -0.5}},
        ["treatment.log_sd", "cannot be negative"],
        id="negative-log-sd",
    ),
    pytest.param(
        {"qpl": {"factor_correlation": [[1.0, 1.2], [1.2, 1.0]]}},
        ["qpl.factor_correlation[0][1]", "1.2", "between -1 and 1"],
        id="correlation-outside",
    ),
    pytest.param(
        {"alliance": {"residual_correlation": -1.0}},
        ["alliance.residual_correlation", "between -1 and 1"],
        id="residual-correlation-at-bound",
    ),
    pytest.param(
        {
            "alliance": {
                "between_therapists": {
                    "correlation": [
                        [1.0, 0.9, 0.9, 0.0],
                        [0.9, 1.0, -0.9, 0.0],
                        [0.9, -0.9, 1.0, 0.0],
                        [0.0, 0.0, 0.0, 1.0],
                    ]
                }
            }
        },
        ["alliance.between_therapists.correlation", "not positive definite"],
        id="non-positive-definite",
    ),
    pytest.param(
        {"alliance": {"between_patients": {"correlation": [[1.0, 0.2], [0.2, 1.0]]}}},
        ["alliance.between_patients.correlation", "4 x 4"],
        id="wrong-matrix-shape",
    ),
    pytest.param(
        {"sample": {"n_therapists": 0}},
        ["sample.n_therapists", "at least 1"],
        id="zero-therapists",
    ),
    pytest.param(
        {"sample": {"n_therapists": 70, "n_patients": 50}},
        ["sample.n_patients", "50", "at least 70"],
        id="fewer-patients-than-therapists",
    ),
    pytest.param(
        {"sample": {"n_therapists": 10, "n_patients": 100}},
        ["n_patients", "at most 9", "max_caseload"],
        id="too-many-patients",
    ),
    pytest.param(
        {"schedule": {"sessions": [200, 220]}},
        ["schedule.sessions", "200", "after every treatment has ended", "max_sessions"],
        id="schedule-after-treatments",
    ),
    pytest.param(
        {"schedule": {"sessions": [3, 20, 12]}},
        ["schedule.sessions", "increase strictly"],
        id="unsorted-schedule",
    ),
    pytest.param(
        {"wai": {"thresholds": [1.5, 2.5, 3.5]}},
        ["wai.thresholds", "3 values", "4 are needed"],
        id="threshold-count",
    ),
    pytest.param(
        {"wai": {"residual_sd": [0.4] * 11}},
        ["wai.residual_sd", "11 values", "12 are needed"],
        id="item-count",
    ),
    pytest.param(
        {"missing": {"item": 1.0}},
        ["missing.item", "[0, 1)"],
        id="probability",
    ),
    pytest.param(
        {"alliance": {"time_coding": "quadratic"}},
        ["alliance.time_coding", "quadratic", "'log'"],
        id="time-scale",
    ),
    pytest.param(
        {"alliance": {"therapist_rated": {"growth": {"burdens": 0.1}}}},
        ["alliance.therapist_rated.growth", "burdens", "personal_burdens"],
        id="unknown-predictor",
    ),
    pytest.param(
        {"sample": {"n_therapist": 70}},
        ["sample.n_therapist is not a known key (did you mean 'n_therapists'?); expected one "
         "of n_reference, n_therapists, n_patients,"],
        id="misspelt-key",
    ),
    pytest.param(
        {"sample": {"n_patients": "many"}},
        ["sample.n_patients", "'many'", "whole number"],
        id="wrong-type",
    ),
    pytest.param(
        {"sample": {"n_patients": 227.5}},
        ["sample.n_patients", "227.5", "whole number"],
        id="fractional-count",
    ),
    pytest.param(
        {"covariates": {"experience_max": 5.0}},
        ["covariates.experience_max", "below experience_mean"],
        id="experience-max",
    ),
    pytest.param(
        {"qpl": {"factors": ["time", "personal_burdens"]}},
        ["qpl.factors", "'time'", "cannot be a model term"],
        id="reserved-factor-name",
    ),
]


@pytest.mark.parametrize(("overrides", "fragments"), BAD_DESIGNS)
def test_invalid_values_raise_naming_the_field_and_a_remedy(
    overrides: dict[str, Any], fragments: list[str]
) -> None:
    message = _error(overrides)
    for fragment in fragments:
        assert fragment in message, message


def test_design_file_errors_name_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.toml"
    with pytest.raises(SpecificationError, match="nowhere.toml does not exist"):
        StudyDesign.from_toml(missing)
    broken = tmp_path / "broken.toml"
    broken.write_text("[sample\nn_therapists = 3\n", encoding="utf-8")
    with pytest.raises(SpecificationError, match="broken.toml is not valid TOML"):
        StudyDesign.from_toml(broken)
    invalid = tmp_path / "invalid.toml"
    invalid.write_text("[sample]\nn_therapists = 0\n", encoding="utf-8")
    with pytest.raises(SpecificationError, match=r"invalid.toml: sample.n_therapists is 0"):
        StudyDesign.from_toml(invalid)


def test_sections_validate_when_built_directly(default: StudyDesign) -> None:
    import dataclasses

    with pytest.raises(SpecificationError, match="n_therapists is 0"):
        dataclasses.replace(default.sample, n_therapists=0)
    with pytest.raises(SpecificationError, match="after every treatment has ended"):
        dataclasses.replace(
            default,
            treatment=dataclasses.replace(default.treatment, max_sessions=2, min_sessions=1),
        )
