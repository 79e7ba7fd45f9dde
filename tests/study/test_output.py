"""The output folder is written completely or not at all, and never over inputs."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

import alliance.report as report
from alliance.errors import SpecificationError
from alliance.io.output import MARKER_FILE, staged_folder
from alliance.study import StudyResults, analyze
from alliance.study.output import write_outputs


def digest(folder: Path) -> dict[str, str]:
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.iterdir()) if path.is_file()}


@pytest.fixture
def reports(monkeypatch: pytest.MonkeyPatch) -> list[tuple[dict[str, Any], Path]]:
    """Calls of the report writer (replaced: the report layer is tested on its own)."""
    calls: list[tuple[dict[str, Any], Path]] = []
    monkeypatch.setattr(report, "write_report", lambda results, folder: calls.append(
        (results, folder)))
    return calls


def test_outputs_are_written(small_results: StudyResults, tmp_path: Path,
                             reports: list[tuple[dict[str, Any], Path]]) -> None:
    out = tmp_path / "out"
    with staged_folder(out, "analyze") as folder:
        assert write_outputs(small_results, folder, "seed = 5\n")
        assert not out.exists()
    assert len(reports) == 1 and reports[0][1] == folder
    assert reports[0][0] == json.loads((out / "results.json").read_text())
    names = {path.name for path in out.iterdir()}
    assert {"results.json", "tables", "config.toml", "versions.json", "seed.txt",
            MARKER_FILE} <= names
    assert {path.stem for path in (out / "tables").iterdir()} == {
        "factor_loadings", "reliability", "variance_components", "icc", "time_coding",
        "fixed_effects", "joint_tests", "recovery",
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
    assert run.folder == out and (out / "results.json").is_file() and run.report_written
    saved = (out / "config.toml").read_text(encoding="utf-8")
    assert str(study_copy.parent) not in saved and 'file = "../study/wai.csv"' in saved
