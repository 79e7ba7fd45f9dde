"""``alliance fit --df kenward-roger`` and ``--robust cr2 [--cluster COL]``."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from alliance.cli.app import app
from alliance.cli.common import EXIT_DATA_ERROR, EXIT_SPECIFICATION_ERROR

REFERENCE = Path(__file__).resolve().parents[1] / "reference"
ALLIANCE = REFERENCE / "data" / "alliance_sim.csv"
FORMULA = "wai ~ time * (burdens + satisfactions) + (time | therapist/patient)"
KENWARD_ROGER = {case["case"]: case for case in
                 json.loads((REFERENCE / "kenward_roger.json").read_text())["cases"]}
CR2 = {case["case"]: case for case in
       json.loads((REFERENCE / "clubsandwich_cr2.json").read_text())["cases"]}
runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    """Exit code, stdout and stderr, with the console's line wrapping undone."""
    result = runner.invoke(app, ["fit", *args])
    return result.exit_code, " ".join(result.stdout.split()), " ".join(result.stderr.split())


def test_kenward_roger(tmp_path: Path) -> None:
    out = tmp_path / "kr.json"
    code, output, errors = invoke(str(ALLIANCE), "-f", FORMULA, "--df", "kenward-roger",
                                  "--json", str(out))
    assert code == 0, output + errors
    assert "fit by REML (kenward-roger df)" in output
    assert "Fixed-effect tests: Kenward-Roger adjusted SEs and df (as pbkrtest)" in output
    payload = json.loads(out.read_text())
    assert payload["df_method"] == "kenward-roger" and payload["robust"] is None
    expected = pd.DataFrame(KENWARD_ROGER["alliance_sim_corr"]["fixed_effects"])
    got = pd.DataFrame(payload["fixed_effects"])
    assert list(got["term"]) == list(expected["term"])
    for column, reference, tolerance in (("std_error", "kr_std_error", 1e-3),
                                         ("df", "kr_df", 1e-2)):
        assert list(got[column]) == pytest.approx(list(expected[reference]), rel=tolerance)


def test_kenward_roger_needs_reml() -> None:
    code, output, errors = invoke(str(ALLIANCE), "-f", FORMULA, "--df", "kenward-roger", "--ml")
    assert code == EXIT_SPECIFICATION_ERROR
    assert "REML fits only" in errors


def test_robust_cr2_by_the_outermost_groups(tmp_path: Path) -> None:
    out = tmp_path / "cr2.json"
    code, output, errors = invoke(str(ALLIANCE), "-f", FORMULA, "--robust", "cr2",
                                  "--json", str(out))
    assert code == 0, output + errors
    assert "(bell-mccaffrey df)" in output
    assert ("CR2 cluster-robust SEs (70 clusters of therapist) with Satterthwaite "
            "(Bell-McCaffrey) df") in output
    payload = json.loads(out.read_text())
    assert payload["robust"] == {"type": "cr2", "cluster": "therapist", "n_clusters": 70}
    expected = pd.DataFrame(CR2["alliance_sim_corr"]["fixed_effects"])
    got = pd.DataFrame(payload["fixed_effects"])
    assert list(got["std_error"]) == pytest.approx(list(expected["std_error"]), rel=1e-2)
    assert list(got["df"]) == pytest.approx(list(expected["df"]), rel=1e-2)


def test_robust_cr2_by_a_column(tmp_path: Path) -> None:
    out = tmp_path / "pastes.json"
    code, output, errors = invoke(str(REFERENCE / "data" / "pastes.csv"), "-f",
                                  "strength ~ 1 + (1 | sample)", "--robust", "cr2",
                                  "--cluster", "batch", "--json", str(out))
    assert code == 0, output + errors
    assert "10 clusters of batch" in output
    row = json.loads(out.read_text())["fixed_effects"][0]
    expected = CR2["pastes_by_batch"]["fixed_effects"][0]
    assert row["std_error"] == pytest.approx(expected["std_error"], rel=1e-2)
    assert row["df"] == pytest.approx(expected["df"], rel=1e-2)


@pytest.mark.parametrize(("args", "message"), [
    (("--cluster", "therapist"), "ask for them with robust='cr2'"),
    (("--robust", "cr2", "--cluster", "patient"), "not nested within the clustering"),
    (("--robust", "cr2", "--df", "containment"), "cannot be combined"),
])
def test_robust_refusals_exit_4(args: tuple[str, ...], message: str) -> None:
    code, _, errors = invoke(str(ALLIANCE), "-f", FORMULA, *args)
    assert code == EXIT_SPECIFICATION_ERROR
    assert message in errors


def test_an_unknown_cluster_column_is_a_data_error() -> None:
    code, _, errors = invoke(str(ALLIANCE), "-f", FORMULA, "--robust", "cr2",
                             "--cluster", "therapists")
    assert code == EXIT_DATA_ERROR
    assert "cluster column 'therapists' is not in the data" in errors
    assert "Did you mean 'therapist'?" in errors


def test_help_lists_the_new_options() -> None:
    result = runner.invoke(app, ["fit", "--help"])
    text = " ".join(result.stdout.split())
    assert "--robust" in text and "--cluster" in text
    # the engine owns the vocabulary; the help names every member of it
    from alliance.mixed.fit import DF_METHODS
    from alliance.mixed.robust import ROBUST_TYPES
    assert all(method in text for method in (*DF_METHODS, *ROBUST_TYPES))
