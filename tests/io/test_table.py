"""read_table: every format by extension, and a DataError naming the file for each failure."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from alliance.errors import DataError
from alliance.io import read_table

EXPECTED = pd.DataFrame(
    {
        "patient": ["p1", "p2", "p3"],
        "session": [3, 12, 20],
        "wai1": [4.0, np.nan, 5.0],
    }
)


def _fingerprint(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


def _check(frame: pd.DataFrame) -> None:
    assert list(frame.columns) == ["patient", "session", "wai1"]
    assert frame["patient"].tolist() == ["p1", "p2", "p3"]
    assert frame["session"].astype(float).tolist() == [3.0, 12.0, 20.0]
    np.testing.assert_array_equal(frame["wai1"].to_numpy(dtype=float), [4.0, np.nan, 5.0])
    assert list(frame.index) == [0, 1, 2]


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("comma.csv", "patient,session,wai1\np1,3,4\np2,12,\np3,20,5\n"),
        ("semicolon.csv", "patient;session;wai1\np1;3;4\np2;12;\np3;20;5\n"),
        ("tab.tsv", "patient\tsession\twai1\np1\t3\t4\np2\t12\t\np3\t20\t5\n"),
        ("tab.txt", "patient\tsession\twai1\np1\t3\t4\np2\t12\tNA\np3\t20\t5\n"),
        ("bom.csv", "\ufeffpatient,session,wai1\np1,3,4\np2,12,n/a\np3,20,5\n"),
    ],
)
def test_delimited_text(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    _check(read_table(path))


def test_windows_1252_text(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("patient,therapist\nBjørn,Åse\n".encode("cp1252"))
    frame = read_table(path)
    assert frame.loc[0, "patient"] == "Bjørn"
    assert frame.loc[0, "therapist"] == "Åse"


def test_parquet(tmp_path: Path) -> None:
    path = tmp_path / "data.parquet"
    EXPECTED.to_parquet(path)
    _check(read_table(str(path)))


def test_spss_returns_codes_not_labels_and_user_missing_as_missing(tmp_path: Path) -> None:
    path = tmp_path / "data.sav"
    frame = EXPECTED.assign(wai1=[4.0, 9.0, 5.0])
    pyreadstat.write_sav(
        frame,
        str(path),
        variable_value_labels={"wai1": {4.0: "Very often", 5.0: "Always"}},
        missing_ranges={"wai1": [9.0]},
    )
    _check(read_table(path))


def test_stata_returns_codes_not_labels(tmp_path: Path) -> None:
    path = tmp_path / "data.dta"
    EXPECTED.to_stata(path, write_index=False, value_labels={"session": {3: "early"}})
    frame = read_table(path)
    _check(frame)


def test_excel_sheets_by_default_name_and_position(tmp_path: Path) -> None:
    path = tmp_path / "data.xlsx"
    with pd.ExcelWriter(path) as writer:
        EXPECTED.to_excel(writer, sheet_name="wai", index=False)
        pd.DataFrame({"x": [1]}).to_excel(writer, sheet_name="other", index=False)
    _check(read_table(path))
    _check(read_table(path, sheet="wai"))
    assert read_table(path, sheet=1)["x"].tolist() == [1]
    with pytest.raises(DataError, match=r"no sheet named 'WAI'.*'wai', 'other'"):
        read_table(path, sheet="WAI")
    with pytest.raises(DataError, match="no sheet at position 2"):
        read_table(path, sheet=2)


def test_columns_selects_and_orders(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    EXPECTED.to_csv(path, index=False)
    frame = read_table(path, columns=["wai1", "patient"])
    assert list(frame.columns) == ["wai1", "patient"]


def test_each_missing_column_is_named_with_a_suggestion(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    EXPECTED.to_csv(path, index=False)
    with pytest.raises(DataError) as caught:
        read_table(path, columns=["patient", "WAI1", "sesion", "therapist"])
    message = str(caught.value)
    assert str(path) in message
    assert "3 required columns not found" in message
    assert "'WAI1' (did you mean 'wai1'?)" in message
    assert "'sesion' (did you mean 'session'?)" in message
    assert "'therapist'\n" in message
    assert "Columns in the file: 'patient', 'session', 'wai1'." in message


def test_requesting_a_column_twice_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    EXPECTED.to_csv(path, index=False)
    with pytest.raises(DataError, match="more than once"):
        read_table(path, columns=["wai1", "wai1"])


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.csv"
    with pytest.raises(DataError, match=f"{path}: file not found"):
        read_table(path)


def test_folder_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="is a folder"):
        read_table(tmp_path)


@pytest.mark.parametrize(
    ("name", "hint"), [("data.json", "Known extensions"), ("old.xls", ".xlsx")]
)
def test_unknown_extension(tmp_path: Path, name: str, hint: str) -> None:
    path = tmp_path / name
    path.write_text("{}")
    with pytest.raises(DataError, match="cannot tell the file format") as caught:
        read_table(path)
    assert hint in str(caught.value)
    assert str(path) in str(caught.value)


def test_sheet_for_a_file_without_sheets(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    EXPECTED.to_csv(path, index=False)
    with pytest.raises(DataError, match="has no sheets"):
        read_table(path, sheet="wai")


@pytest.mark.parametrize("name", ["broken.parquet", "broken.sav", "broken.dta", "broken.xlsx"])
def test_unreadable_content(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"this is not what the extension promises\x00\x01")
    with pytest.raises(DataError, match="cannot be read as a") as caught:
        read_table(path)
    assert str(path) in str(caught.value)
    assert caught.value.__cause__ is not None


def test_malformed_csv(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text('a,b\n1,2\n3,"unterminated\n')
    with pytest.raises(DataError, match="cannot be read as a delimited text file"):
        read_table(path)


@pytest.mark.parametrize(("text", "what"), [("", "file is empty"), ("a,b\n", "no data rows")])
def test_empty_tables(tmp_path: Path, text: str, what: str) -> None:
    path = tmp_path / "empty.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=what):
        read_table(path)


def test_empty_excel_sheet(tmp_path: Path) -> None:
    path = tmp_path / "empty.xlsx"
    pd.DataFrame().to_excel(path, index=False)
    with pytest.raises(DataError, match="no data rows and no columns"):
        read_table(path)


@pytest.mark.parametrize("name", ["data.csv", "data.parquet", "data.xlsx", "data.dta", "data.sav"])
def test_the_file_is_never_modified(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    writers = {
        ".csv": lambda: EXPECTED.to_csv(path, index=False),
        ".parquet": lambda: EXPECTED.to_parquet(path),
        ".xlsx": lambda: EXPECTED.to_excel(path, index=False),
        ".dta": lambda: EXPECTED.to_stata(path, write_index=False),
        ".sav": lambda: pyreadstat.write_sav(EXPECTED, str(path)),
    }
    writers[path.suffix]()
    before = _fingerprint(path)
    listing = sorted(os.listdir(tmp_path))
    read_table(path, columns=["wai1"])
    assert _fingerprint(path) == before
    assert sorted(os.listdir(tmp_path)) == listing


@pytest.mark.parametrize("name", ["dup.csv", "dup.xlsx"])
def test_repeated_column_names_are_refused(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    if path.suffix == ".csv":
        path.write_text("patient,wai1,wai2,wai1\np1,1,2,3\n")
    else:
        pd.DataFrame([["p1", 1, 2, 3]], columns=["patient", "wai1", "wai2", "wai1"]).to_excel(
            path, index=False
        )
    with pytest.raises(DataError, match="names these columns more than once: 'wai1'"):
        read_table(path)


def test_write_csv_round_trips_numbers_text_and_missing_values(tmp_path: Path) -> None:
    from alliance.io import write_csv

    rng = np.random.default_rng(5)
    frame = pd.DataFrame({
        "therapist": pd.array(["th1", "th, 2", None, 'say "hi"'], dtype="str"),
        "session": [3.0, 12.0, np.nan, 40.0],
        "alliance": rng.normal(size=4) * 10.0 ** rng.integers(-8, 8, size=4),
        "count": [1, 2, 3, 4],
    })
    path = tmp_path / "out.csv"
    write_csv(frame, path)
    back = pd.read_csv(path)
    assert list(back.columns) == list(frame.columns)
    assert back["therapist"].isna().tolist() == [False, False, True, False]
    assert back.loc[[0, 1, 3], "therapist"].tolist() == ["th1", "th, 2", 'say "hi"']
    # shortest round-trip decimals: every float comes back bit for bit
    np.testing.assert_array_equal(back["alliance"].to_numpy(), frame["alliance"].to_numpy())
    np.testing.assert_array_equal(back["session"].to_numpy(), frame["session"].to_numpy())
    assert back["count"].tolist() == [1, 2, 3, 4]
    assert path.read_text().splitlines()[1].split(",")[1] == "3"  # whole floats without .0


def test_write_csv_writes_mixed_object_columns_too(tmp_path: Path) -> None:
    from alliance.io import write_csv

    frame = pd.DataFrame({"covered": [True, None, "n/a"], "x": [1.5, 2.0, np.nan]})
    path = tmp_path / "mixed.csv"
    write_csv(frame, path)
    back = pd.read_csv(path)
    assert back["covered"].tolist()[0] in (True, "True")
    assert back["x"].tolist()[:2] == [1.5, 2.0]
