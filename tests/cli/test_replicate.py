"""``alliance replicate``: the whole study on the embedded simulated study, into a new folder."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from alliance.app import StudyRun
from alliance.cli.app import app
from alliance.cli.common import EXIT_SPECIFICATION_ERROR

runner = CliRunner()



def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, " ".join(result.output.split())


def test_an_existing_folder_is_refused_before_anything_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("alliance.app.runs.simulate_study", None)  # would fail if called
    (tmp_path / "old.txt").write_text("keep", encoding="utf-8")
    code, output = invoke("replicate", "--out", str(tmp_path))
    assert code == EXIT_SPECIFICATION_ERROR
    assert f"output folder {tmp_path} exists and is not empty (old.txt)" in output
    assert "--overwrite" in output
    assert [p.name for p in tmp_path.iterdir()] == ["old.txt"]


def test_options_reach_the_study(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def fake(out: Path, seed: int, overwrite: bool, progress: Any) -> StudyRun:
        seen.update(out=out, seed=seed, overwrite=overwrite)
        progress("Null models", 4, 9)
        raise typer.Exit(0)

    monkeypatch.setattr("alliance.app.replicate", fake)
    code, _ = invoke("replicate", "--out", str(tmp_path / "r"), "--seed", "7", "--overwrite")
    assert code == 0
    assert seen == {"out": tmp_path / "r", "seed": 7, "overwrite": True}


@pytest.fixture(scope="module")
def replicated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("replicate") / "alliance-report"
    code, output = invoke("replicate", "--out", str(out))
    assert code == 0, output
    assert f"Study written to {out}" in output
    return out


def effect(payload: dict[str, Any], rater: str, term: str) -> dict[str, Any]:
    rows = payload["models"]["growth"][rater]["fit"]["fixed_effects"]
    return next(row for row in rows if row["term"] == term)


@pytest.mark.slow
def test_the_folder_holds_everything(replicated: Path) -> None:
    names = {path.name for path in replicated.iterdir()}
    assert {"report.html", "results.json", "figures", "tables", "data", "config.toml",
            "versions.json", "seed.txt", ".alliance-output"} <= names
    assert {path.name for path in (replicated / "data").iterdir()} == {
        "reference_qpl.csv", "therapists.csv", "patients.csv", "wai.csv", "truth.json",
        "design.toml", ".alliance-output", "analysis.csv", "therapist_factor_scores.csv",
    }
    assert (replicated / "report.docx").is_file()
    assert any((replicated / "figures").iterdir())
    assert (replicated / "tables" / "recovery.csv").is_file()
    assert (replicated / "seed.txt").read_text() == "2013\n"
    assert not list(replicated.parent.glob(".*partial*"))
    payload = json.loads((replicated / "results.json").read_text())
    assert set(payload) == {"meta", "data_summary", "scoring", "efa", "therapist_factors",
                            "models", "recovery", "findings", "figures", "outputs",
                            "instruments"}
    assert {"report.docx", "data/analysis.csv", "data/wai.csv",
            "figures/residual-diagnostics.svg"} <= set(payload["outputs"])
    assert payload["meta"]["simulated"] is True and payload["meta"]["seed"] == 2013
    assert payload["meta"]["config"]["wai"]["patient"]["file"] == "data/wai.csv"


@pytest.mark.slow
def test_the_published_pattern_is_recovered(replicated: Path) -> None:
    payload = json.loads((replicated / "results.json").read_text())
    assert payload["meta"]["time_coding"] == "log"
    burdens = effect(payload, "patient", "time:personal_burdens")
    satisfactions = effect(payload, "therapist", "time:personal_satisfactions")
    assert burdens["ci_high"] < 0
    assert satisfactions["ci_low"] > 0
    for rater, term in (("patient", "time:personal_satisfactions"),
                        ("therapist", "time:personal_burdens")):
        row = effect(payload, rater, term)
        assert row["ci_low"] < 0 < row["ci_high"]
    fixed = [row for row in payload["recovery"] if row["covered"] is not None]
    assert sum(row["covered"] for row in fixed) / len(fixed) >= 0.85


@pytest.mark.slow
def test_analyze_on_simulated_files_gives_the_same_results(replicated: Path, tmp_path: Path
                                                           ) -> None:
    data = tmp_path / "sim"
    code, output = invoke("simulate", "--out", str(data))
    assert code == 0, output
    example = runner.invoke(app, ["analyze", "--example-config"])
    assert example.exit_code == 0
    (data / "study.toml").write_text(example.output, encoding="utf-8")
    out = tmp_path / "analysis"
    code, output = invoke("analyze", str(data / "study.toml"), "--out", str(out))
    assert code == 0, output
    replicate_results = json.loads((replicated / "results.json").read_text())
    analyze_results = json.loads((out / "results.json").read_text())
    # the same outputs but the simulated data, which replicate writes into its own folder
    simulated = {f"data/{name}" for name in ("reference_qpl.csv", "therapists.csv",
                                             "patients.csv", "wai.csv", "truth.json",
                                             "design.toml")}
    assert set(analyze_results.pop("outputs")) == set(replicate_results.pop("outputs")) - simulated
    for payload in (replicate_results, analyze_results):
        for key in ("created", "config"):
            payload["meta"].pop(key)
        _drop_timings(payload)
    assert analyze_results == replicate_results
    for name in ("analysis.csv", "therapist_factor_scores.csv"):
        assert (out / "data" / name).read_bytes() == (replicated / "data" / name).read_bytes()


def _drop_timings(value: Any) -> None:
    if isinstance(value, dict):
        value.pop("fit_seconds", None)
        for item in value.values():
            _drop_timings(item)
    elif isinstance(value, list):
        for item in value:
            _drop_timings(item)


def test_runs_are_shown_with_their_findings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path
                                            ) -> None:
    results = SimpleNamespace(findings=("First finding.", "Second finding."))
    run = StudyRun(results=results, folder=tmp_path)  # type: ignore[arg-type]
    monkeypatch.setattr("alliance.app.replicate", lambda *args: run)
    code, output = invoke("replicate", "--out", str(tmp_path))
    assert code == 0
    assert f"Report: {tmp_path / 'report.html'}" in output
    assert "• First finding. • Second finding." in output
