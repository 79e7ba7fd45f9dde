"""The output folder is written completely or not at all, and never over inputs."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from alliance.app import analyze
from alliance.app.outputs import write_outputs
from alliance.errors import SpecificationError
from alliance.io.output import MARKER_FILE, staged_folder
from alliance.study import StudyResults
from alliance.study.output import (
    analysis_export,
    pseudonyms,
    therapist_scores_export,
)


def digest(folder: Path) -> dict[str, str]:
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.iterdir()) if path.is_file()}


@pytest.fixture
def reports(monkeypatch: pytest.MonkeyPatch) -> list[tuple[dict[str, Any], Path]]:
    """Calls of the report writer (replaced: the report layer is tested on its own)."""
    calls: list[tuple[dict[str, Any], Path]] = []
    import alliance.report

    # write_outputs imports the report layer when it runs: replace the function there
    monkeypatch.setattr(alliance.report, "write_report",
                        lambda results, folder, drawn_elsewhere=None: calls.append(
                            (results, folder)))
    return calls


def test_outputs_are_written(small_results: StudyResults, tmp_path: Path,
                             reports: list[tuple[dict[str, Any], Path]]) -> None:
    out = tmp_path / "out"
    with staged_folder(out, "analyze") as folder:
        write_outputs(small_results, folder, "seed = 5\n")
        assert not out.exists()
    assert len(reports) == 1 and reports[0][1] == folder
    saved = json.loads((out / "results.json").read_text())
    outputs = saved.pop("outputs")
    assert reports[0][0] == saved
    names = {path.name for path in out.iterdir()}
    assert {"results.json", "tables", "data", "config.toml", "versions.json", "seed.txt",
            MARKER_FILE} <= names
    # results.json lists every file of the folder but the hidden marker
    assert outputs == sorted(path.relative_to(out).as_posix() for path in out.rglob("*")
                             if path.is_file() and path.name != MARKER_FILE)
    assert {"data/analysis.csv", "data/therapist_factor_scores.csv", "results.json",
            "tables/fixed_effects.csv"} <= set(outputs)
    assert {path.stem for path in (out / "tables").iterdir()} == {
        "factor_loadings", "reliability", "variance_components", "icc", "time_coding",
        "fixed_effects", "joint_tests", "recovery", "model_comparison",
    }
    assert (out / "seed.txt").read_text() == "2013\n"
    versions = json.loads((out / "versions.json").read_text())
    assert {"alliance", "python", "numpy", "pandas"} <= set(versions)
    payload = json.loads((out / "results.json").read_text())
    assert payload["meta"]["seed"] == 2013
    assert not list(tmp_path.glob(".out.partial-*"))


def test_analyze_never_touches_its_inputs(
    study_copy: Path, reports: list[tuple[dict[str, Any], Path]]
) -> None:
    before = digest(study_copy.parent)
    with pytest.raises(SpecificationError, match="contains the input"):
        analyze(study_copy, out=study_copy.parent, overwrite=True)
    out = study_copy.parent.parent / "report"
    run = analyze(study_copy, out=out)
    assert digest(study_copy.parent) == before
    assert run.folder == out and (out / "results.json").is_file()
    saved = (out / "config.toml").read_text(encoding="utf-8")
    assert str(study_copy.parent) not in saved and 'file = "../study/wai.csv"' in saved


def test_outputs_list_the_report_files(small_results: StudyResults, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with staged_folder(out, "analyze") as folder:
        write_outputs(small_results, folder, "seed = 5\n")
    outputs = json.loads((out / "results.json").read_text())["outputs"]
    assert {"report.html", "report.docx", "figures/individual-trajectories.svg",
            "figures/individual-trajectories.png", "figures/residual-diagnostics.svg",
            "figures/random-effects-qq.png", "data/analysis.csv",
            "data/therapist_factor_scores.csv"} <= set(outputs)
    assert all((out / name).is_file() for name in outputs)


def identifiers(results: StudyResults) -> tuple[set[str], set[str]]:
    """The real therapist and patient ids of the study."""
    frame = results.analysis.frame
    therapists = {*frame["therapist"].astype(str), *results.factors.scores.index.astype(str)}
    return therapists, set(frame["patient"].astype(str))


def test_analysis_export_is_the_model_data_under_pseudonyms(small_results: StudyResults) -> None:
    export = analysis_export(small_results)
    frame = small_results.analysis.frame
    summary = small_results.data_summary
    # one row per scored administration the models used
    assert len(export) == len(frame) == sum(summary["n_administrations"].values())
    assert list(export.columns) == [
        "therapist", "patient", "rater", "session", "time", "time_log", "time_linear",
        "alliance", "personal_satisfactions", "personal_burdens", "experience", "severity",
    ]
    therapists, patients = identifiers(small_results)
    assert not set(export["therapist"]) & therapists
    assert not set(export["patient"]) & patients
    assert export["therapist"].str.fullmatch(r"th\d{3}").all()
    assert export["patient"].str.fullmatch(r"pt\d{3}").all()
    # the model data, each id replaced by its pseudonym
    seed = small_results.meta["seed"]
    expected = frame.assign(
        therapist=frame["therapist"].map(pseudonyms(pd.concat(
            [frame["therapist"], small_results.factors.scores.index.to_series()]), "th", seed)),
        patient=frame["patient"].map(pseudonyms(frame["patient"], "pt", seed)),
    ).sort_values(["therapist", "patient", "rater", "session"]).reset_index(drop=True)
    for column in ("therapist", "patient", "rater", "session", "alliance",
                   *small_results.analysis.predictors):
        assert export[column].tolist() == expected[column].tolist(), column
    coding = small_results.meta["time_coding"]
    np.testing.assert_allclose(export["time"], export[f"time_{coding}"])
    # the default origin: time 0 at the first assessment
    first = export["session"].min()
    np.testing.assert_allclose(export["time_log"], np.log(export["session"] / first))
    np.testing.assert_allclose(export["time_linear"], (export["session"] - first) / 10)
    # centred as the models used them: therapist-level over therapists, patient-level over
    # patients
    for name, level in (("personal_burdens", "therapist"), ("experience", "therapist"),
                        ("severity", "patient")):
        assert abs(export.drop_duplicates(level)[name].mean()) < 1e-12, name


def test_therapist_scores_share_the_pseudonyms(small_results: StudyResults) -> None:
    scores = therapist_scores_export(small_results)
    export = analysis_export(small_results)
    real = small_results.factors.scores
    assert len(scores) == len(real) and scores["therapist"].is_unique
    assert set(export["therapist"]) <= set(scores["therapist"])
    assert set(scores.loc[scores["in_models"], "therapist"]) == set(export["therapist"])
    joined = export.drop_duplicates("therapist").merge(scores, on="therapist",
                                                       suffixes=("", "_export"))
    np.testing.assert_allclose(joined["personal_burdens"], joined["personal_burdens_centred"])
    centre = small_results.analysis.centres["personal_burdens"]
    np.testing.assert_allclose(scores["personal_burdens_centred"],
                               scores["personal_burdens"] - centre)
    assert sorted(scores["personal_burdens"].dropna()) == pytest.approx(
        sorted(real["personal_burdens"].dropna()))


def test_identifiers_only_when_enabled(small_results: StudyResults) -> None:
    config = {**small_results.meta["config"], "report": {"show_identifiers": True}}
    shown = replace(small_results, meta={**small_results.meta, "config": config})
    therapists, patients = identifiers(small_results)
    export = analysis_export(shown)
    assert set(export["therapist"]) <= therapists
    assert not set(export["patient"]) & patients  # patients never
    scores = therapist_scores_export(shown)
    assert set(scores["therapist"]) == set(small_results.factors.scores.index.astype(str))
    hidden = therapist_scores_export(small_results)
    assert (scores.drop(columns="therapist").sort_values("personal_burdens").reset_index(drop=True)
            .equals(hidden.drop(columns="therapist").sort_values("personal_burdens")
                    .reset_index(drop=True)))


def test_pseudonyms_are_seeded_and_hide_the_order() -> None:
    labels = pd.Series([f"T{i:03d}" for i in range(1, 41)] * 2)
    first = pseudonyms(labels, "th", 7)
    assert first == pseudonyms(labels.sample(frac=1.0, random_state=1), "th", 7)
    assert first != pseudonyms(labels, "th", 8)
    assert sorted(first.values()) == [f"th{i:03d}" for i in range(1, 41)]
    assert [first[f"T{i:03d}"] for i in range(1, 41)] != sorted(first.values())
    assert len(pseudonyms(pd.Series(range(1500)), "pt", 1)["7"]) == len("pt0001")
