"""Parameter recovery on simulated data: estimates beside the truth of truth.json."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from alliance.study import StudyResults


def test_recovery_rows_carry_the_true_values(small_results: StudyResults,
                                             small_study: Path) -> None:
    truth = json.loads((small_study.parent / "truth.json").read_text())
    table = small_results.recovery
    assert table is not None
    assert set(table["model"]) == {"growth (patient)", "growth (therapist)", "joint"}
    patient = table[table["model"] == "growth (patient)"].set_index("parameter")
    assert patient.loc["time:personal_burdens", "true"] == truth["fixed_effects"]["patient"][
        "time:personal_burdens"]
    assert patient.loc["time:severity", "true"] == truth["covariate_effects"]["patient"][
        "time:severity"]
    assert patient.loc["var(Residual)", "true"] == pytest.approx(
        truth["residual_variance"]["patient"])
    terms = truth["random_effects"]["terms"]
    between = np.array(truth["random_effects"]["between_therapists"])
    i = terms.index("patient_rated_time")
    assert patient.loc["var(therapist:time)", "true"] == pytest.approx(between[i, i])
    joint = table[table["model"] == "joint"].set_index("parameter")
    j, k = terms.index("patient_rated_intercept"), terms.index("therapist_rated_intercept")
    assert joint.loc["cov(therapist:raterpatient,ratertherapist)", "true"] == pytest.approx(
        between[j, k])
    assert joint.loc["ratertherapist:time:personal_satisfactions", "true"] == truth[
        "fixed_effects"]["therapist"]["time:personal_satisfactions"]


def test_fixed_effects_have_intervals_and_coverage(small_results: StudyResults) -> None:
    table = small_results.recovery
    assert table is not None
    fixed = table[table["covered"].notna()]
    assert len(fixed) == 40
    inside = (fixed["ci_low"] <= fixed["true"]) & (fixed["true"] <= fixed["ci_high"])
    assert (inside == fixed["covered"].astype(bool)).all()
    assert inside.mean() >= 0.75
    assert fixed["exact"].all()
    variances = table[table["covered"].isna()]
    assert variances["ci_low"].isna().all() and len(variances) > 0
    assert not variances["exact"].any()
