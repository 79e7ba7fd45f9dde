"""simulate_study: shapes, ranges, caseloads, schedule, missingness, truth, determinism, and
recovery of the published pattern (Nissen-Lie et al., 2013) by a simple two-stage estimator."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alliance.simulate import SimulatedStudy, StudyDesign, simulate_study


@pytest.fixture(scope="module")
def study() -> SimulatedStudy:
    return simulate_study()


def _wai_values(study: SimulatedStudy) -> np.ndarray:
    return study.wai[list(study.design.wai.items)].to_numpy(dtype=float, na_value=np.nan)


def test_tables_have_the_documented_columns_and_sizes(study: SimulatedStudy) -> None:
    qpl = [f"qpl{k}" for k in range(1, 17)]
    wai = [f"wai{k}" for k in range(1, 13)]
    assert list(study.reference_items.columns) == ["respondent", *qpl]
    assert list(study.therapists.columns) == ["therapist", *qpl, "experience"]
    assert list(study.patients.columns) == ["patient", "therapist", "n_sessions", "severity"]
    assert list(study.wai.columns) == ["therapist", "patient", "rater", "session", *wai]
    assert len(study.reference_items) == 4828
    assert len(study.therapists) == 70
    assert len(study.patients) == 227
    assert study.reference_items["respondent"].iloc[[0, -1]].tolist() == ["R0001", "R4828"]
    assert study.therapists["therapist"].iloc[[0, -1]].tolist() == ["T001", "T070"]
    assert study.patients["patient"].iloc[[0, -1]].tolist() == ["P0001", "P0227"]
    assert study.patients["patient"].is_unique and study.therapists["therapist"].is_unique


def test_every_item_lies_inside_its_scale(study: SimulatedStudy) -> None:
    qpl_items = list(study.design.qpl.items)
    for frame in (study.reference_items, study.therapists):
        values = frame[qpl_items].to_numpy()
        assert values.dtype.kind == "i"
        assert values.min() >= 0 and values.max() <= 5
    wai = _wai_values(study)
    observed = wai[~np.isnan(wai)]
    assert np.all((observed >= 1) & (observed <= 5)) and np.all(observed == np.round(observed))
    assert set(study.wai["rater"]) == {"patient", "therapist"}


def test_caseloads_respect_the_design(study: SimulatedStudy) -> None:
    caseloads = study.patients.groupby("therapist").size()
    assert set(caseloads.index) == set(study.therapists["therapist"])
    assert caseloads.sum() == 227
    assert caseloads.min() >= 1 and caseloads.max() <= 9
    assert caseloads.mean() > caseloads.median()


@pytest.mark.parametrize(
    ("n_therapists", "n_patients", "low", "high"),
    [(5, 5, 1, 3), (5, 15, 3, 3), (12, 40, 2, 6), (1, 9, 1, 9)],
)
def test_caseloads_sum_exactly_within_bounds(
    n_therapists: int, n_patients: int, low: int, high: int
) -> None:
    design = StudyDesign.default().updated(
        {
            "sample": {
                "n_therapists": n_therapists,
                "n_patients": n_patients,
                "min_caseload": low,
                "max_caseload": high,
                "n_reference": 50,
            }
        }
    )
    for seed in range(5):
        caseloads = simulate_study(design, seed).patients.groupby("therapist").size()
        assert len(caseloads) == n_therapists and caseloads.sum() == n_patients
        assert caseloads.between(low, high).all()


def test_treatment_lengths_are_open_ended(study: SimulatedStudy) -> None:
    sessions = study.patients["n_sessions"]
    assert 0.35 < sessions.between(20, 40).mean() < 0.65
    assert (sessions < 20).mean() > 0.1 and (sessions > 40).mean() > 0.1
    assert sessions.min() >= 4 and sessions.max() <= 150


def test_wai_is_given_at_every_scheduled_session_of_each_treatment(study: SimulatedStudy) -> None:
    schedule = study.design.schedule
    n_sessions = study.patients.set_index("patient")["n_sessions"]
    for (patient, rater), rows in study.wai.groupby(["patient", "rater"]):
        expected = schedule.sessions_until(int(n_sessions[patient])).tolist()
        assert rows["session"].tolist() == expected, (patient, rater)
    therapist_of = study.patients.set_index("patient")["therapist"]
    assert (study.wai["therapist"] == therapist_of[study.wai["patient"]].to_numpy()).all()
    assert set(study.wai["patient"]) == set(study.patients["patient"])


def test_missing_responses_match_the_design_and_the_counts(study: SimulatedStudy) -> None:
    wai = _wai_values(study)
    all_missing = np.isnan(wai).all(axis=1)
    some_missing = np.isnan(wai).any(axis=1) & ~all_missing
    counts = study.truth["counts"]
    for rater in ("patient", "therapist"):
        mine = (study.wai["rater"] == rater).to_numpy()
        assert 0.05 < all_missing[mine].mean() < 0.15
        assert all_missing[mine].sum() == counts[f"missing_{rater}_administrations"]
    assert 0 < some_missing.sum() < 0.2 * len(wai)
    assert np.isnan(wai[~all_missing]).sum() == counts["missing_items_in_completed_administrations"]
    assert len(wai) == 2 * counts["scheduled_administrations_per_rater"]


def test_alliance_stays_mostly_inside_the_scale(study: SimulatedStudy) -> None:
    wai = _wai_values(study)
    scores = np.nanmean(wai[~np.isnan(wai).all(axis=1)], axis=1)
    frame = study.wai.loc[~np.isnan(wai).all(axis=1), ["rater", "session"]].assign(score=scores)
    first = frame[frame["session"] == 3].groupby("rater")["score"].mean()
    assert 3.65 < first["patient"] < 3.95
    assert 3.3 < first["therapist"] < first["patient"]
    observed = wai[~np.isnan(wai)]
    assert (observed == 5).mean() < 0.25 and (observed == 1).mean() < 0.01


def test_truth_holds_the_parameters_and_true_scores(study: SimulatedStudy) -> None:
    truth = study.truth
    assert truth["seed"] == 2013
    assert StudyDesign.from_dict(truth["parameters"]) == study.design
    scores = pd.DataFrame(truth["therapist_factor_scores"])
    assert scores["therapist"].tolist() == study.therapists["therapist"].tolist()
    assert list(scores.columns[1:]) == ["personal_satisfactions", "personal_burdens"]
    assert abs(scores["personal_satisfactions"].mean()) < 0.4
    assert truth["model_terms"] == [
        "(Intercept)",
        "time",
        "personal_satisfactions",
        "personal_burdens",
        "time:personal_satisfactions",
        "time:personal_burdens",
    ]
    patient, therapist = truth["fixed_effects"]["patient"], truth["fixed_effects"]["therapist"]
    assert patient["time:personal_burdens"] < 0 and patient["time:personal_satisfactions"] == 0.0
    assert (
        therapist["time:personal_satisfactions"] > 0 and therapist["time:personal_burdens"] == 0.0
    )
    assert len(truth["patient_random_effects"]["patient"]) == 227
    assert truth["time"] == {"coding": "log", "definition": "time = ln(session)",
                             "origin": "session-1", "unit": 10.0}


def test_same_seed_same_study_other_seed_other_study(study: SimulatedStudy) -> None:
    again = simulate_study(seed=2013)
    for name in ("reference_items", "therapists", "patients", "wai"):
        pd.testing.assert_frame_equal(getattr(study, name), getattr(again, name))
    assert again.truth == study.truth
    other = simulate_study(seed=2014)
    assert not other.wai.equals(study.wai)
    assert not other.therapists.equals(study.therapists)


def test_reference_sample_size_leaves_the_study_sample_unchanged(study: SimulatedStudy) -> None:
    smaller = simulate_study(StudyDesign.default().updated({"sample": {"n_reference": 300}}))
    assert len(smaller.reference_items) == 300
    for name in ("therapists", "patients", "wai"):
        pd.testing.assert_frame_equal(getattr(study, name), getattr(smaller, name))
    for key in ("therapist_factor_scores", "therapist_random_effects", "patient_random_effects"):
        assert smaller.truth[key] == study.truth[key]


def test_covariate_effects_act_on_the_alliance() -> None:
    base = StudyDesign.default().updated(
        {"missing": {"patient_administration": 0.0, "therapist_administration": 0.0, "item": 0.0}}
    )
    with_effect = base.updated({"alliance": {"patient_rated": {"level": {"severity": -0.8}}}})
    plain, shifted = simulate_study(base), simulate_study(with_effect)
    items = list(base.wai.items)

    def patient_means(result: SimulatedStudy) -> pd.Series:
        rows = result.wai[result.wai["rater"] == "patient"]
        return rows[items].astype(float).mean(axis=1).groupby(rows["patient"]).mean()

    severity = plain.patients.set_index("patient")["severity"]
    change = patient_means(shifted) - patient_means(plain)
    slope = np.polyfit(severity[change.index] - 1.2, change, 1)[0]
    assert -0.9 < slope < -0.6
    therapist_rows = plain.wai["rater"] == "therapist"
    pd.testing.assert_frame_equal(plain.wai[therapist_rows], shifted.wai[therapist_rows])
    # on the mean-score metric the ceiling attenuates the effect a little
    assert -0.8 < shifted.truth["covariate_effects"]["patient"]["severity"] < -0.7


@pytest.mark.parametrize("scale", ["linear"])
def test_other_time_scales(scale: str) -> None:
    design = StudyDesign.default().updated(
        {
            "alliance": {
                "time_coding": scale,
                "patient_rated": {"time": 0.0, "growth": {}},
                "therapist_rated": {"time": 0.0, "growth": {}},
            }
        }
    )
    result = simulate_study(design)
    assert result.truth["time"] == {"coding": scale, "definition": "time = (session - 1) / 10",
                                    "origin": "session-1", "unit": 10.0}
    assert result.truth["fixed_effects"]["patient"]["time:personal_burdens"] == 0.0


# --- recovery of the published pattern -------------------------------------------------------


def estimated_factor_scores(study: SimulatedStudy) -> pd.DataFrame:
    """Unit-weighted means of each factor's primary items, standardised on the reference sample."""
    qpl = study.design.qpl
    loadings = np.abs(qpl.loading_matrix)
    reference = study.reference_items[list(qpl.items)].to_numpy(dtype=float)
    therapists = study.therapists[list(qpl.items)].to_numpy(dtype=float)
    scores = {}
    for index, name in enumerate(qpl.factors):
        keyed = loadings.argmax(axis=1) == index
        norm = reference[:, keyed].mean(axis=1)
        scores[name] = (therapists[:, keyed].mean(axis=1) - norm.mean()) / norm.std()
    return pd.DataFrame(scores, index=study.therapists["therapist"])


