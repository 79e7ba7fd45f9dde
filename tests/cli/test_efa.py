"""``alliance efa``: a data file in, loadings on screen, the JSON contract, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from alliance.cli.app import app
from alliance.cli.common import EXIT_DATA_ERROR, EXIT_SPECIFICATION_ERROR

BFI = Path(__file__).resolve().parents[1] / "reference" / "data" / "psych_bfi.csv"
ITEMS = "A1,A2,A3,A4,A5,C1,C2,C3,C4,C5"
runner = CliRunner()



def invoke(*args: str) -> tuple[int, str]:
    """Exit code and output, with the console's line wrapping undone."""
    result = runner.invoke(app, ["efa", *args])
    return result.exit_code, " ".join(result.output.split())


def test_prints_loadings_and_writes_the_json_contract(tmp_path):
    out = tmp_path / "efa.json"
    code, output = invoke(
        str(BFI), "--factors", "2", "--items", ITEMS, "--parallel-iter", "5", "--json", str(out)
    )
    assert code == 0, output
    assert "Loadings (pattern matrix)" in output and "minres, oblimin" in output
    assert "Rows analysed: 2800" in output and "Parallel analysis" in output
    payload = json.loads(out.read_text())
    for key in ("items", "loadings", "communalities", "factor_correlations",
                "variance_explained", "parallel_analysis"):  # fmt: skip
        assert key in payload
    assert payload["items"] == ITEMS.split(",")
    assert [row["item"] for row in payload["loadings"]] == ITEMS.split(",")
    assert payload["parallel_analysis"]["suggested_factors"] >= 1
    assert payload["data"] == str(BFI)


def test_method_rotation_and_listwise(tmp_path):
    code, output = invoke(
        str(BFI), "-k", "2", "--method", "ml", "--rotation", "varimax", "--items", ITEMS,
        "--missing", "listwise", "--parallel-iter", "0",
    )  # fmt: skip
    assert code == 0, output
    assert "ml, varimax" in output and "excluded (listwise missing-data rule): " in output
    assert "Factor correlations" not in output and "Parallel analysis" not in output


def test_missing_file_is_a_data_error(tmp_path):
    code, output = invoke(str(tmp_path / "nope.csv"), "--factors", "2")
    assert code == EXIT_DATA_ERROR
    assert "file not found" in output


def test_unknown_item_is_a_data_error():
    code, output = invoke(str(BFI), "--factors", "1", "--items", "A1,A2,Z9")
    assert code == EXIT_DATA_ERROR
    assert "'Z9'" in output


def test_constant_item_is_a_data_error(tmp_path):
    data = pd.read_csv(BFI)[["A1", "A2", "A3"]].assign(flat=4)
    path = tmp_path / "items.csv"
    data.to_csv(path, index=False)
    code, output = invoke(str(path), "--factors", "1", "--parallel-iter", "0")
    assert code == EXIT_DATA_ERROR
    assert str(path) in output and "'flat'" in output


def test_too_many_factors_is_a_specification_error():
    code, output = invoke(str(BFI), "--factors", "3", "--items", "A1,A2,A3,A4,A5")
    assert code == EXIT_SPECIFICATION_ERROR
    assert "df = -2" in output and "n_factors <= 2" in output


@pytest.mark.parametrize("option", [("--rotation", "equamax"), ("--method", "uls")])
def test_invalid_choices_are_usage_errors(option):
    code, _ = invoke(str(BFI), "--factors", "1", *option)
    assert code == 2


def test_an_excel_sheet_is_chosen_and_named(tmp_path: Path) -> None:
    workbook = tmp_path / "bfi.xlsx"
    items = pd.read_csv(BFI)[ITEMS.split(",")].head(400)
    with pd.ExcelWriter(workbook) as writer:
        items.tail(300).to_excel(writer, sheet_name="notes", index=False)
        items.to_excel(writer, sheet_name="answers", index=False)
    out = tmp_path / "efa.json"
    code, output = invoke(str(workbook), "-k", "2", "--sheet", "answers", "--parallel-iter", "0",
                          "--json", str(out))
    assert code == 0, output
    assert f"of 10 items from {workbook} (sheet 'answers')" in output
    assert "Rows analysed: " in output and json.loads(out.read_text())["sheet"] == "answers"
    code, output = invoke(str(workbook), "-k", "2", "--parallel-iter", "0")
    assert code == 0 and f"from {workbook} (sheet 'notes')" in output
