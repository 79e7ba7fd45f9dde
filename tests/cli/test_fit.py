"""``alliance fit``: data file in, summary out, JSON per the contract, meaningful exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from alliance.cli.app import app
from alliance.cli.common import EXIT_DATA_ERROR, EXIT_SPECIFICATION_ERROR
from alliance.mixed import fit

REFERENCE = Path(__file__).resolve().parents[1] / "reference"
SLEEP = REFERENCE / "data" / "sleepstudy.csv"
FORMULA = "Reaction ~ Days + (Days | Subject)"
runner = CliRunner()



def invoke(*args: str) -> tuple[int, str, str]:
    """Exit code, stdout and stderr, with the console's line wrapping undone."""
    result = runner.invoke(app, ["fit", *args])
    return result.exit_code, " ".join(result.stdout.split()), " ".join(result.stderr.split())


def test_fit_prints_the_summary_and_writes_the_contract(tmp_path: Path) -> None:
    out = tmp_path / "fit.json"
    code, output, errors = invoke(str(SLEEP), "--formula", FORMULA, "--json", str(out))
    assert code == 0, output + errors
    assert "fit by REML (satterthwaite df)" in output
    assert "180 observations; groups: Subject 18" in output
    assert "Random effects" in output and "Fixed effects" in output
    assert "(Intercept)" in output and "251.4051" in output
    assert f"Results written to {out}" in output
    assert errors == ""
    payload = json.loads(out.read_text())
    reference = json.loads((REFERENCE / "mixed" / "sleepstudy_corr.json").read_text())["fits"]
    expected = fit(FORMULA, pd.read_csv(SLEEP)).to_dict()
    assert {"method", "n_obs", "groups", "loglik", "deviance", "aic", "bic", "converged",
            "singular", "fixed_effects", "random_effects", "residual_variance",
            "fit_seconds"} <= set(payload)
    assert payload["method"] == "REML" and payload["groups"] == {"Subject": 18}
    # performance::r2_nakagawa: 0.278651, 0.799220 (tests/reference/performance_r2.json)
    assert set(payload["r2"]) == {"marginal", "conditional"}
    assert payload["r2"] == pytest.approx({"marginal": 0.278651, "conditional": 0.799220},
                                          abs=1e-4)
    assert "R² (Nakagawa & Schielzeth / Johnson): marginal 0.2787, conditional 0.7992" in output
    assert payload["deviance"] == pytest.approx(reference["REML"]["deviance"], rel=1e-7)
    # pytest.approx does not compare lists of dicts (pytest >= 9.2): compare row by row
    assert len(payload["fixed_effects"]) == len(expected["fixed_effects"])
    for row, want in zip(payload["fixed_effects"], expected["fixed_effects"], strict=True):
        assert row["term"] == want["term"]
        numbers = {key: value for key, value in row.items() if key != "term"}
        assert numbers == pytest.approx({key: want[key] for key in numbers})
    assert [row["term"] for row in payload["fixed_effects"]] == ["(Intercept)", "Days"]
    assert payload["random_effects"] == expected["random_effects"]


def test_ml_and_df_options(tmp_path: Path) -> None:
    out = tmp_path / "ml.json"
    code, output, _ = invoke(str(SLEEP), "-f", FORMULA, "--ml", "--df", "residual",
                             "--json", str(out))
    assert code == 0, output
    assert "fit by maximum likelihood (residual df)" in output
    payload = json.loads(out.read_text())
    reference = json.loads((REFERENCE / "mixed" / "sleepstudy_corr.json").read_text())["fits"]
    assert payload["method"] == "ML"
    assert payload["deviance"] == pytest.approx(reference["ML"]["deviance"], rel=1e-7)
    assert [row["df"] for row in payload["fixed_effects"]] == [178.0, 178.0]


def test_residual_groups(tmp_path: Path) -> None:
    out = tmp_path / "varident.json"
    data = REFERENCE / "data" / "orthodont.csv"
    code, output, _ = invoke(str(data), "-f", "distance ~ age + Sex + (age | Subject)",
                             "--residual-groups", "Sex", "--json", str(out))
    assert code == 0, output
    ratios = json.loads(out.read_text())["residual_sd_ratios"]
    reference = json.loads((REFERENCE / "mixed" / "orthodont_varident.json").read_text())
    expected = reference["fits"]["REML"]["varident_ratios"]
    # the reference stratum is the first level: nlme's Male (factor order), here Female (sorted)
    assert ratios["Female"] == 1.0
    assert ratios["Male"] == pytest.approx(expected["Male"] / expected["Female"], rel=1e-3)
    # the printed summary shows the same ratios, as the Python summary does
    assert ("Residual SD ratios by Sex (varIdent, relative to Female): Female 1.0000, "
            f"Male {ratios['Male']:.4f}") in output


