"""Reading the study's files: every problem is found before any fitting, named by file,
column and row."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alliance.errors import DataError, SpecificationError
from alliance.study import load_config, load_study, run_study


def edit(config: Path, name: str, change: Callable[[pd.DataFrame], pd.DataFrame]) -> Path:
    """Rewrite one CSV of the study next to ``config``; return its path."""
    path = config.parent / name
    path.write_text(change(pd.read_csv(path)).to_csv(index=False), encoding="utf-8")
    return path


def failure(config: Path) -> str:
    with pytest.raises(DataError) as error:
        load_study(load_config(config))
    return " ".join(str(error.value).split())


def test_the_small_study_reads(small_study: Path) -> None:
    data = load_study(load_config(small_study))
    assert set(data.wai) == {"patient", "therapist"}
    assert list(data.reference.columns[:2]) == ["respondent", "qpl1"]
    assert data.patients.columns.tolist() == ["patient", "therapist", "severity"]
    assert "experience" in data.therapists.columns
    frame = data.wai["patient"].frame
    assert frame.columns[:4].tolist() == ["row", "patient", "therapist", "session"]
    assert data.truth is not None and data.excluded == ()


def test_a_missing_column_is_named(study_copy: Path) -> None:
    wai = edit(study_copy, "wai.csv", lambda f: f.drop(columns=["session"]))
    message = failure(study_copy)
    assert message.startswith(f"{wai}: 1 required column not found: 'session'")


def test_an_item_out_of_range_names_file_column_and_row(study_copy: Path) -> None:
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[4, "wai3"] = 7
        return frame

    wai = edit(study_copy, "wai.csv", change)
    message = failure(study_copy)
    assert message.startswith(f"{wai}: column 'wai3' must hold whole numbers from 1 to 5")
    assert "row 5: 7" in message


def test_a_qpl_item_out_of_range_in_the_reference_sample(study_copy: Path) -> None:
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[9, "qpl2"] = -1
        return frame

    reference = edit(study_copy, "reference_qpl.csv", change)
    message = failure(study_copy)
    assert message.startswith(f"{reference}: column 'qpl2' must hold whole numbers from 0 to 5")
    assert "row 10: -1" in message


def test_a_patient_listed_under_two_therapists(study_copy: Path) -> None:
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        extra = frame.iloc[[0]].assign(therapist="T002")
        return pd.concat([frame, extra], ignore_index=True)

    patients = edit(study_copy, "patients.csv", change)
    message = failure(study_copy)
    assert message.startswith(f"{patients}: column 'patient': patient 'P0001' is listed under 2 "
                              "therapists")
    assert "row 1, row 81" in message


def test_a_wai_row_under_another_therapist_than_in_the_patients_file(study_copy: Path) -> None:
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[frame["patient"] == "P0001", "therapist"] = "T020"
        return frame

    wai = edit(study_copy, "wai.csv", change)
    message = failure(study_copy)
    assert message.startswith(f"{wai}: column 'therapist', row 1: patient 'P0001'")
    assert "is under therapist 'T020' here but under" in message


def test_a_patient_under_two_therapists_in_the_wai_file_alone(study_copy: Path) -> None:
    text = study_copy.read_text(encoding="utf-8")
    start, end = text.index("[patients]"), text.index("# ----", text.index("[patients]"))
    study_copy.write_text(text[:start] + text[end:], encoding="utf-8")
    frame = pd.read_csv(study_copy.parent / "wai.csv")
    patient = frame.loc[0, "patient"]
    later = frame.index[frame["patient"] == patient][-1]

    def change(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[later, "therapist"] = "T020"
        return frame

    wai = edit(study_copy, "wai.csv", change)
    message = failure(study_copy)
    assert message.startswith(f"{wai}: column 'therapist': patient {patient!r} is under more "
                              "than one therapist")
    assert f"'T020' ({wai}, row {later + 1})" in message


def test_a_therapist_without_qpl_items(study_copy: Path) -> None:
    edit(study_copy, "therapists.csv", lambda f: f.loc[f["therapist"] != "T003"])
    message = failure(study_copy)
    wai = study_copy.parent / "wai.csv"
    assert message.startswith(f"{wai}: column 'therapist': therapist 'T003' (row")
    assert f"is not in {study_copy.parent / 'therapists.csv'}, so there are no QPL items" in message


def test_a_therapists_file_without_items(study_copy: Path) -> None:
    therapists = edit(study_copy, "therapists.csv",
                      lambda f: f[["therapist", "experience"]])
    message = failure(study_copy)
    assert message.startswith(f"{therapists}: 16 required columns not found: 'qpl1'")


def test_sessions_must_be_positive(study_copy: Path) -> None:
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[6, "session"] = 0
        return frame

    wai = edit(study_copy, "wai.csv", change)
    message = failure(study_copy)
    assert message.startswith(
        f"{wai}: column 'session' must hold whole session numbers from 1 up")
    assert "row 7 (0;" in message


def test_fractional_sessions_are_refused(study_copy: Path) -> None:
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        frame["session"] = frame["session"].astype(float)
        rows = frame.index[frame["rater"] == "patient"][[1, 4]]
        frame.loc[rows, "session"] = [3.5, 12.25]
        shown.extend(int(row) + 1 for row in rows)
        return frame

    shown: list[int] = []
    edit(study_copy, "wai.csv", change)
    message = failure(study_copy)
    assert "must hold whole session numbers" in message
    assert f"rows {shown[0]}, {shown[1]} (3.5, 12.25;" in message


def test_a_repeated_administration(study_copy: Path) -> None:
    wai = edit(study_copy, "wai.csv",
               lambda f: pd.concat([f, f.iloc[[0]]], ignore_index=True))
    message = failure(study_copy)
    assert message.startswith(f"{wai}: columns ['patient', 'session']: each patient-rated "
                              "administration must appear once")
    assert "rows 1, " in message


def test_empty_identifiers(study_copy: Path) -> None:
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[3, "patient"] = None
        return frame

    wai = edit(study_copy, "wai.csv", change)
    assert failure(study_copy).startswith(
        f"{wai}: column 'patient' has empty identifiers in row 4"
    )


def test_a_patient_missing_from_the_patients_file(study_copy: Path) -> None:
    edit(study_copy, "patients.csv", lambda f: f.loc[f["patient"] != "P0002"])
    message = failure(study_copy)
    assert "column 'patient': patient 'P0002' (row" in message
    assert f"is not in {study_copy.parent / 'patients.csv'}" in message


def test_other_raters_are_excluded_and_counted(study_copy: Path) -> None:
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        extra = frame.iloc[:3].assign(rater="observer")
        return pd.concat([frame, extra], ignore_index=True)

    edit(study_copy, "wai.csv", change)
    data = load_study(load_config(study_copy))
    assert len(data.excluded) == 1
    assert data.excluded[0]["rows"] == 3
    assert "1 other value, not shown" in data.excluded[0]["reason"]


def test_an_instrument_without_a_total_is_refused(study_copy: Path) -> None:
    text = study_copy.read_text(encoding="utf-8")
    study_copy.write_text(text.replace('instrument = "wai-sr-therapist"',
                                       'instrument = "dpccq-qpl"'), encoding="utf-8")
    with pytest.raises(SpecificationError, match=r"wai\.therapist\.instrument dpccq-qpl "
                                                 "defines no total score"):
        load_study(load_config(study_copy))


def test_nothing_is_fitted_before_the_data_pass(
    study_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("a model was fitted before the data were checked")

    for target in ("alliance.study.factors.efa", "alliance.study.models.fit",
                   "alliance.study.joint.fit"):
        monkeypatch.setattr(target, forbidden)

    def change(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[len(frame) - 1, "wai12"] = 9
        return frame

    edit(study_copy, "wai.csv", change)
    with pytest.raises(DataError, match="column 'wai12'"):
        run_study(load_config(study_copy))


def test_every_file_format_reads_to_the_same_data(study_copy: Path) -> None:
    import pyreadstat

    folder = study_copy.parent
    expected = load_study(load_config(study_copy))
    pd.read_csv(folder / "reference_qpl.csv").to_parquet(folder / "reference.parquet")
    pd.read_csv(folder / "therapists.csv").to_excel(folder / "therapists.xlsx", index=False)
    pd.read_csv(folder / "patients.csv").to_stata(folder / "patients.dta", write_index=False)
    pyreadstat.write_sav(pd.read_csv(folder / "wai.csv"), str(folder / "wai.sav"))
    text = study_copy.read_text(encoding="utf-8")
    for old, new in (("reference_qpl.csv", "reference.parquet"),
                     ("therapists.csv", "therapists.xlsx"),
                     ("patients.csv", "patients.dta"), ("wai.csv", "wai.sav")):
        text = text.replace(f'"{old}"', f'"{new}"')
    study_copy.write_text(text, encoding="utf-8")
    data = load_study(load_config(study_copy))
    pd.testing.assert_frame_equal(data.reference, expected.reference)
    pd.testing.assert_frame_equal(data.therapists, expected.therapists, check_dtype=False)
    pd.testing.assert_frame_equal(data.patients, expected.patients, check_dtype=False)
    for rater in ("patient", "therapist"):
        pd.testing.assert_frame_equal(data.wai[rater].frame, expected.wai[rater].frame,
                                      check_dtype=False)


def test_a_truth_file_is_checked(study_copy: Path) -> None:
    truth = study_copy.parent / "truth.json"
    truth.write_text('{"fixed_effects": {}}', encoding="utf-8")
    with pytest.raises(DataError, match=r"truth\.json: not a truth file of `alliance simulate`: "
                                        "it lacks time, covariate_effects"):
        load_study(load_config(study_copy))
    truth.unlink()
    with pytest.raises(DataError, match="truth file not found"):
        load_study(load_config(study_copy))


def test_a_truth_file_of_an_earlier_version_asks_to_simulate_again(study_copy: Path) -> None:
    truth = study_copy.parent / "truth.json"
    content = json.loads(truth.read_text(encoding="utf-8"))
    content["time"]["scale"] = content["time"].pop("coding")
    truth.write_text(json.dumps(content), encoding="utf-8")
    with pytest.raises(DataError, match=r"truth\.json: written by an earlier version .*time\.scale"):
        load_study(load_config(study_copy))
    content["time"]["coding"] = "quadratic"
    truth.write_text(json.dumps(content), encoding="utf-8")
    with pytest.raises(DataError, match="time.coding is 'quadratic'"):
        load_study(load_config(study_copy))


def test_other_rater_values_are_counted_not_quoted(study_copy: Path) -> None:
    def relabel(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[frame.index[:3], "rater"] = "Dr T016"
        return frame

    edit(study_copy, "wai.csv", relabel)
    (entry,) = load_study(load_config(study_copy)).excluded
    assert entry["rows"] == 3
    assert entry["reason"].startswith("wai.csv: rows whose 'rater' is none of")
    assert "T016" not in entry["reason"] and str(study_copy.parent) not in entry["reason"]
    assert "1 other value, not shown" in entry["reason"]
    text = study_copy.read_text(encoding="utf-8")
    study_copy.write_text(text.replace("show_identifiers = false", "show_identifiers = true"),
                          encoding="utf-8")
    (entry,) = load_study(load_config(study_copy)).excluded
    assert "'Dr T016'" in entry["reason"]


@pytest.mark.parametrize("values", [
    pd.Series([3.0, 12.0, 3.0, 7.5]),
    pd.Series([" a", "b ", "a", 3, 3.0, "3"], dtype=object),
    pd.Series(pd.array(["th1", "th2", "th1"], dtype="str"), index=[5, 9, 2]),
    pd.Series([" th1", "th2\u00a0", "\tth1", "ü 3 "], dtype=object),
    pd.Series([1, 2, 2], dtype="Int64"),
    pd.Series([4, -2, 4], dtype=np.int32),
    pd.Series([1e15, 2.0, -0.0]),
])
def test_identifiers_become_text_one_distinct_value_at_a_time(values: pd.Series) -> None:
    """Converting each distinct identifier once gives the text of converting every row."""
    from alliance.study.checks import as_text, id_values

    frame = pd.DataFrame({"id": values, "row": range(1, len(values) + 1)}, index=values.index)
    texts = id_values(frame, "id", "wai.csv")
    assert texts.dtype == object and list(texts.index) == list(values.index)
    assert texts.tolist() == [as_text(value) for value in values]
    assert as_text(3.0) == "3" and as_text(" a") == "a" and as_text(7.5) == "7.5"
