"""run_study: progress through every step, no printing, every exclusion counted."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

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
    polychoric correlations, containment df, a fixed linear time coding (with recovery on the
    truth's log scale)."""
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
[simulation]
truth = "truth.json"
"""
    (folder / "wide.toml").write_text(config.replace("'", '"'), encoding="utf-8")
    results = run_study(load_config(folder / "wide.toml"))
    assert results.meta["time_coding"] == "linear"
    # recovery is computed on the truth's time scale (log), refitting the models
    recovery = results.recovery
    assert recovery is not None
    row = recovery.set_index(["model", "parameter"]).loc[("growth (patient)", "time")]
    refit = fit_growth(results.analysis, "patient", "log", load_config(folder / "wide.toml")
                       .models).fit.fixed_effects.set_index("term")
    assert row["estimate"] == refit.loc["time", "estimate"]
    assert row["estimate"] != results.growth["patient"].fit.fixed_effects.set_index(
        "term").loc["time", "estimate"]
    assert results.analysis.predictors == ("personal_satisfactions", "personal_burdens")
    assert results.growth["patient"].fit.df_method == "containment"
    assert results.factors.efa.correlation_kind == "polychoric"
    key = ["rater", "patient", "session"]
    mine = results.scoring.alliance.sort_values(key).reset_index(drop=True)
    long = small_results.scoring.alliance.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(mine, long)
