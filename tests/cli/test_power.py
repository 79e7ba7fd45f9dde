"""``alliance power``: a small analysis end to end, output files, resume, and refused input."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from alliance.cli.app import app
from alliance.cli.common import EXIT_SPECIFICATION_ERROR
from alliance.cli.power import build_design
from alliance.power import PowerDesign

runner = CliRunner()
SMALL = ["--therapists", "12", "--replications", "6", "--workers", "1", "--seed", "4"]



def invoke(*args: str) -> tuple[int, str]:
    """Exit code and output, with the console's line wrapping undone."""
    result = runner.invoke(app, ["power", *args], env={"COLUMNS": "200"})
    return result.exit_code, " ".join(result.output.split())


def test_command_line_design_runs_and_prints_the_table() -> None:
    code, output = invoke(*SMALL, "--patients-per-therapist", "3.2", "--waves", "3,12,20,40",
                          "--effect", "time:personal_burdens=-0.05", "--icc-slope", "0.05")
    assert code == 0, output
    assert "12 therapists, 3.2 patients per therapist on average" in output
    assert "alliance ~ time * (personal_burdens) + (time | therapist)" in output
    assert "time:personal_burdens" in output and "personal_satisfactions" not in output
    assert "Power (95% Monte Carlo CI)" in output and "z power" in output
    assert "Type I error, bias and coverage" in output
    assert "6 replicates" in output and "shifted alternative" in output


def test_design_file_grid_and_output_folder(tmp_path: Path) -> None:
    design = tmp_path / "design.toml"
    design.write_text(
        "[sample]\ntherapists = 10\npatients_per_therapist = 2\n"
        "[schedule]\nwaves = [1, 2, 3, 4]\ntime = \"linear\"\n"
        "[variance]\nicc_pre_subject = 0.5\nicc_pre_cluster = 0.1\nicc_slope = 0.1\n"
        "var_ratio = 0.05\n"
        "[predictors.treatment]\ndistribution = \"binary\"\n"
        "[cohens_d]\n\"time:treatment\" = 0.8\n",
        encoding="utf-8",
    )
    out = tmp_path / "run"
    args = [str(design), "--replications", "4", "--workers", "1", "--grid",
            "therapists=10,20", "--out", str(out), "--json", str(tmp_path / "power.json")]
    code, output = invoke(*args)
    assert code == 0, output
    for name in ("power.csv", "power.json", "power_curve.png", "run.json"):
        assert (out / name).exists(), name
    table = pd.read_csv(out / "power.csv")
    assert table["grid_value"].tolist() == [10, 20] and table["term"].eq("time:treatment").all()
    payload = json.loads((tmp_path / "power.json").read_text())
    assert payload["grid"] == {"parameter": "sample.therapists", "values": [10, 20]}
    assert len(pd.read_parquet(out / "replicates")) == 8
    code, output = invoke(*args)
    assert code == 0 and "8 replicates resumed" in output


def test_effects_from_the_command_line_replace_the_design_effects() -> None:
    base = PowerDesign.reference()
    design = build_design(None, {"sample": {"therapists": 30}},
                          {"time:personal_satisfactions": 0.02}, {"personal_burdens": 0.2})
    assert design.therapists == 30
    assert [e.term for e in design.tested] == ["time:personal_satisfactions",
                                               "personal_burdens"]
    # both predictors kept with their correlation, in the design's order
    assert design.predictor_names == base.predictor_names
    assert design.predictor_correlation == base.predictor_correlation
    single = build_design(None, {}, {"time:new_factor": 0.05}, {})
    assert single.predictor_names == ("new_factor",) and not single.predictor_correlation


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--therapists", "0"], "sample.therapists is 0"),
        (["--icc-slope", "1.5"], "variance.icc_slope is 1.5"),
        (["--waves", "3,12,20,400"], "after every treatment has ended"),
        (["--effect", "time:personal_burdens"], "is not TERM=VALUE"),
        (["--waves", "3,x"], "comma-separated list"),
        (["--grid", "therapists"], "PARAMETER=V1,V2"),
        (["--workers", "2", "--scheduler", "tcp://localhost:1"], "either --workers"),
        (["--caseload", "fixed"], "whole number"),
    ],
)
def test_bad_input_exits_with_a_named_field(args: list[str], message: str) -> None:
    code, output = invoke("--replications", "2", *args)
    assert code == EXIT_SPECIFICATION_ERROR, output
    assert "Specification error" in output and message in output
