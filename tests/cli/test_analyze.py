"""``alliance analyze``: the study on the user's files; bad input stops it before any fitting."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import alliance.report as report
from alliance.cli.app import app
from alliance.cli.common import EXIT_DATA_ERROR, EXIT_SPECIFICATION_ERROR
from alliance.simulate import StudyDesign, simulate_study, write_study
from alliance.study import config_from_dict, example_config_text

runner = CliRunner()



def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["analyze", *args])
    return result.exit_code, " ".join(result.output.split())


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small simulated study with the example configuration as study.toml."""
    folder = tmp_path_factory.mktemp("analyze-study") / "study"
    design = StudyDesign.default().updated(
        {"sample": {"n_reference": 500, "n_therapists": 24, "n_patients": 80}}
    )
    write_study(simulate_study(design, seed=3), folder)
    config = folder / "study.toml"
    config.write_text(example_config_text(), encoding="utf-8")
    return config


def test_the_example_config_is_printed_and_valid() -> None:
    result = runner.invoke(app, ["analyze", "--example-config"])
    assert result.exit_code == 0
    data = tomllib.loads(result.output)
    config = config_from_dict(data, base_dir=Path("."), source="example")
    assert config.wai.raters["therapist"].columns.instrument == "wai-sr-therapist"


def test_a_config_is_required() -> None:
    code, output = invoke()
    assert code == 2
    assert "--example-config" in output


def test_analyze_writes_the_folder(study: Path, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(report, "write_report", lambda results, folder, drawn=None: None)
    out = tmp_path / "report"
    code, output = invoke(str(study), "--out", str(out))
    assert code == 0, output
    assert f"Study written to {out}" in output and "Findings" in output
    assert (out / "results.json").is_file() and (out / "tables" / "icc.csv").is_file()
    code, output = invoke(str(study), "--out", str(out))
    assert code == EXIT_SPECIFICATION_ERROR and "--overwrite" in output


def test_bad_data_stop_before_fitting_with_file_column_and_row(
    study: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("fitted before the data were checked")

    monkeypatch.setattr("alliance.study.models.fit", forbidden)
    monkeypatch.setattr("alliance.study.factors.efa", forbidden)
    folder = tmp_path / "data"
    folder.mkdir()
    for path in study.parent.iterdir():
        folder.joinpath(path.name).write_bytes(path.read_bytes())
    wai = pd.read_csv(folder / "wai.csv")
    wai.loc[10, "wai4"] = 0
    wai.to_csv(folder / "wai.csv", index=False)
    out = tmp_path / "report"
    code, output = invoke(str(folder / "study.toml"), "--out", str(out))
    assert code == EXIT_DATA_ERROR
    assert f"Data error: {folder / 'wai.csv'}: column 'wai4' must hold whole numbers" in output
    assert "row 11: 0" in output
    assert not out.exists() and not list(tmp_path.glob(".report*"))


def test_a_bad_config_is_a_specification_error(tmp_path: Path) -> None:
    config = tmp_path / "study.toml"
    config.write_text('title = "x"\n[wai]\nfile = "wai.csv"\n', encoding="utf-8")
    code, output = invoke(str(config), "--out", str(tmp_path / "out"))
    assert code == EXIT_SPECIFICATION_ERROR
    assert f"{config}: reference is missing; expected a table" in output
    assert "alliance analyze --example-config" in output
