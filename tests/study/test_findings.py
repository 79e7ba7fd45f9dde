"""Findings: plain sentences whose numbers are those of the results."""

from __future__ import annotations

import re

from alliance.apa import MINUS, percent
from alliance.simulate.time_codings import TimeAxis
from alliance.study import StudyResults
from alliance.study.findings import effect_sentence, share_text


def test_findings_format_numbers_as_the_report_tables_do() -> None:
    row = {"estimate": -0.0951, "ci_low": -0.1502, "ci_high": -0.0004, "p": 0.0341}
    sentence = effect_sentence("patient", "personal_burdens", "level", row, "log", 0.95,
                               TimeAxis("first-assessment", 3.0, 10.0))
    assert f"b = {MINUS}0.095" in sentence and "to 0.000, p = .034" in sentence


def test_effect_sentences_say_direction_and_uncertainty() -> None:
    row = {"estimate": -0.0951, "ci_low": -0.129, "ci_high": -0.062, "p": 1e-6}
    sentence = effect_sentence("patient", "personal_burdens", "growth", row, "log", 0.95,
                               TimeAxis("first-assessment", 3.0, 10.0))
    assert sentence == (
        f"Personal Burdens predicted slower growth of the patient-rated alliance (b = {MINUS}0.095 "
        f"per SD of the factor per unit of ln(session), 95% CI {MINUS}0.129 to {MINUS}0.062, "
        "p < .001)."
    )
    row = {"estimate": 0.02, "ci_low": -0.08, "ci_high": 0.12, "p": 0.7}
    sentence = effect_sentence("therapist", "personal_burdens", "level", row, "linear", 0.9,
                               TimeAxis("session-1", 3.0, 1.0))
    assert sentence.startswith("Personal Burdens did not predict the level at session 1 of the "
                               "therapist-rated alliance distinguishably from 0 (b = 0.020 per "
                               "SD of the factor, 90% CI")


def test_findings_cover_every_step(small_results: StudyResults) -> None:
    text = " ".join(small_results.findings)
    assert "WAI administrations" in text and "Parallel analysis" in text
    assert "Time was coded as" in text and "differ" in text
    assert "true fixed effects lay inside" in text
    assert len(small_results.findings) == 2 + 2 + 1 + 8 + 4 + 1


def test_a_share_is_given_with_its_interval_and_its_side() -> None:
    row = {"ci_low": 0.05, "ci_high": 0.2212, "boundary": None, "note": ""}
    assert share_text(0.12, row, 0.95) == "12.0% (95% CI 5.0%\u201322.1%)"
    row = {"ci_low": 0.0, "ci_high": 0.31, "boundary": "lower",
           "note": "one-sided: the estimate is on the boundary (its variance is estimated at 0)"}
    assert share_text(0.0, row, 0.9) == (
        "0.0% (90% CI 0.0%\u201331.0%, one-sided: the estimate is on the boundary)")
    row = {"ci_low": 0.4, "ci_high": 1.0, "boundary": "upper",
           "note": "one-sided: the estimate is next to the boundary, above the upper percentile"}
    assert share_text(0.99997, row, 0.95).endswith("one-sided: the estimate is next to the "
                                                   "boundary)")
    assert share_text(float("nan"), None, 0.95).startswith("an undefined share")
    assert share_text(0.3, None, 0.95) == "30.0%"


def test_variance_sentences_carry_the_bootstrap_intervals(small_results: StudyResults) -> None:
    for rater, sentence in zip(("patient", "therapist"), small_results.findings[2:4],
                               strict=True):
        model = small_results.null[rater]
        assert sentence.startswith(f"In the {rater}-rated alliance, therapists accounted for")
        assert "(intervals: parametric bootstrap, 1,000 samples)" in sentence
        shares = model.intervals.shares.set_index("quantity")
        for name in ("therapist_intercept", "therapist_slope_share", "patient_intercept"):
            low, high = (percent(shares.at[name, key]) for key in ("ci_low", "ci_high"))
            pattern = (re.escape(f"{percent(model.icc()[name])} (95% CI {low}\u2013{high}")
                       + r"(, one-sided: the estimate is (on|next to) the boundary)?\)")
            assert re.search(pattern, sentence), (name, sentence)
        assert sentence.count("95% CI") == 3
    assert percent(0.1234) == "12.3%"
