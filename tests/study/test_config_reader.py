"""``[models] random_effects`` and ``[models] centering``: what is read, what is refused."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from alliance.errors import SpecificationError
from alliance.study import config_from_dict, example_config_text
from alliance.study.config import RANDOM_EFFECTS


def build(models: dict[str, Any]) -> Any:
    data = tomllib.loads(example_config_text())
    data["models"].update(models)
    return config_from_dict(data, base_dir=Path("/data"), source="study.toml")


def refusal(models: dict[str, Any]) -> str:
    with pytest.raises(SpecificationError) as error:
        build(models)
    return " ".join(str(error.value).split())


def test_defaults_are_the_full_structure_and_grand_mean_centering() -> None:
    config = build({})
    assert config.models.random_effects == "full"
    assert config.models.random_terms == "(time | therapist/patient)"
    assert dict(config.models.centering) == {}
    assert config.models.centering_of("severity") == "grand-mean"


@pytest.mark.parametrize("name", sorted(RANDOM_EFFECTS))
def test_named_structures_read(name: str) -> None:
    assert build({"random_effects": name}).models.random_terms == RANDOM_EFFECTS[name]


def test_explicit_terms_are_kept_as_written_and_round_trip() -> None:
    terms = "(time | therapist) + (1 | therapist:patient)"
    config = build({"random_effects": terms,
                    "centering": {"severity": "group-mean", "personal_burdens": "none"}})
    assert config.models.random_terms == terms
    assert config.models.centering_of("severity") == "group-mean"
    again = config_from_dict(tomllib.loads(config.to_toml()), base_dir=Path("/data"),
                             source="again.toml")
    assert again.models == config.models


@pytest.mark.parametrize(
    ("terms", "expected"),
    [
        ("(time | therapist", "models.random_effects '(time | therapist' does not parse"),
        ("(severity | therapist) + (1 | patient)", "has random slopes of ['severity']"),
        ("(time | therapist) + (1 | clinic)", "groups by 'clinic'"),
        ("(time | therapist)", "has no random effect for patients"),
        ("experience + (1 | therapist/patient)", "holds more than random terms"),
        ("(1 | therapist) + (time | therapist) + (1 | patient)",
         "cannot be used in the growth models"),
    ],
)
def test_bad_random_terms_are_named(terms: str, expected: str) -> None:
    message = refusal({"random_effects": terms})
    assert message.startswith("study.toml: models.random_effects")
    assert expected in message


@pytest.mark.parametrize(
    ("centering", "expected"),
    [
        ({"personal_burdens": "group-mean"},
         "models.centering.personal_burdens is 'group-mean', but it is measured on therapists"),
        ({"experience": "group-mean"}, "models.centering.experience is 'group-mean'"),
        ({"severty": "none"}, "models.centering.severty is not a predictor of the growth "
         "models (did you mean 'severity'?); expected one of personal_satisfactions, "
         "personal_burdens, experience, severity."),
        ({"severity": "within"}, "models.centering.severity is 'within' (string); "
         "expected one of 'grand-mean', 'group-mean', 'none'."),
        ("grand-mean", "models.centering is 'grand-mean' (string); expected a "
         "table, e.g. centering = {"),
    ],
)
def test_bad_centerings_are_named(centering: Any, expected: str) -> None:
    assert expected in refusal({"centering": centering})


def test_group_mean_parts_may_not_shadow_a_covariate() -> None:
    data = tomllib.loads(example_config_text())
    data["therapists"]["covariates"] = ["experience", "severity_between"]
    data["models"]["centering"] = {"severity": "group-mean"}
    with pytest.raises(SpecificationError, match="adds the predictor 'severity_between'"):
        config_from_dict(data, base_dir=Path("/data"), source="study.toml")
