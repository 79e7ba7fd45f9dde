"""Readable names of terms, raters, levels and models."""

from __future__ import annotations

import pytest

from alliance.report.labels import (
    group_count_label,
    group_label,
    humanize,
    term_label,
    time_definition_label,
)
from alliance.report.results_reader import model_label


@pytest.mark.parametrize(
    ("term", "expected"),
    [("(Intercept)", "Intercept"), ("time:personal_burdens", "Time \u00d7 Personal Burdens"),
     ("raterpatient:time", "Patient-rated \u00d7 Time"), ("ratertherapist", "Therapist-rated"),
     ("var(therapist:(Intercept))", "var(therapist:Intercept)"),
     ("cov(patient:(Intercept),time)", "cov(patient:Intercept,time)")],
)
def test_term_labels(term: str, expected: str) -> None:
    assert term_label(term) == expected


@pytest.mark.parametrize(
    ("model", "expected"),
    [("growth (patient)", "Conditional growth (patient-rated)"),
     ("growth.therapist", "Conditional growth (therapist-rated)"),
     ("joint", "Joint (both raters)"), ("something else", "something else")],
)
def test_model_labels(model: str, expected: str) -> None:
    assert model_label(model) == expected


def test_groups() -> None:
    assert group_label("patient:therapist") == "Patients (within therapists)"
    assert group_label("Residual") == "Occasions (residual)"
    assert group_count_label("patient:therapist", 227) == "227\u00a0patients"
    assert group_count_label("therapist", 1) == "1\u00a0therapist"
    assert humanize("personal_satisfactions") == "Personal Satisfactions"


def test_the_time_label_names_the_formula_and_the_origin() -> None:
    assert time_definition_label("log", "time = ln(session / 3)", "first-assessment") == (
        "log time (growth per unit of log session), time = ln(session / 3), time 0 at the first "
        "assessment"
    )
    assert time_definition_label("linear", None, None) == "linear time (growth per time unit)"
    assert time_definition_label(None, None, None) == "time coding not recorded"