def two_stage_growth_effects(study: SimulatedStudy) -> dict[str, pd.DataFrame]:
    """Per-patient OLS slopes of the WAI mean score on time, regressed on factor scores.

    Stage 2 is OLS with cluster-robust (CR1, by therapist) standard errors; returns, per
    rater, ``estimate``, ``std_error``, ``ci_low`` and ``ci_high`` for each factor.
    """
    design = study.design
    values = study.wai[list(design.wai.items)].to_numpy(dtype=float, na_value=np.nan)
    answered = ~np.isnan(values).all(axis=1)
    frame = study.wai.loc[answered, ["therapist", "patient", "rater", "session"]].copy()
    frame["score"] = np.nanmean(values[answered], axis=1)
    frame["time"] = design.alliance.time_of(frame["session"].to_numpy())
    frame["time2"] = frame["time"] ** 2
    frame["product"] = frame["time"] * frame["score"]
    factors = estimated_factor_scores(study)
    results = {}
    for rater, rows in frame.groupby("rater"):
        sums = rows.groupby(["therapist", "patient"])[["time", "score", "time2", "product"]].agg(
            ["sum", "count"]
        )
        n = sums[("time", "count")].to_numpy()
        sx, sy = sums[("time", "sum")].to_numpy(), sums[("score", "sum")].to_numpy()
        sxx, sxy = sums[("time2", "sum")].to_numpy(), sums[("product", "sum")].to_numpy()
        spread = sxx - sx**2 / n
        usable = (n >= 2) & (spread > 1e-12)
        slopes = (sxy - sx * sy / n)[usable] / spread[usable]
        therapists = sums.index.get_level_values("therapist")[usable]
        x = np.column_stack([np.ones(slopes.size), factors.loc[therapists].to_numpy()])
        bread = np.linalg.inv(x.T @ x)
        beta = bread @ x.T @ slopes
        residual = slopes - x @ beta
        meat = np.zeros_like(bread)
        for therapist in np.unique(therapists):
            score = x[therapists == therapist].T @ residual[therapists == therapist]
            meat += np.outer(score, score)
        groups, (count, k) = np.unique(therapists).size, x.shape
        scale = groups / (groups - 1) * (count - 1) / (count - k)
        std_error = np.sqrt(np.diag(bread @ meat @ bread) * scale)
        results[str(rater)] = pd.DataFrame(
            {
                "estimate": beta[1:],
                "std_error": std_error[1:],
                "ci_low": beta[1:] - 1.96 * std_error[1:],
                "ci_high": beta[1:] + 1.96 * std_error[1:],
            },
            index=factors.columns,
        )
    return results


