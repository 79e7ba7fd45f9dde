"""Time codings, centring and exclusions, variance shares and reliabilities of random effects."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alliance.errors import BoundaryWarning
from alliance.mixed import fit
from alliance.simulate.time_codings import TimeAxis
from alliance.study import FACTOR_NAMES, StudyResults, load_config, run_study
from alliance.study.config import ModelConfig
from alliance.study.models import (
    coefficient_reliability,
    compare_time_codings,
)


def test_the_model_frames_code_time_by_the_registry(small_results: StudyResults) -> None:
    analysis = small_results.analysis
    first = float(analysis.frame["session"].min())
    assert analysis.time_axis == TimeAxis("first-assessment", first, 10.0)
    frame = analysis.rater_frame("patient", "log")
    np.testing.assert_allclose(frame["time"], np.log(frame["session"] / first))
    frame = analysis.timed("session-1", 10.0).joint_frame("linear")
    np.testing.assert_allclose(frame["time"], (frame["session"] - 1) / 10)
    comparison = small_results.time_coding
    assert comparison.axis == analysis.time_axis
    assert comparison.axis.definition("log") == f"time = ln(session / {first:g})"
    assert small_results.meta["time_definition"] == comparison.axis.definition(comparison.chosen)


def test_reliability_equals_hlm_formula_for_random_intercepts() -> None:
    """Two-level random intercepts: mean of tau / (tau + sigma^2 / n_j) (Raudenbush & Bryk)."""
    rng = np.random.default_rng(11)
    sizes = rng.integers(2, 9, size=40)
    group = np.repeat(np.arange(40), sizes)
    y = 1.0 + rng.normal(0, 1.0, 40)[group] + rng.normal(0, 1.0, group.size)
    data = pd.DataFrame({"y": y, "therapist": [f"T{g}" for g in group]})
    result = fit("y ~ 1 + (1 | therapist)", data)
    tau = float(result.covariance_matrices()["therapist"].iloc[0, 0])
    assert tau > 0.5
    sigma2 = result.residual_variance
    expected = np.mean(tau / (tau + sigma2 / sizes))
    assert coefficient_reliability(result)["therapist_intercept"] == pytest.approx(expected,
                                                                                   rel=1e-8)


def test_variance_shares_follow_powerlmm(small_results: StudyResults) -> None:
    for rater, model in small_results.null.items():
        table = model.fit.random_effects
        variances = {
            (group, term): float(vcov)
            for group, term, second, vcov in table[["group", "term1", "term2", "vcov"]]
            .itertuples(index=False)
            if second is None or second != second
        }
        t0, t1 = variances[("therapist", "(Intercept)")], variances[("therapist", "time")]
        p0 = variances[("patient:therapist", "(Intercept)")]
        p1 = variances[("patient:therapist", "time")]
        residual = model.fit.residual_variance
        icc = model.icc()
        assert icc["therapist_intercept"] == pytest.approx(t0 / (t0 + p0 + residual)), rater
        assert icc["patient_intercept"] == pytest.approx((t0 + p0) / (t0 + p0 + residual))
        assert icc["therapist_slope_share"] == pytest.approx(t1 / (t1 + p1))
        intervals = model.intervals
        assert intervals is not None and intervals.n_boot == 1000 and intervals.n_failed == 0
        assert intervals.seed == small_results.meta["seed"] + list(small_results.null).index(rater)
        for row in intervals.shares.itertuples():
            assert row.estimate == pytest.approx(icc[row.quantity])
            assert row.ci_low <= row.estimate <= row.ci_high, (rater, row)
            assert (row.note != "") == (row.boundary is not None)
        for row in intervals.components.itertuples():
            assert row.ci_low <= row.estimate <= row.ci_high, (rater, row)
        reliability = model.reliability()
        assert set(reliability) == {"therapist_intercept", "therapist_slope",
                                    "patient_intercept", "patient_slope"}
        assert all(0 <= value <= 1 for value in reliability.values() if not np.isnan(value))


def test_predictors_are_grand_mean_centred(small_results: StudyResults) -> None:
    frame = small_results.analysis.frame
    therapists = frame.drop_duplicates("therapist")
    patients = frame.drop_duplicates("patient")
    for name in (*FACTOR_NAMES, "experience"):
        assert therapists[name].mean() == pytest.approx(0, abs=1e-12)
    assert patients["severity"].mean() == pytest.approx(0, abs=1e-12)
    assert small_results.analysis.predictors == (*FACTOR_NAMES, "experience", "severity")


def test_time_coding_is_chosen_by_summed_aic(small_results: StudyResults) -> None:
    table = small_results.time_coding.to_frame()
    totals = table.groupby("coding")["aic"].sum()
    assert small_results.time_coding.chosen == totals.idxmin()
    assert set(table.loc[table["chosen"], "coding"]) == {totals.idxmin()}
    assert small_results.meta["time_coding"] == totals.idxmin()


def test_a_fixed_time_coding_is_kept(small_results: StudyResults) -> None:
    config = ModelConfig(time_coding="linear", time_codings=("log", "linear"))
    # on this small study a null model's slope variance is at the boundary: said, not hidden
    with pytest.warns(BoundaryWarning):
        comparison = compare_time_codings(small_results.analysis, config)
    assert any(result.singular for result in comparison.fits.values())
    assert comparison.chosen == "linear"
    assert len(comparison.to_frame()) == 4


def test_therapists_without_factor_scores_are_excluded_and_counted(study_copy: Path) -> None:
    therapists = pd.read_csv(study_copy.parent / "therapists.csv")
    therapists.loc[therapists["therapist"] == "T004", "qpl5"] = np.nan
    therapists.to_csv(study_copy.parent / "therapists.csv", index=False)
    # edited data no longer belong to the simulation's truth file
    text = study_copy.read_text(encoding="utf-8")
    study_copy.write_text(text.replace('[simulation]\ntruth = "truth.json"', ""),
                          encoding="utf-8")
    results = run_study(load_config(study_copy))
    assert results.recovery is None
    entries = [e for e in results.data_summary["excluded"] if e["step"] == "factor_scores"]
    scored = results.scoring.alliance
    assert entries == [{
        "step": "factor_scores",
        "rows": int((scored["therapist"] == "T004").sum()),
        "reason": "administrations of 1 therapist(s) without factor scores (QPL items skipped)",
    }]
    assert "T004" not in set(results.analysis.frame["therapist"])
    assert results.data_summary["n_therapists"] == 23
