"""PowerDesign: the reference design, round trips, overrides, effect sizes and refused input."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from alliance.errors import SpecificationError
from alliance.power import PowerDesign


@pytest.fixture(scope="module")
def reference() -> PowerDesign:
    return PowerDesign.reference()


def _dict(reference: PowerDesign) -> dict[str, Any]:
    return copy.deepcopy(reference.to_dict())


def test_reference_design_is_the_reference_study(reference: PowerDesign) -> None:
    assert reference.therapists == 70
    assert reference.caseload.distribution == "poisson"
    assert reference.therapists * reference.caseload.mean == pytest.approx(227, abs=0.1)
    assert reference.schedule.waves == (3, 12, 20, 40)
    assert reference.schedule.times[-1] == pytest.approx(np.log(40 / 3))
    assert reference.predictor_names == ("personal_burdens", "personal_satisfactions")
    assert reference.variance.icc_slope == pytest.approx(0.05)
    assert [e.term for e in reference.tested] == ["time:personal_burdens",
                                                  "time:personal_satisfactions"]
    assert not reference.balanced


def test_round_trip(reference: PowerDesign) -> None:
    assert PowerDesign.from_dict(reference.to_dict()) == reference


def test_cohens_d_follows_powerlmm(reference: PowerDesign) -> None:
    """d = difference at the last wave / SD at the first wave, both ways."""
    raw, standardised = reference.tested
    pretest_sd = np.sqrt(reference.variance.pretest_variance)
    last = np.log(40 / 3)
    assert raw.cohens_d == pytest.approx(-0.05 * last / pretest_sd)
    assert standardised.cohens_d == pytest.approx(0.2)
    assert standardised.value == pytest.approx(0.2 * pretest_sd / last)
    tested = reference.updated({"effects": {"personal_burdens": 0.1}}).tested
    level = next(e for e in tested if e.term == "personal_burdens")
    assert level.part == "level" and level.cohens_d == pytest.approx(0.1 / pretest_sd)


def test_fixed_effects_and_null(reference: PowerDesign) -> None:
    values = reference.fixed_effects()
    assert list(values) == ["(Intercept)", "time", "personal_burdens", "personal_satisfactions",
                            "time:personal_burdens", "time:personal_satisfactions"]
    assert values["time:personal_burdens"] == -0.05
    null = reference.fixed_effects(null=True)
    assert null["time:personal_burdens"] == null["time:personal_satisfactions"] == 0.0
    assert null["time"] == reference.growth


def test_updated_changes_single_values(reference: PowerDesign) -> None:
    changed = reference.updated({"sample": {"therapists": 120}, "variance": {"icc_slope": 0.2}})
    assert changed.therapists == 120 and changed.caseload == reference.caseload
    assert changed.variance.icc_slope == pytest.approx(0.2)
    assert changed.variance.var_ratio == pytest.approx(reference.variance.var_ratio)
    moved = reference.updated({"cohens_d": {"time:personal_burdens": -0.3}})
    assert "time:personal_burdens" not in moved.effects
    assert moved.tested[-1].cohens_d == pytest.approx(-0.3)


def test_example_file_parses_as_toml() -> None:
    path = Path(__file__).parents[2] / "src/alliance/power/example_design.toml"
    assert PowerDesign.from_dict(tomllib.loads(path.read_text("utf-8"))) == PowerDesign.reference()


@pytest.mark.parametrize(
    ("section", "key", "value", "field"),
    [
        ("sample", "therapists", 0, r"sample\.therapists is 0"),
        ("variance", "icc_slope", 1.0, r"variance\.icc_slope is 1\.0.*\[0, 1\)"),
        ("variance", "icc_pre_subject", -0.2, r"variance\.icc_pre_subject"),
        ("variance", "var_ratio", -0.1, r"variance\.var_ratio is -0\.1.*negative"),
        ("schedule", "waves", [3, 12, 20, 400], r"schedule\.waves\[3\] is session 400, after "
                                                r"every treatment has ended"),
        ("schedule", "waves", [12, 3], r"schedule\.waves.*increase strictly"),
        ("schedule", "dropout", 1.0, r"schedule\.dropout\[0\]"),
        ("sample", "patients_per_therapist", 0.5, r"sample\.patients_per_therapist"),
        ("treatment", "min_sessions", 2, r"treatment\.min_sessions"),
    ],
)
def test_bad_designs_are_refused_naming_the_field(
    reference: PowerDesign, section: str, key: str, value: Any, field: str
) -> None:
    data = _dict(reference)
    if section == "variance":
        data["variance"] = reference.variance.ratios()
    data[section][key] = value
    with pytest.raises(SpecificationError, match=field):
        PowerDesign.from_dict(data)


def test_negative_raw_variance_is_refused(reference: PowerDesign) -> None:
    data = _dict(reference)
    data["variance"]["therapist_sd"] = [-0.1, 0.02]
    with pytest.raises(SpecificationError, match=r"variance\.therapist_sd\[0\].*negative"):
        PowerDesign.from_dict(data)


def test_wave_after_fixed_treatment_length_is_refused(reference: PowerDesign) -> None:
    data = _dict(reference)
    data["treatment"] = {"median_sessions": 30, "log_sd": 0.0, "min_sessions": 30,
                         "max_sessions": 150}
    with pytest.raises(SpecificationError, match=r"waves\[3\] is session 40.*longest treatment "
                                                 r"is 30 sessions"):
        PowerDesign.from_dict(data)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"effects": {}, "cohens_d": {}}, "tests no effect"),
        ({"effects": {"time:time": 0.1}}, "not a term this design can test"),
        ({"effects": {"patient": 0.1}}, "a name the model uses itself"),
        ({"cohens_d": {"personal_burdens:time": 0.1}}, "names the same effect"),
        ({"samples": {}}, r"samples is not a known key \(did you mean 'sample'\?\); expected "
                          r"one of alpha, df_method, sample,"),
        ({"df_method": "kenward_roger"}, "df_method"),
        ({"alpha": 1.5}, "alpha is 1.5"),
        ({"predictors": {"personal_burdens": {"distribution": "binary", "proportion": 0.001}},
          "effects": {"time:personal_burdens": 0.1}, "cohens_d": {}}, "both groups"),
    ],
)
def test_inconsistent_designs_are_refused(
    reference: PowerDesign, change: dict[str, Any], message: str
) -> None:
    data = _dict(reference)
    if "predictors" in change:
        data.pop("predictors")
    data.update(change)
    with pytest.raises(SpecificationError, match=message):
        PowerDesign.from_dict(data)


def test_one_patient_per_therapist_needs_a_two_level_model(reference: PowerDesign) -> None:
    with pytest.raises(SpecificationError, match="cannot be told apart"):
        reference.updated({"sample": {"caseload": "fixed", "patients_per_therapist": 1}})
    two_level = reference.updated({"sample": {"caseload": "fixed", "patients_per_therapist": 1},
                                   "variance": {"icc_pre_cluster": 0.0, "icc_slope": 0.0}})
    assert not any(two_level.variance.therapist_sd)


def test_bad_correlation_is_refused(reference: PowerDesign) -> None:
    data = _dict(reference)
    data["predictors"]["correlation"] = [[1.0, 0.5], [0.4, 1.0]]
    with pytest.raises(SpecificationError, match="symmetric"):
        PowerDesign.from_dict(data)
    data["predictors"]["correlation"] = [[1.0]]
    with pytest.raises(SpecificationError, match="2 predictors"):
        PowerDesign.from_dict(data)


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(SpecificationError, match="does not exist"):
        PowerDesign.from_toml(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[sample\n", encoding="utf-8")
    with pytest.raises(SpecificationError, match="broken.toml is not valid TOML"):
        PowerDesign.from_toml(broken)
    partial = tmp_path / "partial.toml"
    partial.write_text("[sample]\ntherapists = 10\n", encoding="utf-8")
    with pytest.raises(SpecificationError, match=r"partial\.toml: sample\.patients_per_therapist "
                                                 r"is missing"):
        PowerDesign.from_toml(partial)


def test_df_methods_are_the_engines_and_the_large_sample_z() -> None:
    from alliance.mixed.fit import DF_METHODS as ENGINE_DF_METHODS
    from alliance.power.design import DF_METHODS, LARGE_SAMPLE_DF_METHOD

    assert DF_METHODS == (*ENGINE_DF_METHODS, LARGE_SAMPLE_DF_METHOD)
    assert LARGE_SAMPLE_DF_METHOD == "z" and "z" not in ENGINE_DF_METHODS


@pytest.mark.parametrize("method", ["satterthwaite", "containment", "residual",
                                    "kenward-roger", "z"])
def test_every_df_method_is_read(reference: PowerDesign, method: str) -> None:
    data = _dict(reference)
    data["df_method"] = method
    assert PowerDesign.from_dict(data).df_method == method


def test_an_unknown_df_method_names_the_choices(reference: PowerDesign) -> None:
    data = _dict(reference)
    data["df_method"] = "between-within"
    with pytest.raises(SpecificationError, match="'kenward-roger'.*'z'"):
        PowerDesign.from_dict(data)
