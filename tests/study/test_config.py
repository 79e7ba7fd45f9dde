"""The study configuration: the example reads back, every bad value is named with a remedy."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from alliance.app.runs import rebased
from alliance.errors import SpecificationError
from alliance.study import config_from_dict, example_config_text, load_config


def example() -> dict[str, Any]:
    return tomllib.loads(example_config_text())


def build(data: dict[str, Any]) -> Any:
    return config_from_dict(data, base_dir=Path("/data"), source="study.toml")


def test_example_config_reads_and_round_trips(tmp_path: Path) -> None:
    config = build(example())
    assert config.covariates == ("experience", "severity")
    assert config.wai.raters["patient"].rater_value == "patient"
    assert config.path(config.wai.raters["therapist"].table) == Path("/data/wai.csv")
    assert config.truth_path == Path("/data/truth.json")
    file = tmp_path / "again.toml"
    file.write_text(config.to_toml(), encoding="utf-8")
    again = load_config(file)
    assert again.to_dict() == config.to_dict()
    assert again.base_dir == tmp_path.resolve()


def test_absolute_paths_point_at_the_same_files(tmp_path: Path) -> None:
    config = config_from_dict(example(), base_dir=tmp_path, source="study.toml")
    written = config.to_dict(absolute_paths=True)
    assert Path(written["wai"]["patient"]["file"]) == (tmp_path / "wai.csv").resolve()
    assert Path(written["simulation"]["truth"]) == (tmp_path / "truth.json").resolve()


def test_rebased_keeps_every_file(tmp_path: Path) -> None:
    config = config_from_dict(example(), base_dir=tmp_path / "data", source="study.toml")
    moved = rebased(config, tmp_path)
    assert moved.to_dict()["reference"]["file"] == "data/reference_qpl.csv"
    assert moved.path(moved.reference.table) == config.path(config.reference.table)
    assert moved.truth_path == config.truth_path


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["wai"].update(sesion_column="s"), "wai.sesion_column is not a known key (did "
         "you mean 'session_column'?); expected one of file, patient, patient_column, "
         "rater_column, session_column, sheet, therapist, therapist_column."),
        (lambda d: d.pop("therapists"), "therapists is missing; expected a table, e.g. "
         "[therapists] as in `alliance analyze --example-config`"),
        (lambda d: d["models"].update(time_coding="quadratic"), "models.time_coding is "
         "'quadratic' (string); expected one of 'auto', 'log', 'linear'."),
        (lambda d: d["models"].update(time_coding="sessions"), "models.time_coding is "
         "'sessions' (string); 'sessions' was 'linear' rescaled (one unit per session); write 'linear' "
         "and, for slopes per session, a time unit of 1"),
        (lambda d: d["models"].update(time_codings=["log", "sessions"]), "models.time_codings[1] "
         "is 'sessions' (string); 'sessions' was 'linear' rescaled"),
        (lambda d: d["models"].update(origin="baseline"), "models.origin is 'baseline' (string); "
         "expected one of 'first-assessment', 'session-1'"),
        (lambda d: d["models"].update(time_unit=0), "models.time_unit is 0 (integer); expected "
         "a number above 0, e.g. 10 (slopes per ten sessions)"),
        (lambda d: d["therapists"].update(covariates=["time"]), "name 'time' is used by the "
         "pipeline itself"),
        (lambda d: d["factors"].pop("burden_items"), "satisfaction_items and burden_items must be "
         "given together"),
        (lambda d: d["factors"].update(target={"qpl1": [0.7, 0.0]}), "factors.target is given "
         "together with satisfaction_items and burden_items"),
        (lambda d: d["factors"].update(burden_items=[]), "must each list at least one item"),
        (lambda d: d["factors"].update(min_congruence=85), "factors.min_congruence is 85 "
         "(integer); expected a number above 0 and at most 1, written with a decimal point"),
        (lambda d: [d["wai"][rater].pop("rater_value") for rater in ("patient", "therapist")],
         "reads the patient and the therapist ratings from the same columns"),
        (lambda d: d["wai"].pop("therapist"), "wai.therapist is missing; expected a table"),
        (lambda d: d.update(seed=-1), "seed is -1 (integer); expected a whole "
         "number of at least 0."),
        (lambda d: d["models"].update(confidence=95), "models.confidence is 95 "
         "(integer); expected a number of at least 0.5 and below 1"),
        (lambda d: d["models"].update(bootstrap_samples=50),
         "models.bootstrap_samples is 50 (integer); expected a whole number of at least 200."),
        (lambda d: d["models"].update(variance_intervals="jackknife"),
         "models.variance_intervals"),
    ],
)
def test_bad_values_are_named(change: Any, expected: str) -> None:
    data = example()
    change(data)
    with pytest.raises(SpecificationError) as error:
        build(data)
    message = " ".join(str(error.value).split())
    assert message.startswith("study.toml:")
    assert expected in message


def test_a_missing_file_and_bad_toml_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(SpecificationError, match="does not exist"):
        load_config(tmp_path / "absent.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[wai\n", encoding="utf-8")
    with pytest.raises(SpecificationError, match=r"bad\.toml is not valid TOML"):
        load_config(bad)


def test_covariates_can_be_renamed() -> None:
    data = example()
    data["therapists"]["covariates"] = {"years": "Years in practice"}
    config = build(data)
    assert dict(config.therapists.covariates) == {"years": "Years in practice"}
    assert config.covariates == ("years", "severity")


def test_a_fixed_time_coding_is_among_those_compared() -> None:
    data = example()
    data["models"].update(time_coding="linear", time_codings=["log"])
    assert build(data).models.time_codings == ("log", "linear")


def test_time_origin_and_unit_default_to_the_first_assessment_and_tens_of_sessions() -> None:
    data = example()
    for key in ("origin", "time_unit", "time_codings"):
        data["models"].pop(key, None)
    models = build(data).models
    assert (models.origin, models.time_unit) == ("first-assessment", 10.0)
    assert models.time_codings == ("log", "linear")
    data["models"].update(origin="session-1", time_unit=1)
    assert (build(data).models.origin, build(data).models.time_unit) == ("session-1", 1.0)


def test_the_documented_example_reads() -> None:
    config = load_config(Path(__file__).parents[2] / "docs" / "example-study.toml")
    assert config.covariates == ("experience", "severity")
    assert config.wai.rater_column is None and config.wai.therapist_column is None
    assert config.reference.columns.items["qpl16"] == "Q16"
    assert config.factors.burden_items == tuple(f"qpl{k}" for k in (2, 4, 6, 8, 10, 12, 16))


def test_a_target_pattern_reads_and_round_trips(tmp_path: Path) -> None:
    data = example()
    for key in ("satisfaction_items", "burden_items"):
        data["factors"].pop(key)
    data["factors"]["target"] = {"qpl1": [0.7, 0], "qpl2": [0.0, 0.6]}
    config = build(data)
    assert config.factors.target == {"qpl1": (0.7, 0.0), "qpl2": (0.0, 0.6)}
    file = tmp_path / "again.toml"
    file.write_text(config.to_toml(), encoding="utf-8")
    assert load_config(file).factors.target == config.factors.target
