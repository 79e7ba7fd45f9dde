"""``alliance score``: files in, scores CSV out, a short summary, meaningful exit codes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from alliance.cli.app import app
from alliance.cli.common import EXIT_DATA_ERROR, EXIT_SPECIFICATION_ERROR
from alliance.instruments import score

ITEMS = [f"wai{i}" for i in range(1, 13)]
runner = CliRunner()



def invoke(*args: str) -> tuple[int, str]:
    """Exit code and output, with the console's line wrapping undone."""
    result = runner.invoke(app, ["score", *args])
    return result.exit_code, " ".join(result.output.split())


@pytest.fixture
def wai_file(tmp_path: Path) -> Path:
    values = np.array([[5, 6, 7, 2, 4, 6, 5, 7, 3, 1, 6, 4]] * 3, dtype=float)
    values[1, [2, 4]] = np.nan  # bond: two of four missing -> bond missing
    frame = pd.DataFrame(values, columns=ITEMS)
    frame.insert(0, "patient", ["p1", "p1", "p2"])
    frame.insert(1, "session", [3, 12, 3])
    path = tmp_path / "wai.csv"
    frame.to_csv(path, index=False)
    return path


def test_scores_are_written_and_summarised(wai_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "scores.csv"
    code, output = invoke(
        str(wai_file), "--instrument", "wai-s-client", "--id-cols", "patient, session",
        "--out", str(out),
    )  # fmt: skip
    assert code == 0, output
    assert "wai-s-client: 3 administrations scored" in output
    assert "Missing responses: 2 empty, 0 invalid treated as missing." in output
    assert f"Scores written to {out}" in output
    assert "│ bond │ 2 │ 1 │" in output  # scored / missing counts per score
    written = pd.read_csv(out)
    expected = score(pd.read_csv(wai_file), "wai-s-client", id_columns=["patient", "session"])
    pd.testing.assert_frame_equal(written, expected.scores, check_dtype=False, rtol=0, atol=1e-15)
    assert written.loc[0, "goal"] == 6.25  # full precision, not rounded for display


def test_without_out_a_preview_is_shown(wai_file: Path) -> None:
    code, output = invoke(str(wai_file), "--instrument", "wai-s-client")
    assert code == 0, output
    assert "Scores not written: pass --out FILE" in output
    assert "6.25" in output


def test_invalid_responses_stop_with_exit_3(wai_file: Path) -> None:
    frame = pd.read_csv(wai_file)
    frame.loc[2, "wai5"] = 9
    frame.to_csv(wai_file, index=False)
    code, output = invoke(str(wai_file), "--instrument", "wai-s-client")
    assert code == EXIT_DATA_ERROR
    assert str(wai_file) in output
    assert "row 3, column 'wai5': 9 (outside 1-7)" in output

    code, output = invoke(str(wai_file), "--instrument", "wai-s-client", "--invalid", "missing")
    assert code == 0, output
    assert "1 invalid treated as missing" in output
    assert "row 3, column 'wai5': 9 (outside 1-7)" in output


def test_the_input_file_is_never_the_output(wai_file: Path) -> None:
    before = wai_file.read_bytes()
    code, output = invoke(str(wai_file), "--instrument", "wai-s-client", "--out", str(wai_file))
    assert code == EXIT_SPECIFICATION_ERROR
    assert f"--out {wai_file} would overwrite the input {wai_file}" in output
    assert wai_file.read_bytes() == before


def test_unknown_instrument_exits_4(wai_file: Path) -> None:
    code, output = invoke(str(wai_file), "--instrument", "wai-sr-clinet")
    assert code == EXIT_SPECIFICATION_ERROR
    assert "Did you mean 'wai-sr-client'" in output


def test_template_instrument_exits_4(wai_file: Path) -> None:
    code, output = invoke(str(wai_file), "--instrument", "wai-full-client")
    assert code == EXIT_SPECIFICATION_ERROR
    assert "cannot be scored" in output


def test_missing_columns_name_the_file(wai_file: Path) -> None:
    code, output = invoke(str(wai_file), "--instrument", "wai-s-client", "--id-cols", "therapist")
    assert code == EXIT_DATA_ERROR
    assert str(wai_file) in output and "'therapist'" in output


def test_long_excel_data_with_prefix_and_sheet(wai_file: Path, tmp_path: Path) -> None:
    melted = pd.read_csv(wai_file).melt(
        id_vars=["patient", "session"], var_name="item", value_name="response"
    )
    melted["item"] = "pt_" + melted["item"]
    path = tmp_path / "wai.xlsx"
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame({"other": [1]}).to_excel(writer, sheet_name="notes", index=False)
        melted.to_excel(writer, sheet_name="alliance", index=False)
    out = tmp_path / "scores.csv"
    code, output = invoke(
        str(path), "-i", "wai-s-client", "--layout", "long", "--id-cols", "patient,session",
        "--prefix", "pt_", "--sheet", "1", "--out", str(out),
    )  # fmt: skip
    assert code == 0, output
    written = pd.read_csv(out)
    assert written["pt_goal"].tolist() == [6.25, 6.25, 6.25]
    assert written["pt_bond"].isna().tolist() == [False, True, False]


def test_a_user_definition_by_path(wai_file: Path, tmp_path: Path) -> None:
    definition = tmp_path / "two.toml"
    definition.write_text(
        'name = "two"\ntitle = "Two items"\ncitation = "Test."\nrater = "patient"\n'
        'items = ["wai1", "wai2"]\n[response]\nmin = 1\nmax = 7\n'
        '[scoring]\nmethod = "sum"\ntotal = true\ntotal_max_missing = 0\n',
        encoding="utf-8",
    )
    out = tmp_path / "scores.csv"
    code, output = invoke(str(wai_file), "-i", str(definition), "-o", str(out))
    assert code == 0, output
    assert pd.read_csv(out)["total"].tolist() == [11.0, 11.0, 11.0]


def test_codebook_only_instrument(tmp_path: Path) -> None:
    frame = pd.DataFrame(np.full((2, 16), 3.0), columns=[f"qpl{i}" for i in range(1, 17)])
    frame.insert(0, "therapist", ["t1", "t2"])
    path = tmp_path / "qpl.parquet"
    frame.to_parquet(path)
    code, output = invoke(str(path), "-i", "dpccq-qpl", "--id-cols", "therapist")
    assert code == 0, output
    assert "No subscales or total are defined" in output


def test_debug_shows_the_exception(wai_file: Path) -> None:
    result = runner.invoke(app, ["score", str(wai_file), "-i", "wai-sr-clinet", "--debug"])
    assert result.exit_code == 1
    assert type(result.exception).__name__ == "SpecificationError"
