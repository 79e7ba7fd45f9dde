"""instrument_from_dict: a well-formed definition builds; each malformation is named."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from alliance.errors import SpecificationError
from alliance.instruments import Instrument, instrument_from_dict

BASE: dict[str, Any] = {
    "name": "mini",
    "title": "A three-item test form",
    "citation": "None (test fixture).",
    "rater": "patient",
    "items": ["a1", "a2", "a3"],
    "reverse_keyed": ["a2"],
    "response": {"min": 0, "max": 4, "labels": {"0": "never", "4": "always"}},
    "scoring": {
        "method": "sum",
        "subscale_max_missing": 1,
        "total": True,
        "total_max_missing": 1,
        "one_subscale_per_item": True,
    },
    "subscales": {"x": {"label": "X", "items": ["a1", "a2"]}, "y": {"items": ["a3"]}},
}


def build(**changes: Any) -> Instrument:
    data = copy.deepcopy(BASE)
    for dotted, value in changes.items():
        *path, key = dotted.split("__")
        target = data
        for part in path:
            target = target[part]
        if value is None:
            target.pop(key, None)
        else:
            target[key] = value
    return instrument_from_dict(data, source="mini.toml")


def test_a_well_formed_definition() -> None:
    mini = build()
    assert mini.items == ("a1", "a2", "a3")
    assert mini.response_labels == {0: "never", 4: "always"}
    assert [(s.name, s.label, s.items) for s in mini.subscales] == [
        ("x", "X", ("a1", "a2")),
        ("y", "y", ("a3",)),
    ]
    assert mini.score_names() == ("x", "y", "total")
    assert mini.key_problems() == ()
    assert mini.source == "mini.toml"
    assert not mini.template


def test_items_from_prefix_and_count() -> None:
    mini = build(items=None, item_prefix="a", item_count=3)
    assert mini.items == ("a1", "a2", "a3")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"colour": "red"}, r"unknown keys \['colour'\]"),
        ({"scoring__weights": 1}, r"unknown keys in \[scoring\]: \['weights'\]"),
        ({"response__step": 1}, r"unknown keys in \[response\]"),
        ({"subscales__x__reverse": []}, r"unknown keys in \[subscales.x\]"),
        ({"name": "Mini Form"}, "name 'Mini Form' must be lower case"),
        ({"title": ""}, "title must be given"),
        ({"rater": "observer"}, "rater must be one of"),
        ({"items": ["a1", "a1", "a3"]}, r"listed more than once: \['a1'\]"),
        ({"items": ["1a", "a2", "a3"]}, "item ids must be letters"),
        ({"items": []}, "items must be a non-empty list"),
        ({"item_prefix": "a", "item_count": 3}, "either items or item_prefix"),
        ({"items": None, "item_prefix": "a", "item_count": 0}, "item_count must be at least 1"),
        ({"response__min": 4}, r"response min \(4\) must be below max \(4\)"),
        ({"response__max": 2.5}, "max must be a whole number"),
        ({"response__labels": {"5": "too high"}}, "must be text for a response from 0 to 4"),
        ({"response__labels": {"one": "x"}}, "is not a whole number"),
        ({"response": None}, r"the \[response\] table is missing"),
        ({"reverse_keyed": ["a9"]}, r"reverse_keyed names items .*\['a9'\]"),
        ({"subscales__x__items": ["a1", "b7"]}, r"subscales.x.items names items .*\['b7'\]"),
        ({"subscales__x__items": ["a1", "a1"]}, "lists items more than once"),
        ({"subscales__total": {"items": ["a1"]}}, "must be an identifier other than 'total'"),
        ({"scoring__method": "median"}, "scoring.method must be one of"),
        ({"scoring__subscale_max_missing": -1}, "subscale_max_missing must be a whole number"),
        ({"scoring__total": "yes"}, "scoring.total must be true or false"),
        ({"template": "no"}, "template must be true or false"),
        ({"item_notes": {"a9": "?"}}, r"item_notes names items .*\['a9'\]"),
    ],
)
def test_malformed_definitions(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecificationError, match=message) as caught:
        build(**changes)
    assert "mini.toml" in str(caught.value)


def test_key_problems_of_an_incomplete_key() -> None:
    assert build(subscales__y__items=[]).key_problems() == (
        "subscale 'y' has no items",
        "items in no subscale: a3",
    )
    assert build(subscales__y__items=["a1", "a3"]).key_problems() == (
        "items in more than one subscale: a1",
    )
    overlapping = build(scoring__one_subscale_per_item=False, subscales__y__items=["a1", "a3"])
    assert overlapping.key_problems() == ()
