"""Findings: plain sentences whose numbers are those of the results."""

from __future__ import annotations

from alliance.study import StudyResults
from alliance.study.findings import effect_sentence, number, p_text


def test_number_and_p_formatting() -> None:
    assert number(-0.0004, 3) == "0.000"
    assert number(-0.0951, 3) == "-0.095"
    assert p_text(0.0004) == "p < .001"
    assert p_text(0.0341) == "p = .034"


def test_effect_sentences_say_direction_and_uncertainty() -> None:
    row = {"estimate": -0.0951, "ci_low": -0.129, "ci_high": -0.062, "p": 1e-6}
    sentence = effect_sentence("patient", "personal_burdens", "growth", row, "log", 0.95)
    assert sentence == (
        "Personal Burdens predicted slower growth of the patient-rated alliance (b = -0.095 per "
        "SD of the factor per unit of ln(session), 95% CI -0.129 to -0.062, p < .001)."
    )
    row = {"estimate": 0.02, "ci_low": -0.08, "ci_high": 0.12, "p": 0.7}
    sentence = effect_sentence("therapist", "personal_burdens", "level", row, "linear", 0.9)
    assert sentence.startswith("Personal Burdens did not predict the level at session 0 of the "
                               "therapist-rated alliance distinguishably from 0 (b = 0.020 per "
                               "SD of the factor, 90% CI")


def test_findings_cover_every_step(small_results: StudyResults) -> None:
    text = " ".join(small_results.findings)
    assert "WAI administrations" in text and "Parallel analysis" in text
    assert "Time was coded as" in text and "differ" in text
    assert "true fixed effects lay inside" in text
    assert len(small_results.findings) == 2 + 2 + 1 + 8 + 4 + 1
