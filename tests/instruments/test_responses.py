"""Gathering item responses from wide and long data: columns, ids, labels, and their errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alliance.errors import DataError, SpecificationError
from alliance.instruments import score

ITEMS = [f"wai{i}" for i in range(1, 13)]


def wide(rows: int = 3, value: float = 4.0) -> pd.DataFrame:
    frame = pd.DataFrame(np.full((rows, 12), value), columns=ITEMS)
    frame.insert(0, "patient", [f"p{i}" for i in range(rows)])
    frame.insert(1, "session", [3] * rows)
    return frame


def long(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.melt(id_vars=["patient", "session"], var_name="item", value_name="response")


def test_missing_item_columns_are_named_with_suggestions() -> None:
    frame = wide().rename(columns={"wai1": "WAI1", "wai2": "wai_2"})
    with pytest.raises(DataError) as caught:
        score(frame, "wai-sr-client", id_columns=["patient", "session"])
    message = str(caught.value)
    assert "2 required columns not found" in message
    assert "'wai1' (did you mean 'WAI1'?)" in message
    assert "'wai2' (did you mean 'wai_2'" in message


def test_wide_rows_sharing_ids_are_an_error() -> None:
    frame = wide(4)
    frame.loc[2, "patient"] = "p0"
    with pytest.raises(DataError, match=r"2 rows share their ids \(patient, session\)") as caught:
        score(frame, "wai-sr-client", id_columns=["patient", "session"])
    assert "rows 1, 3." in str(caught.value)


def test_empty_ids_are_an_error() -> None:
    frame = wide(3)
    frame["session"] = frame["session"].astype(float)
    frame.loc[1, "session"] = np.nan
    with pytest.raises(DataError, match=r"column 'session' is empty in 1 rows .*rows 2\."):
        score(frame, "wai-sr-client", id_columns=["patient", "session"])


def test_a_column_cannot_be_both_id_and_item() -> None:
    with pytest.raises(SpecificationError, match="both as id and as item columns"):
        score(wide(), "wai-sr-client", id_columns=["wai1"])


def test_items_mapping_and_its_errors() -> None:
    frame = wide().rename(columns={"wai1": "q_one"})
    result = score(frame, "wai-sr-client", items={"wai1": "q_one"})
    assert result.scores["total"].tolist() == [4.0, 4.0, 4.0]
    with pytest.raises(SpecificationError, match=r"'wia1' \(did you mean 'wai1'\?\)"):
        score(frame, "wai-sr-client", items={"wia1": "q_one"})
    with pytest.raises(SpecificationError, match="same column"):
        score(frame, "wai-sr-client", items={"wai1": "q_one", "wai2": "q_one"})


def test_long_data_need_ids() -> None:
    with pytest.raises(SpecificationError, match="long data need id columns"):
        score(long(wide()), "wai-sr-client", layout="long")
    with pytest.raises(SpecificationError, match="not id columns"):
        score(long(wide()), "wai-sr-client", layout="long", id_columns=["patient", "item"])


def test_long_data_with_unknown_item_labels() -> None:
    data = long(wide(2))
    data.loc[0, "item"] = "WAI1"
    data.loc[1, "item"] = "haq3"
    with pytest.raises(DataError) as caught:
        score(data, "wai-sr-client", layout="long", id_columns=["patient", "session"])
    message = str(caught.value)
    assert "labels that are not items of wai-sr-client" in message
    assert "'WAI1': 1 rows (did you mean 'wai1'?)" in message
    assert "'haq3': 1 rows" in message


def test_long_data_repeating_an_item() -> None:
    data = long(wide(2))
    data = pd.concat([data, data.iloc[[5]]], ignore_index=True)
    with pytest.raises(DataError, match=r"2 rows repeat an item .*rows 6, 25\."):
        score(data, "wai-sr-client", layout="long", id_columns=["patient", "session"])


def test_long_data_absent_items_are_missing_and_administrations_keep_their_order() -> None:
    # reversed: the first rows are wai12 of p2, p1, p0; p1's wai12 is then removed
    data = long(wide(3)).iloc[::-1].reset_index(drop=True)
    data = data[~((data["patient"] == "p1") & (data["item"].isin(["wai3", "wai12"])))]
    result = score(data, "wai-sr-client", layout="long", id_columns=["patient", "session"])
    assert result.scores["patient"].tolist() == ["p2", "p0", "p1"]
    assert result.scores["session"].dtype == data["session"].dtype
    assert result.scores["n_missing"].tolist() == [0, 0, 2]
    assert result.n_missing_cells == 2


def test_long_data_with_a_prefix_on_the_labels() -> None:
    data = long(wide(2).rename(columns={item: f"th_{item}" for item in ITEMS}))
    result = score(
        data, "wai-sr-therapist", layout="long", id_columns=["patient", "session"], prefix="th_"
    )
    assert "th_total" in result.scores.columns
    assert result.scores["th_total"].tolist() == [4.0, 4.0]


def test_long_data_with_an_empty_item_label() -> None:
    data = long(wide(2))
    data["item"] = data["item"].astype(object)
    data.loc[3, "item"] = None
    with pytest.raises(DataError, match=r"column 'item' is empty in 1 rows .*rows 4\."):
        score(data, "wai-sr-client", layout="long", id_columns=["patient", "session"])
