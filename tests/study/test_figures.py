"""The data of the diagnostic figures: R's qqnorm/qqline, bounded sizes, a reproducible sample."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from alliance.mixed import fit
from alliance.study import StudyResults
from alliance.study.figures import (
    HISTOGRAM_BINS,
    MAX_QQ,
    MAX_SCATTER,
    SAMPLE_PATIENTS,
    SAMPLE_THERAPISTS,
    TAIL_POINTS,
    fitted_residual_data,
    individual_trajectories,
    model_diagnostics,
    normal_qq_data,
)

REFERENCE = Path(__file__).parents[1] / "reference"
CASES = {case["case"]: case for case in json.loads(
    (REFERENCE / "residual_diagnostics.json").read_text(encoding="utf-8"))["cases"]}
#: Residuals, modes and their quantile lines agree with lme4's to this fraction of the
#: response's SD (measured: at most 1.2e-4 on alliance_sim, 3e-6 on sleepstudy; the two
#: optimizers stop at slightly different points of a flat optimum).
FIT_TOLERANCE = 2e-4


def assert_qq(ours: dict[str, Any], theirs: dict[str, Any], atol: float) -> None:
    assert ours["n"] == theirs["n"] and not ours["thinned"]
    # the plotting positions are exact functions of n
    np.testing.assert_allclose(ours["theoretical"], theirs["theoretical"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours["sample"], theirs["sample"], rtol=0, atol=atol)
    for key in ("intercept", "slope"):
        assert ours["line"][key] == pytest.approx(theirs["line"][key], abs=atol)


@pytest.mark.parametrize("case", ["alliance_sim_corr", "sleepstudy_corr"])
def test_diagnostics_match_lme4_and_qqnorm(case: str) -> None:
    reference = CASES[case]
    data = pd.read_csv(REFERENCE / reference["data"])
    result = fit(reference["formula"], data)
    scale = float(np.std(data[reference["formula"].split(" ~")[0]]))
    ours = model_diagnostics(result)
    assert ours["n_obs"] == reference["n_obs"]
    assert ours["sigma"] == pytest.approx(reference["sigma"], rel=FIT_TOLERANCE)
    residual = next(entry for entry in ours["qq"] if entry["quantity"] == "residual")
    assert_qq(residual, reference["residual"], FIT_TOLERANCE * scale)
    fitted = np.asarray(result.fitted)
    assert fitted.sum() == pytest.approx(reference["fitted_sum"], rel=1e-8)
    assert (fitted**2).sum() == pytest.approx(reference["fitted_sum_of_squares"], rel=1e-6)
    modes = {(entry["level"], entry["term"]): entry for entry in ours["qq"][1:]}
    assert len(modes) == len(reference["random"])
    for entry in reference["random"]:
        level = entry["level"].split(":")[0]
        assert_qq(modes[(level, entry["term"])], entry, FIT_TOLERANCE * scale)


def test_small_samples_use_ppoints_three_eighths() -> None:
    reference = CASES["alliance_sim_corr"]["small_sample"]
    # the first 8 residuals of R's fit: their order statistics are R's sorted sample
    ours = normal_qq_data(np.asarray(reference["sample"])[::-1])
    assert_qq(ours, reference, 1e-15)


def test_many_values_are_thinned_onto_the_full_curve() -> None:
    values = np.random.default_rng(3).standard_t(4, size=250_000)
    thinned = normal_qq_data(values)
    assert thinned["thinned"] and thinned["n"] == len(values)
    assert len(thinned["sample"]) == len(thinned["theoretical"]) == MAX_QQ
    ordered = np.sort(values)
    # every tail value is kept, the extremes included
    assert thinned["sample"][:TAIL_POINTS] == ordered[:TAIL_POINTS].tolist()
    assert thinned["sample"][-TAIL_POINTS:] == ordered[-TAIL_POINTS:].tolist()
    # kept points are the full plot's points at their ranks
    ranks = np.searchsorted(ordered, thinned["sample"])
    a = 0.5
    full = np.asarray(thinned["theoretical"])
    from scipy import stats

    np.testing.assert_allclose(full, stats.norm.ppf((ranks + 1 - a) / (len(values) + 1 - 2 * a)),
                               atol=1e-12)
    # the line comes from all values, not from the kept ones
    q1, q3 = np.quantile(values, [0.25, 0.75])
    assert thinned["line"]["slope"] == pytest.approx((q3 - q1) / (2 * stats.norm.ppf(0.75)))


def test_residual_plot_data_are_points_then_a_histogram() -> None:
    rng = np.random.default_rng(1)
    few = fitted_residual_data(rng.normal(size=MAX_SCATTER), rng.normal(size=MAX_SCATTER))
    assert few["kind"] == "points" and len(few["fitted"]) == MAX_SCATTER
    n = 300_000
    fitted, residual = rng.normal(4, 0.5, n), rng.normal(0, 0.3, n)
    many = fitted_residual_data(fitted, residual)
    assert many["kind"] == "histogram" and many["n"] == n
    counts = np.asarray(many["counts"])
    assert counts.shape == HISTOGRAM_BINS and counts.sum() == n
    assert len(many["fitted_edges"]) == HISTOGRAM_BINS[0] + 1
    assert many["fitted_edges"][0] == fitted.min() and many["residual_edges"][-1] == residual.max()
    # bounded: a few thousand numbers, whatever n
    assert len(json.dumps(many)) < 100_000
    trend = many["trend"]
    assert len(trend["fitted"]) == 20 and all(abs(value) < 0.02 for value in trend["residual"])
    assert trend["fitted"] == sorted(trend["fitted"])


def test_trend_of_a_few_rows_has_fewer_bins() -> None:
    data = fitted_residual_data(np.arange(35.0), np.ones(35))
    assert len(data["trend"]["fitted"]) == 3 and data["trend"]["residual"] == [1.0, 1.0, 1.0]


def test_individual_trajectories_are_a_reproducible_unidentified_sample(
    small_results: StudyResults,
) -> None:
    analysis = small_results.analysis
    first = individual_trajectories(analysis, 11)
    assert first == individual_trajectories(analysis, 11)
    assert first != individual_trajectories(analysis, 12)
    frame = analysis.frame
    for rater, data in first.items():
        rows = frame[frame["rater"] == rater]
        assert data["n_patients"] == rows["patient"].nunique()
        assert data["n_therapists"] == rows["therapist"].nunique()
        points = pd.DataFrame(data["points"])
        assert data["sampled_therapists"] == min(SAMPLE_THERAPISTS, data["n_therapists"])
        assert points["therapist"].nunique() == data["sampled_therapists"]
        assert data["sampled_patients"] == points["patient"].nunique() <= SAMPLE_PATIENTS
        # numbers, not identifiers
        assert points["patient"].tolist() == sorted(points["patient"])
        assert set(points["patient"]) == set(range(1, data["sampled_patients"] + 1))
        assert not set(points["therapist"].astype(str)) & set(frame["therapist"].astype(str))
        # every administration of a sampled patient, in session order, as observed
        observed = {tuple(map(tuple, part.sort_values("session")[["session", "alliance"]]
                              .to_numpy())) for _, part in rows.groupby("patient")}
        for _, part in points.groupby("patient"):
            assert part["session"].is_monotonic_increasing
            assert tuple(map(tuple, part[["session", "alliance"]].to_numpy())) in observed
