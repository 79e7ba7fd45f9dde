"""``alliance simulate``: a new folder with data and truth, a summary, meaningful exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from alliance.cli.app import app
from alliance.cli.common import EXIT_SPECIFICATION_ERROR

runner = CliRunner()



def invoke(*args: str) -> tuple[int, str]:
    """Exit code and output, with the console's line wrapping undone."""
    result = runner.invoke(app, ["simulate", *args])
    return result.exit_code, " ".join(result.output.split())


def test_writes_a_study_and_prints_a_summary(tmp_path: Path) -> None:
    code, output = invoke("--out", str(tmp_path / "study"))
    assert code == 0, output
    assert "seed 2013" in output
    assert "70 study therapists treated 227 patients" in output
    # true values on the mean-score metric (latent -0.090, compressed by the ceiling)
    assert "time:personal_burdens" in output and "-0.080" in output
    assert "time = ln(session)" in output
    files = {path.name for path in (tmp_path / "study").iterdir()}
    assert files == {
        "reference_qpl.csv",
        "therapists.csv",
        "patients.csv",
        "wai.csv",
        "truth.json",
        "design.toml",
        ".alliance-output",
    }
    truth = json.loads((tmp_path / "study" / "truth.json").read_text())
    assert truth["seed"] == 2013


def test_seed_and_design_file(tmp_path: Path) -> None:
    design = tmp_path / "small.toml"
    design.write_text(
        "[sample]\nn_reference = 100\nn_therapists = 10\nn_patients = 30\n", encoding="utf-8"
    )
    code, output = invoke("--out", str(tmp_path / "a"), "--seed", "5", "--design", str(design))
    assert code == 0, output
    assert "seed 5" in output and "10 study therapists treated 30 patients" in output
    patients = pd.read_csv(tmp_path / "a" / "patients.csv")
    assert len(patients) == 30
    code, _ = invoke("--out", str(tmp_path / "b"), "--seed", "6", "--design", str(design))
    assert code == 0
    assert not patients.equals(pd.read_csv(tmp_path / "b" / "patients.csv"))


def test_never_overwrites_a_folder(tmp_path: Path) -> None:
    assert invoke("--out", str(tmp_path / "study"))[0] == 0
    before = (tmp_path / "study" / "wai.csv").read_bytes()
    code, output = invoke("--out", str(tmp_path / "study"), "--seed", "9")
    assert code == EXIT_SPECIFICATION_ERROR
    assert "exists and is not empty" in output
    assert (tmp_path / "study" / "wai.csv").read_bytes() == before


def test_invalid_design_is_a_specification_error(tmp_path: Path) -> None:
    design = tmp_path / "bad.toml"
    design.write_text("[sample]\nn_therapists = 0\n", encoding="utf-8")
    code, output = invoke("--out", str(tmp_path / "study"), "--design", str(design))
    assert code == EXIT_SPECIFICATION_ERROR
    assert "bad.toml" in output and "sample.n_therapists is 0" in output
    assert not (tmp_path / "study").exists()
    code, output = invoke("--out", str(tmp_path / "study"), "--design", str(tmp_path / "no.toml"))
    assert code == EXIT_SPECIFICATION_ERROR and "does not exist" in output