def test_no_residual_ratios_without_residual_groups() -> None:
    code, output, _ = invoke(str(SLEEP), "-f", FORMULA)
    assert code == 0, output
    assert "Residual SD ratios" not in output


def test_warnings_are_printed(tmp_path: Path) -> None:
    singular = REFERENCE / "data" / "dyestuff2.csv"
    code, output, errors = invoke(str(singular), "-f", "Yield ~ 1 + (1 | Batch)")
    assert code == 0, output
    assert "Warning: boundary (singular) fit" in errors
    data = pd.read_csv(SLEEP)
    data.loc[[3, 50], "Reaction"] = np.nan
    path = tmp_path / "gaps.csv"
    data.to_csv(path, index=False)
    code, output, errors = invoke(str(path), "-f", FORMULA)
    assert code == 0, output + errors
    assert "Excluded for missing values: 2 rows" in output
    assert "Warning: 2 rows with missing values were excluded" in errors


def test_data_errors_exit_3_with_the_message_on_stderr(tmp_path: Path) -> None:
    code, output, errors = invoke(str(SLEEP), "-f", "Reaction ~ Dayz + (1 | Subject)")
    assert code == EXIT_DATA_ERROR
    assert output == ""
    assert f"Data error: {SLEEP}: column 'Dayz'" in errors and "Did you mean 'Days'?" in errors
    code, _, errors = invoke(str(tmp_path / "absent.csv"), "-f", FORMULA)
    assert code == EXIT_DATA_ERROR and "file not found" in errors


def test_specification_errors_exit_4(tmp_path: Path) -> None:
    code, _, errors = invoke(str(SLEEP), "-f", "Reaction ~ Days + (Days | Subject")
    assert code == EXIT_SPECIFICATION_ERROR
    assert "Specification error: '(' is never closed" in errors
    code, _, errors = invoke(str(SLEEP), "-f", "Reaction ~ Days")
    assert code == EXIT_SPECIFICATION_ERROR and "no random-effects term" in errors


def test_debug_shows_the_exception() -> None:
    result = runner.invoke(app, ["fit", str(SLEEP), "-f", "Reaction ~ Days", "--debug"])
    assert result.exit_code != 0 and result.exception is not None
    assert "no random-effects term" in str(result.exception)


def test_help_explains_the_formula_syntax() -> None:
    result = runner.invoke(app, ["fit", "--help"], env={"COLUMNS": "120"})
    text = " ".join(result.stdout.split())
    assert result.exit_code == 0
    assert "wai ~ time * (burdens + satisfactions) + (time | therapist/patient)" in text
    assert "(x || g)" in text and "(1 | g1/g2)" in text


def test_registered_in_the_app(tmp_path: Path) -> None:
    data = tmp_path / "sleep.csv"
    shutil.copy(SLEEP, data)
    result = runner.invoke(app, ["fit", str(data), "-f", FORMULA])
    assert result.exit_code == 0, result.output
    assert "Fixed effects" in result.stdout


def test_a_text_cell_in_a_numeric_column_is_a_data_error(tmp_path: Path) -> None:
    data = pd.read_csv(SLEEP).astype({"Days": object})
    data.loc[4, "Days"] = "missing"
    path = tmp_path / "text.csv"
    data.to_csv(path, index=False)
    code, output, errors = invoke(str(path), "-f", FORMULA)
    assert code == EXIT_DATA_ERROR and output == ""
    assert "column 'Days' mixes numbers and text: 1 cell is not a number" in errors
    assert "row 5: 'missing'" in errors and "write C(Days) in the formula" in errors


def test_fit_prints_numbers_as_the_engine_summary_does() -> None:
    """The command and ``summary_text`` share one formatter: a zero variance is ``0.0000``."""
    from alliance.mixed.display import summary_text

    data = REFERENCE / "data" / "dyestuff2.csv"
    code, output, _ = invoke(str(data), "--formula", "Yield ~ 1 + (1 | Batch)")
    assert code == 0
    assert "Batch (Intercept) 0.0000 0.0000" in output
    assert "Residual 13.8063 3.7157" in output
    with pytest.warns(UserWarning):
        summary = summary_text(fit("Yield ~ 1 + (1 | Batch)", pd.read_csv(data)))
    assert "Batch (Intercept)   0.0000   0.0000" in summary
    assert "(Intercept) 5.6656 0.6784 29.00 8.352 < .001 [4.2781, 7.0531]" in output
