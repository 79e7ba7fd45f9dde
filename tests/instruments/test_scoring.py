"""score(): layouts agree, names and prefixes, the invalid-cell policy, the result object."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alliance.errors import DataError, SpecificationError
from alliance.instruments import ScoreResult, load_instrument, score

ITEMS = [f"wai{i}" for i in range(1, 13)]


def random_wai_s(n: int = 40, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    values = rng.integers(1, 8, size=(n, 12)).astype(float)
    values[rng.random(values.shape) < 0.12] = np.nan
    frame = pd.DataFrame(values, columns=ITEMS)
    frame.insert(0, "patient", np.repeat(np.arange(n // 4), 4))
    frame.insert(1, "session", np.tile([3, 12, 20, 40], n // 4))
    return frame


def test_wide_and_long_layouts_give_the_same_scores() -> None:
    data = random_wai_s()
    by_row = score(data, "wai-s-client", id_columns=["patient", "session"])
    melted = data.melt(id_vars=["patient", "session"], var_name="item", value_name="response")
    by_item = score(melted, "wai-s-client", layout="long", id_columns=["patient", "session"])
    pd.testing.assert_frame_equal(by_row.scores, by_item.scores)
    pd.testing.assert_frame_equal(by_row.items, by_item.items)
    pd.testing.assert_frame_equal(by_row.incomplete, by_item.incomplete)
    assert by_row.n_missing_cells == by_item.n_missing_cells == int(data[ITEMS].isna().sum().sum())
    assert len(by_row.incomplete) > 0  # the random data do exercise the missing-item rules


def test_scores_match_a_direct_computation() -> None:
    data = random_wai_s()
    result = score(data, "wai-s-client", id_columns=["patient", "session"])
    keyed = data[ITEMS].copy()
    keyed[["wai4", "wai10"]] = 8 - keyed[["wai4", "wai10"]]
    bond = keyed[["wai3", "wai5", "wai7", "wai9"]]
    expected = bond.mean(axis=1).where(bond.isna().sum(axis=1) <= 1)
    np.testing.assert_allclose(result.scores["bond"], expected, rtol=0, atol=1e-15)
    total = keyed.mean(axis=1).where(keyed.isna().sum(axis=1) <= 2)
    np.testing.assert_allclose(result.scores["total"], total, rtol=0, atol=1e-15)


def test_score_columns_and_prefix() -> None:
    data = random_wai_s(8).rename(columns={item: f"pt_{item}" for item in ITEMS})
    result = score(data, "wai-s-client", id_columns=["patient", "session"], prefix="pt_")
    assert list(result.scores.columns) == [
        "patient",
        "session",
        "pt_goal",
        "pt_goal_n_missing",
        "pt_task",
        "pt_task_n_missing",
        "pt_bond",
        "pt_bond_n_missing",
        "pt_total",
        "pt_total_n_missing",
        "pt_n_missing",
    ]
    assert list(result.items.columns) == ["patient", "session", *ITEMS]


def test_an_instrument_object_and_its_name_score_alike() -> None:
    data = random_wai_s(8)
    by_name = score(data, "wai-s-client")
    by_object = score(data, load_instrument("wai-s-client"))
    pd.testing.assert_frame_equal(by_name.scores, by_object.scores)


def test_input_is_not_modified_and_its_index_does_not_matter() -> None:
    data = random_wai_s(12).iloc[[1, 5, 9]]
    before = data.copy()
    result = score(data, "wai-s-client", id_columns=["patient", "session"])
    pd.testing.assert_frame_equal(data, before)
    assert list(result.scores.index) == [0, 1, 2]
    assert result.scores["patient"].tolist() == data["patient"].tolist()


def test_bad_cells_are_capped_in_the_message() -> None:
    data = pd.DataFrame(np.full((25, 12), 4.0), columns=ITEMS)
    data["wai1"] = 9.0
    with pytest.raises(DataError) as caught:
        score(data, "wai-s-client")
    message = str(caught.value)
    assert message.startswith("25 responses are not valid for wai-s-client")
    assert "row 20, column 'wai1': 9 (outside 1-7)" in message
    assert "row 21," not in message
    assert "... and 5 more" in message
    assert "invalid='missing'" in message


def test_invalid_cells_treated_as_missing_are_reported() -> None:
    data = pd.DataFrame(np.full((3, 12), 4.0), columns=ITEMS)
    data.loc[0, "wai1"] = 0.0
    data.loc[2, "wai2"] = np.nan
    result = score(data, "wai-s-client", invalid="missing")
    assert result.n_invalid_cells == 1 and result.n_missing_cells == 1
    assert result.invalid_cells.to_dict(orient="records") == [
        {"row": 1, "column": "wai1", "item": "wai1", "value": 0.0, "reason": "outside 1-7"}
    ]
    assert result.scores["task_n_missing"].tolist() == [1, 0, 1]


def test_an_administration_with_no_answers() -> None:
    data = pd.DataFrame(np.full((2, 12), 4.0), columns=ITEMS)
    data.loc[1, :] = np.nan
    result = score(data, "wai-s-client")
    assert result.scores.loc[1, ["goal", "task", "bond", "total"]].isna().all()
    assert result.incomplete["row"].tolist() == [2, 2, 2, 2]
    assert result.incomplete["score"].tolist() == ["goal", "task", "bond", "total"]


@pytest.mark.parametrize(
    ("option", "message"),
    [({"layout": "tall"}, "layout must be"), ({"invalid": "ignore"}, "invalid must be")],
)
def test_unknown_options(option: dict[str, str], message: str) -> None:
    with pytest.raises(SpecificationError, match=message):
        score(random_wai_s(4), "wai-s-client", **option)  # type: ignore[arg-type]


def test_id_columns_named_like_scores() -> None:
    data = random_wai_s(4).rename(columns={"session": "total"})
    with pytest.raises(SpecificationError, match=r"id columns \['total'\]"):
        score(data, "wai-s-client", id_columns=["patient", "total"])


def test_result_object() -> None:
    data = random_wai_s(8)
    result = score(data, "wai-s-client", id_columns=["patient", "session"])
    assert isinstance(result, ScoreResult)
    assert result.n_administrations == 8
    frame = result.to_frame()
    pd.testing.assert_frame_equal(frame, result.scores)
    assert frame is not result.scores
    payload = result.to_dict()
    assert payload["instrument"] == "wai-s-client"
    assert payload["n_administrations"] == 8
    assert payload["n_missing_cells"] == result.n_missing_cells
    assert len(payload["scores"]) == 8
    assert isinstance(payload["scores"][0]["patient"], int)
    assert len(payload["incomplete"]) == len(result.incomplete)
    with pytest.raises(AttributeError):
        result.n_missing_cells = 0  # type: ignore[misc]