def published_pattern(study: SimulatedStudy) -> dict[str, bool]:
    """Which parts of the published pattern a study shows (95% CIs of the growth effects)."""
    effects = two_stage_growth_effects(study)
    patient, therapist = effects["patient"], effects["therapist"]

    def covers_zero(row: pd.Series) -> bool:
        return bool(row["ci_low"] < 0 < row["ci_high"])

    return {
        "burdens_slow_patient_rated": bool(patient.loc["personal_burdens", "ci_high"] < 0),
        "satisfactions_speed_therapist_rated": bool(
            therapist.loc["personal_satisfactions", "ci_low"] > 0
        ),
        "no_satisfactions_patient_rated": covers_zero(patient.loc["personal_satisfactions"]),
        "no_burdens_therapist_rated": covers_zero(therapist.loc["personal_burdens"]),
    }


def test_default_seed_shows_the_published_pattern(study: SimulatedStudy) -> None:
    assert published_pattern(study) == dict.fromkeys(
        [
            "burdens_slow_patient_rated",
            "satisfactions_speed_therapist_rated",
            "no_satisfactions_patient_rated",
            "no_burdens_therapist_rated",
        ],
        True,
    )


def test_estimator_finds_no_growth_effects_when_there_are_none() -> None:
    null = StudyDesign.default().updated(
        {
            "alliance": {
                "patient_rated": {"growth": {}},
                "therapist_rated": {"growth": {}},
            }
        }
    )
    shown = published_pattern(simulate_study(null))
    assert not shown["burdens_slow_patient_rated"]
    assert not shown["satisfactions_speed_therapist_rated"]


@pytest.mark.slow
def test_default_design_recovers_the_published_pattern_in_most_of_20_seeds() -> None:
    seeds = range(2013, 2033)
    shown = pd.DataFrame([published_pattern(simulate_study(seed=seed)) for seed in seeds])
    found = shown.sum()
    assert found["burdens_slow_patient_rated"] >= 16, found
    assert found["satisfactions_speed_therapist_rated"] >= 16, found
    assert found["no_satisfactions_patient_rated"] >= 16, found
    assert found["no_burdens_therapist_rated"] >= 16, found
