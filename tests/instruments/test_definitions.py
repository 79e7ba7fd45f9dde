"""Every shipped instrument, scored on hand-computed cases: keys, reverse keying, prorating,
subscales, totals and bad cells. Expected values are worked out by hand in the comments."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alliance.errors import DataError, SpecificationError
from alliance.instruments import list_instruments, load_instrument, score

WAI_SHORT_FORMS = ["wai-sr-client", "wai-sr-therapist", "wai-s-client", "wai-s-therapist"]
KEY = {
    "goal": ("wai4", "wai6", "wai8", "wai11"),
    "task": ("wai1", "wai2", "wai10", "wai12"),
    "bond": ("wai3", "wai5", "wai7", "wai9"),
}


def test_the_shipped_catalogue() -> None:
    assert list_instruments() == [
        "dpccq-qpl",
        "wai-full-client",
        "wai-s-client",
        "wai-s-therapist",
        "wai-sr-client",
        "wai-sr-therapist",
    ]


@pytest.mark.parametrize(
    ("name", "rater", "low", "high", "reverse", "author"),
    [
        ("wai-sr-client", "patient", 1, 5, (), "Hatcher, R. L., & Gillaspy"),
        ("wai-sr-therapist", "therapist", 1, 5, (), "Hatcher, R. L., Lindqvist"),
        ("wai-s-client", "patient", 1, 7, ("wai4", "wai10"), "Tracey, T. J."),
        ("wai-s-therapist", "therapist", 1, 7, ("wai4", "wai10"), "Tracey, T. J."),
    ],
)
def test_short_form_definitions(
    name: str, rater: str, low: int, high: int, reverse: tuple[str, ...], author: str
) -> None:
    wai = load_instrument(name)
    assert wai.name == name
    assert wai.rater == rater
    assert wai.items == tuple(f"wai{i}" for i in range(1, 13))
    assert (wai.response_min, wai.response_max) == (low, high)
    assert sorted(wai.response_labels) == list(range(low, high + 1))
    assert wai.reverse_keyed == reverse
    assert {sub.name: sub.items for sub in wai.subscales} == KEY
    assert wai.total and wai.method == "mean"
    assert (wai.subscale_max_missing, wai.total_max_missing) == (1, 2)
    assert not wai.template and wai.key_problems() == ()
    assert wai.citation.startswith(author)


# --- WAI-SR (1-5, no reverse-keyed items) -------------------------------------------------
#                 wai1 .. wai12
SR_COMPLETE = [1, 2, 3, 4, 5, 1, 2, 3, 4, 5, 1, 2]
# goal 4,6,8,11 = 4+1+3+1 = 9  -> 2.25     task 1,2,10,12 = 1+2+5+2 = 10 -> 2.5
# bond 3,5,7,9  = 3+5+2+4 = 14 -> 3.5      total = 33 -> 2.75
SR_ONE_MISSING_EACH = [1, 2, np.nan, np.nan, 5, 1, 2, 3, 4, 5, 1, np.nan]
# goal 1,3,1 -> 5/3   task 1,2,5 -> 8/3   bond 5,2,4 -> 11/3   total: 3 missing > 2 -> NaN
SR_TWO_IN_BOND = [1, 2, np.nan, 4, np.nan, 1, 2, 3, 4, 5, 1, 2]
# bond: 2 missing > 1 -> NaN; total 1+2+4+1+2+3+4+5+1+2 = 25 over 10 -> 2.5 (2 allowed)


@pytest.mark.parametrize("name", ["wai-sr-client", "wai-sr-therapist"])
def test_wai_sr_scores(name: str) -> None:
    data = pd.DataFrame(
        [SR_COMPLETE, SR_ONE_MISSING_EACH, SR_TWO_IN_BOND],
        columns=[f"wai{i}" for i in range(1, 13)],
    ).assign(patient=["a", "b", "c"])
    result = score(data, name, id_columns=["patient"])
    s = result.scores.set_index("patient")
    assert s.loc["a", ["goal", "task", "bond", "total"]].tolist() == [2.25, 2.5, 3.5, 2.75]
    assert s.loc["b", "goal"] == pytest.approx(5 / 3, abs=1e-15)
    assert s.loc["b", "task"] == pytest.approx(8 / 3, abs=1e-15)
    assert s.loc["b", "bond"] == pytest.approx(11 / 3, abs=1e-15)
    assert math.isnan(s.loc["b", "total"])
    assert math.isnan(s.loc["c", "bond"])
    assert s.loc["c", "total"] == 2.5
    assert s["n_missing"].tolist() == [0, 3, 2]
    assert s["bond_n_missing"].tolist() == [0, 1, 2]
    # nothing is reverse-keyed: the keyed items are the responses
    np.testing.assert_array_equal(
        result.items.loc[0, [f"wai{i}" for i in range(1, 13)]].to_numpy(dtype=float), SR_COMPLETE
    )
    # one row per score set missing, subscales first, then the total
    assert result.incomplete.values.tolist() == [
        ["c", "bond", 2, 4, 1],
        ["b", "total", 3, 12, 2],
    ]
    assert list(result.incomplete.columns) == [
        "patient",
        "score",
        "n_missing",
        "n_items",
        "max_missing",
    ]


@pytest.mark.parametrize("name", ["wai-sr-client", "wai-sr-therapist"])
def test_wai_sr_bad_cells(name: str) -> None:
    data = pd.DataFrame([SR_COMPLETE], columns=[f"wai{i}" for i in range(1, 13)])
    data["wai3"] = 6.0  # valid on the WAI-S, not on the 1-5 WAI-SR
    data["wai7"] = 0.0
    with pytest.raises(DataError) as caught:
        score(data, name)
    message = str(caught.value)
    assert "2 responses are not valid" in message
    assert "row 1, column 'wai3': 6 (outside 1-5)" in message
    assert "row 1, column 'wai7': 0 (outside 1-5)" in message


# --- WAI-S (1-7, items 4 and 10 reverse-keyed as 8 - x) -----------------------------------
S_COMPLETE = [5, 6, 7, 2, 4, 6, 5, 7, 3, 1, 6, 4]
# keyed: wai4 = 8-2 = 6, wai10 = 8-1 = 7
# goal 4,6,8,11 = 6+6+7+6 = 25 -> 6.25   task 1,2,10,12 = 5+6+7+4 = 22 -> 5.5
# bond 3,5,7,9  = 7+4+5+3 = 19 -> 4.75   total = 66 -> 5.5
S_TASK_PRORATED = [5, 6, 7, 2, 4, 6, 5, 7, 3, 1, 6, np.nan]
# task 5,6,7 -> 6.0; total 62 over 11 items -> 62/11
S_TOO_MANY = [5, 6, np.nan, 2, np.nan, np.nan, 5, 7, 3, 1, 6, 4]
# goal: 6,7,6 -> 19/3 (prorated); bond: 2 missing -> NaN; total: 3 missing -> NaN


@pytest.mark.parametrize("name", ["wai-s-client", "wai-s-therapist"])
def test_wai_s_scores_with_reverse_keys(name: str) -> None:
    data = pd.DataFrame(
        [S_COMPLETE, S_TASK_PRORATED, S_TOO_MANY], columns=[f"wai{i}" for i in range(1, 13)]
    )
    result = score(data, name)
    s = result.scores
    assert s["row"].tolist() == [1, 2, 3]
    assert s.loc[0, ["goal", "task", "bond", "total"]].tolist() == [6.25, 5.5, 4.75, 5.5]
    assert s.loc[1, "task"] == 6.0
    assert s.loc[1, "total"] == pytest.approx(62 / 11, abs=1e-15)
    assert s.loc[2, "goal"] == pytest.approx(19 / 3, abs=1e-15)
    assert math.isnan(s.loc[2, "bond"]) and math.isnan(s.loc[2, "total"])
    assert result.items.loc[0, "wai4"] == 6.0 and result.items.loc[0, "wai10"] == 7.0
    assert result.items.loc[0, "wai1"] == 5.0


@pytest.mark.parametrize("name", ["wai-s-client", "wai-s-therapist"])
def test_wai_s_bad_cells(name: str) -> None:
    data = pd.DataFrame([S_COMPLETE, S_COMPLETE], columns=[f"wai{i}" for i in range(1, 13)]).astype(
        float
    )
    data["wai2"] = data["wai2"].astype(object)
    data.loc[1, "wai2"] = "seven"
    data.loc[0, "wai9"] = 8
    data.loc[1, "wai11"] = 2.5
    with pytest.raises(DataError) as caught:
        score(data, name)
    message = str(caught.value)
    assert "3 responses are not valid for " + name in message
    assert "whole numbers from 1 to 7" in message
    assert "row 1, column 'wai9': 8 (outside 1-7)" in message
    assert "row 2, column 'wai2': 'seven' (not a number)" in message
    assert "row 2, column 'wai11': 2.5 (not a whole number)" in message

    result = score(data, name, invalid="missing")
    assert result.n_invalid_cells == 3
    assert result.invalid_cells[["row", "item", "reason"]].values.tolist() == [
        [1, "wai9", "outside 1-7"],
        [2, "wai2", "not a number"],
        [2, "wai11", "not a whole number"],
    ]
    # row 1: bond loses wai9 -> 7,4,5 -> 16/3; row 2: task loses wai2 -> 5,7,4 -> 16/3
    assert result.scores.loc[0, "bond"] == pytest.approx(16 / 3, abs=1e-15)
    assert result.scores.loc[1, "task"] == pytest.approx(16 / 3, abs=1e-15)


def test_wai_s_as_sums() -> None:
    wai = dataclasses.replace(load_instrument("wai-s-client"), method="sum")
    data = pd.DataFrame([S_COMPLETE, S_TASK_PRORATED], columns=[f"wai{i}" for i in range(1, 13)])
    s = score(data, wai).scores
    assert s.loc[0, ["goal", "task", "bond", "total"]].tolist() == [25.0, 22.0, 19.0, 66.0]
    # prorated sums: task 18 over 3 items, times 4 = 24; total 62 over 11 items, times 12
    assert s.loc[1, "task"] == 24.0
    assert s.loc[1, "total"] == pytest.approx(62 * 12 / 11, abs=1e-12)


# --- full WAI: a template ------------------------------------------------------------------
def test_full_wai_template_loads_but_does_not_score() -> None:
    wai = load_instrument("wai-full-client")
    assert wai.template
    assert wai.items == tuple(f"wai{i}" for i in range(1, 37))
    assert (wai.response_min, wai.response_max) == (1, 7)
    assert [sub.name for sub in wai.subscales] == ["goal", "task", "bond"]
    data = pd.DataFrame([[4] * 36], columns=list(wai.items))
    with pytest.raises(SpecificationError) as caught:
        score(data, wai)
    message = str(caught.value)
    assert "wai-full-client cannot be scored" in message
    assert "subscale 'goal' has no items" in message
    assert "It is a template: copy" in message and "wai-full-client.toml" in message


def _completed_copy(tmp_path: Path, key: str) -> Path:
    shipped = Path(load_instrument("wai-full-client").source).read_text(encoding="utf-8")
    goal, task, bond = (
        [f"wai{i}" for i in range(1, 13)],
        [f"wai{i}" for i in range(13, 25)],
        [f"wai{i}" for i in range(25, 37)],
    )
    text = shipped.replace('name = "wai-full-client"', 'name = "my-wai"')
    for name, items in (("goal", goal), ("task", task), ("bond", bond)):
        header = f'[subscales.{name}]\nlabel = "{name.title()}"\n'
        filled = json.dumps(items if key else [])
        text = text.replace(f"{header}items = []", f"{header}items = {filled}")
    text = text.replace("reverse_keyed = []", 'reverse_keyed = ["wai1"]')
    text = text.replace("template = true", "template = false")
    path = tmp_path / "my-wai.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_full_wai_scores_once_the_user_completes_the_key(tmp_path: Path) -> None:
    # An arbitrary test key (not the WAI's): goal 1-12, task 13-24, bond 25-36; wai1 reversed.
    wai = load_instrument(_completed_copy(tmp_path, key="filled"))
    row = {f"wai{i}": 4.0 for i in range(1, 37)}
    row["wai1"] = 2.0  # keyed 8 - 2 = 6
    row.update({"wai13": np.nan, "wai14": np.nan, "wai25": np.nan, "wai26": np.nan})
    row["wai27"] = np.nan
    s = score(pd.DataFrame([row]), wai).scores
    assert s.loc[0, "goal"] == pytest.approx((6 + 11 * 4) / 12, abs=1e-15)
    assert s.loc[0, "task"] == 4.0  # 2 of 12 missing: prorated
    assert math.isnan(s.loc[0, "bond"])  # 3 of 12 missing > 2
    # total: 5 of 36 missing (<= 6): (6 + 30 * 4) / 31
    assert s.loc[0, "total"] == pytest.approx((6 + 30 * 4) / 31, abs=1e-15)


def test_an_incomplete_key_not_marked_as_template_fails_on_load(tmp_path: Path) -> None:
    path = _completed_copy(tmp_path, key="")
    with pytest.raises(SpecificationError, match="scoring key is incomplete"):
        load_instrument(path)


# --- DPCCQ Quality of Personal Life: codebook template ------------------------------------
def test_dpccq_qpl_codebook() -> None:
    qpl = load_instrument("dpccq-qpl")
    assert qpl.template and qpl.rater == "therapist"
    assert qpl.items == tuple(f"qpl{i}" for i in range(1, 17))
    assert (qpl.response_min, qpl.response_max) == (0, 5)
    assert qpl.subscales == () and not qpl.total and qpl.reverse_keyed == ()
    assert set(qpl.item_notes) == set(qpl.items)
    assert all(note.startswith("placeholder, ") for note in qpl.item_notes.values())
    assert "PLACEHOLDER" in qpl.notes


def test_dpccq_qpl_scoring_checks_ranges_and_counts_missing() -> None:
    items = [f"qpl{i}" for i in range(1, 17)]
    data = pd.DataFrame([[0] * 16, [5] * 16, [3] * 16], columns=items).astype(float)
    data.insert(0, "therapist", ["t1", "t2", "t3"])
    data.loc[2, ["qpl2", "qpl9"]] = np.nan
    result = score(data, "dpccq-qpl", id_columns=["therapist"])
    assert list(result.scores.columns) == ["therapist", "n_missing"]
    assert result.scores["n_missing"].tolist() == [0, 0, 2]
    assert result.n_missing_cells == 2
    assert result.items.loc[:1, items].to_numpy().tolist() == [[0.0] * 16, [5.0] * 16]

    data.loc[0, "qpl1"] = 6
    data.loc[1, "qpl16"] = -1
    with pytest.raises(DataError, match="whole numbers from 0 to 5") as caught:
        score(data, "dpccq-qpl", id_columns=["therapist"])
    assert "row 1, column 'qpl1': 6 (outside 0-5)" in str(caught.value)
    assert "row 2, column 'qpl16': -1 (outside 0-5)" in str(caught.value)
    reported = score(data, "dpccq-qpl", id_columns=["therapist"], invalid="missing")
    assert reported.scores["n_missing"].tolist() == [1, 1, 2]
    assert reported.n_invalid_cells == 2
