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
        ({"colour": "red"}, r"colour is not a known key; expected one of citation, item_count, "),
        ({"scoring__weights": 1}, r"scoring\.weights is not a known key; expected one of method,"),
        ({"response__step": 1}, r"response\.step is not a known key; expected one of min, max, "
         r"labels\."),
        ({"subscales__x__reverse": []}, r"subscales\.x\.reverse is not a known key; expected one "
         r"of items, label\."),
        ({"name": "Mini Form"}, r"name is 'Mini Form' \(string\); expected lower case letters, "
         "digits, '-' or '_'"),
        ({"title": ""}, r"title is '' \(string\); expected a non-empty string\."),
        ({"title": None}, r"title is missing; expected a non-empty string\."),
        ({"rater": "observer"}, r"rater is 'observer' \(string\); expected one of 'patient', "
         "'therapist'"),
        ({"items": ["a1", "a1", "a3"]}, r"items lists 'a1' more than once; list each entry once\."),
        ({"items": ["1a", "a2", "a3"]}, r"items has ids that cannot be column names: \['1a'\]; "
         "expected letters, digits and '_'"),
        ({"items": []}, r"items is \[\] \(array\); expected a non-empty array of non-empty "
         "strings"),
        ({"item_prefix": "a", "item_count": 3}, "items is given together with item_prefix and "
         "item_count; give either items or item_prefix with item_count"),
        ({"items": None, "item_prefix": "a", "item_count": 0}, r"item_count is 0 \(integer\); expected a whole number of at least 1\."),
        ({"response__min": 4}, r"response\.max is 4, but response\.min is 4; expected max above "
         "min"),
        ({"response__max": 2.5}, r"response\.max is 2\.5 \(float\); expected a whole number\."),
        ({"response__labels": {"5": "too high"}}, r"response\.labels\.5 is not a response of the "
         "scale; expected a response from 0 to 4"),
        ({"response__labels": {"4": 4}}, r"response\.labels\.4 is 4 \(integer\); expected a "
         "string"),
        ({"response__labels": {"one": "x"}}, r"response\.labels\.one does not name a response; "
         "expected a whole number as the key"),
        ({"response": None}, r"response is missing; expected a table"),
        ({"reverse_keyed": ["a9"]}, r"reverse_keyed names items .*\['a9'\]"),
        ({"subscales__x__items": ["a1", "b7"]}, r"subscales.x.items names items .*\['b7'\]"),
        ({"subscales__x__items": ["a1", "a1"]}, r"subscales\.x\.items lists 'a1' more than once"),
        ({"subscales__total": {"items": ["a1"]}}, "subscales.total is not a subscale name; expected "
         "an identifier other than 'total'"),
        ({"scoring__method": "median"}, r"scoring\.method is 'median' \(string\); expected one of "
         "'mean', 'sum'"),
        ({"scoring__subscale_max_missing": -1}, r"scoring\.subscale_max_missing is -1 \(integer\); "
         "expected a whole number of at least 0"),
        ({"scoring__total": "yes"}, r"scoring\.total is 'yes' \(string\); expected true or false"),
        ({"template": "no"}, r"template is 'no' \(string\); expected true or false"),
        ({"item_notes": {"a9": "?"}}, r"item_notes names items .*\['a9'\]"),
    ],
)
def test_malformed_definitions(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecificationError, match=message) as caught:
        build(**changes)
    assert str(caught.value).startswith("mini.toml: ")


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
