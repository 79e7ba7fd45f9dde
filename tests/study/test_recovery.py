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


def _refit_on_truth_axis(results: StudyResults, small_study: Path, rater: str | None):
    from alliance.study import load_config
    from alliance.study.joint import fit_joint
    from alliance.study.models import fit_growth

    models = load_config(small_study).models
    truth_axis = results.analysis.timed("session-1", 10.0)
    coding = results.time_coding.chosen
    if rater is None:
        return fit_joint(truth_axis, coding, models).fit
    return fit_growth(truth_axis, rater, coding, models).fit


@pytest.mark.parametrize("model", ["patient", "joint"])
def test_estimates_on_the_truth_axis_equal_a_refit_there(small_results: StudyResults,
                                                        small_study: Path, model: str) -> None:
    """Reading the truth-axis estimates off the fit (a reparameterisation) gives the numbers
    of fitting the model again on that axis, intervals and covariance matrices included."""
    from alliance.study.recovery import estimates, retimed_estimates

    analysis = small_results.analysis
    fit = small_results.joint.fit if model == "joint" else small_results.growth[model].fit
    shift, scale = analysis.time_axis.affine_map(analysis.timed("session-1", 10.0).time_axis,
                                                small_results.time_coding.chosen)
    assert (shift, scale) != (0.0, 1.0)  # the check is not vacuous: the axes differ
    read = retimed_estimates(fit, shift, scale)
    assert read is not None
    refit = estimates(_refit_on_truth_axis(small_results, small_study,
                                           None if model == "joint" else model))
    left = read.fixed.set_index("term")
    right = refit.fixed.set_index("term").loc[left.index]
    spread = float(right["ci_high"].sub(right["ci_low"]).abs().max())
    for column in ("estimate", "ci_low", "ci_high"):
        np.testing.assert_allclose(left[column], right[column], rtol=0, atol=1e-4 * spread)
    moved = np.abs(left["estimate"].to_numpy()
                   - fit.fixed_effects.set_index("term").loc[left.index, "estimate"].to_numpy())
    assert moved.max() > 100 * 1e-4 * spread  # the intercepts and level effects did move
    for level, matrix in refit.covariances.items():
        np.testing.assert_allclose(read.covariances[level].to_numpy(), matrix.to_numpy(),
                                   rtol=2e-3, atol=1e-6 * float(np.abs(matrix.to_numpy()).max()))
    assert read.residual_variance == fit.residual_variance


def test_models_that_are_no_reparameterisation_are_refitted(small_results: StudyResults) -> None:
    from alliance.mixed import fit
    from alliance.study.recovery import retimed_estimates

    frame = small_results.analysis.rater_frame("patient", small_results.time_coding.chosen)
    uncorrelated = fit("alliance ~ time + (time || therapist/patient)", frame)
    assert retimed_estimates(uncorrelated, 1.1, 1.0) is None
    correlated = fit("alliance ~ time + (time | therapist/patient)", frame)
    assert retimed_estimates(correlated, 1.1, 1.0) is not None
    assert retimed_estimates(fit("alliance ~ time + (time | therapist/patient)", frame,
                                 df_method="containment"), 1.1, 1.0) is None
    no_main_term = fit("alliance ~ time + time:severity + (time | therapist/patient)", frame)
    assert retimed_estimates(no_main_term, 1.1, 1.0) is None
