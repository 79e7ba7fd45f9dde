"""write_study: a complete new folder or nothing; never overwrite."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alliance.errors import SpecificationError
from alliance.simulate import SimulatedStudy, StudyDesign, simulate_study, write_study

FILES = {
    "reference_qpl.csv",
    "therapists.csv",
    "patients.csv",
    "wai.csv",
    "truth.json",
    "design.toml",
    ".alliance-output",
}


@pytest.fixture(scope="module")
def study() -> SimulatedStudy:
    return simulate_study(StudyDesign.default().updated({"sample": {"n_reference": 200}}))


def test_writes_every_file_readably(study: SimulatedStudy, tmp_path: Path) -> None:
    folder = write_study(study, tmp_path / "nested" / "study")
    assert folder == tmp_path / "nested" / "study"
    assert {path.name for path in folder.iterdir()} == FILES
    assert [path.name for path in (tmp_path / "nested").iterdir()] == ["study"]
    wai = pd.read_csv(folder / "wai.csv", dtype={"session": "int64"})
    items = list(study.design.wai.items)
    assert wai[items].isna().sum().sum() == study.wai[items].isna().sum().sum()
    assert np.array_equal(
        wai[items].to_numpy(dtype=float),
        study.wai[items].to_numpy(dtype=float, na_value=np.nan),
        equal_nan=True,
    )
    assert "4.0" not in (folder / "wai.csv").read_text().splitlines()[1]
    pd.testing.assert_frame_equal(
        pd.read_csv(folder / "patients.csv"), study.patients, check_dtype=False
    )
    pd.testing.assert_frame_equal(
        pd.read_csv(folder / "therapists.csv"), study.therapists, check_dtype=False
    )
    assert len(pd.read_csv(folder / "reference_qpl.csv")) == 200
    truth = json.loads((folder / "truth.json").read_text())
    data_files = truth.pop("data_files")
    assert truth == study.truth
    for file_name, recorded in data_files.items():
        assert recorded["sha256"] == hashlib.sha256((folder / file_name).read_bytes()).hexdigest()
    assert data_files["reference_qpl.csv"]["rows"] == 200
    assert StudyDesign.from_toml(folder / "design.toml") == study.design


def test_an_existing_empty_folder_is_used(study: SimulatedStudy, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    folder = write_study(study, tmp_path / "empty")
    assert {path.name for path in folder.iterdir()} == FILES


def test_refuses_to_overwrite(study: SimulatedStudy, tmp_path: Path) -> None:
    folder = tmp_path / "taken"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    with pytest.raises(SpecificationError, match="exists and is not empty.*keep.txt"):
        write_study(study, folder)
    assert [path.name for path in folder.iterdir()] == ["keep.txt"]
    afile = tmp_path / "a-file"
    afile.write_text("x")
    with pytest.raises(SpecificationError, match="is a file"):
        write_study(study, afile)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a-file", "taken"]


def test_a_failure_leaves_no_folder_behind(
    study: SimulatedStudy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: StudyDesign) -> str:
        raise OSError("disk full")

    monkeypatch.setattr(StudyDesign, "to_toml", broken)
    with pytest.raises(OSError, match="disk full"):
        write_study(study, tmp_path / "study")
    assert list(tmp_path.iterdir()) == []
