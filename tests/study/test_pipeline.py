"""run_study: progress through every step, no printing, every exclusion counted."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from alliance.errors import DataError
from alliance.simulate import StudyDesign, simulate_study, write_study
from alliance.study import STEPS, StudyResults, load_config, run_study
from alliance.study.models import fit_growth


def test_progress_and_silence(study_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    calls: list[tuple[str, int, int]] = []
    results = run_study(load_config(study_copy), progress=lambda *args: calls.append(args))
    assert [call[0] for call in calls] == [*STEPS, "Done"]
    assert [call[1] for call in calls] == list(range(len(STEPS) + 1))
    assert {call[2] for call in calls} == {len(STEPS)}
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    assert all(": " in warning for warning in results.meta["warnings"])


def test_every_model_warning_is_in_meta(small_results: StudyResults) -> None:
    fits = [("Null models", "null model", m.fit) for m in small_results.null.values()]
    fits += [("Growth models", "growth model", m.fit) for m in small_results.growth.values()]
    fits.append(("Joint model", "joint model", small_results.joint.fit))
    expected = [(step, label, warning) for step, label, fit in fits for warning in fit.warnings]
    assert expected, "the small study has singular fits"
    for step, label, warning in expected:
        assert any(entry.startswith(f"{step}: {label}") and entry.endswith(warning)
                   for entry in small_results.meta["warnings"])


def test_exclusions_add_up(small_results: StudyResults) -> None:
    summary = small_results.data_summary
    scoring = small_results.scoring
    rows = {rater: len(small_results.scoring.wai[rater].scores) for rater in ("patient",
                                                                               "therapist")}
    excluded = sum(entry["rows"] for entry in summary["excluded"])
    used = sum(summary["n_administrations"].values())
    assert used + excluded == sum(rows.values())
    for rater in ("patient", "therapist"):
        assert scoring.n_scored(rater) + scoring.n_missing_score(rater) == rows[rater]
        assert scoring.n_prorated(rater) > 0
    assert summary["sessions"][0] == 3
    assert summary["n_reference_therapists"] == 500


def test_the_published_pattern_in_the_small_study(small_results: StudyResults) -> None:
    growth = {rater: model.fit.fixed_effects.set_index("term")
              for rater, model in small_results.growth.items()}
    assert growth["patient"].loc["time:personal_burdens", "estimate"] < 0
    assert growth["therapist"].loc["time:personal_satisfactions", "estimate"] > 0


def test_a_side_by_side_layout_and_other_choices(study_copy: Path,
                                                 small_results: StudyResults) -> None:
    """Patient and therapist items in one row (prefixes), no patients file, no covariates,
    polychoric correlations, containment df, a fixed linear time coding."""
    folder = study_copy.parent
    wai = pd.read_csv(folder / "wai.csv")
    items = [f"wai{k}" for k in range(1, 13)]
    wide = wai.pivot(index=["therapist", "patient", "session"], columns="rater", values=items)
    wide.columns = [f"{'pt' if rater == 'patient' else 'th'}_{item}" for item, rater in wide.columns]
    wide.reset_index().rename(columns={"session": "Session"}).to_csv(folder / "wide.csv",
                                                                     index=False)
    config = f"""
seed = 2013
[reference]
file = "reference_qpl.csv"
[therapists]
file = "therapists.csv"
[wai]
file = "wide.csv"
session_column = "Session"
[wai.patient]
item_prefix = "pt_"
[wai.therapist]
item_prefix = "th_"
[factors]
correlation = "polychoric"
satisfaction_items = {[f"qpl{k}" for k in range(1, 17, 2)]}
burden_items = {[f"qpl{k}" for k in range(2, 17, 2)]}
[models]
time_coding = "linear"
df_method = "containment"
"""
    (folder / "wide.toml").write_text(config.replace("'", '"'), encoding="utf-8")
    results = run_study(load_config(folder / "wide.toml"))
    assert results.meta["time_coding"] == "linear"
    assert results.recovery is None
    assert results.analysis.predictors == ("personal_satisfactions", "personal_burdens")
    assert results.growth["patient"].fit.df_method == "containment"
    assert results.factors.efa.correlation_kind == "polychoric"
    key = ["rater", "patient", "session"]
    mine = results.scoring.alliance.sort_values(key).reset_index(drop=True)
    long = small_results.scoring.alliance.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(mine, long)


def test_recovery_is_on_the_truths_time_scale(study_copy: Path) -> None:
    """With a fixed linear time coding, recovery refits the models on the truth's log scale,
    with the truth's origin (session 1)."""
    text = study_copy.read_text(encoding="utf-8")
    study_copy.write_text(text.replace('time_coding = "auto"', 'time_coding = "linear"'),
                          encoding="utf-8")
    config = load_config(study_copy)
    results = run_study(config)
    assert results.meta["time_coding"] == "linear"
    recovery = results.recovery
    assert recovery is not None
    row = recovery.set_index(["model", "parameter"]).loc[("growth (patient)", "time")]
    truth_time = results.analysis.timed("session-1", 10.0)
    refit = fit_growth(truth_time, "patient", "log", config.models).fit.fixed_effects
    assert row["estimate"] == refit.set_index("term").loc["time", "estimate"]
    intercept = recovery.set_index(["model", "parameter"]).loc[("growth (patient)",
                                                                "(Intercept)")]
    assert intercept["estimate"] == refit.set_index("term").loc["(Intercept)", "estimate"]
    assert row["estimate"] != results.growth["patient"].fit.fixed_effects.set_index(
        "term").loc["time", "estimate"]


def test_a_truth_file_of_other_data_stops_the_run(study_copy: Path, tmp_path: Path) -> None:
    small = StudyDesign.default().updated({"sample": {"n_reference": 500, "n_therapists": 24,
                                                      "n_patients": 80}})
    other = write_study(simulate_study(small, seed=99), tmp_path / "other")
    truth = json.loads((other / "truth.json").read_text(encoding="utf-8"))
    (study_copy.parent / "truth.json").write_text(json.dumps(truth), encoding="utf-8")
    with pytest.raises(DataError, match=r"truth file \(seed 99\) belongs to "
                       "other data: its reference_qpl.csv had 500 rows"):
        run_study(load_config(study_copy))
    del truth["data_files"]
    (study_copy.parent / "truth.json").write_text(json.dumps(truth), encoding="utf-8")
    with pytest.raises(DataError, match="does not record the data files it belongs to"):
        run_study(load_config(study_copy))
