"""The field readers of every configuration: what each accepts, what it refuses, and in which
words (file, dotted field, found value with its TOML type, what was expected)."""

from __future__ import annotations

import datetime
import re
from typing import Any

import numpy as np
import pytest

from alliance.errors import SpecificationError
from alliance.io import REQUIRED, Section, naming_file
from alliance.io import config_fields as fields


def refusal(read: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(SpecificationError) as caught:
        read(*args, **kwargs)
    return str(caught.value)


# ---------------------------------------------------------------- describing values


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("many", "'many' (string)"),
        (70, "70 (integer)"),
        (np.int64(3), "3 (integer)"),
        (2.5, "2.5 (float)"),
        (float("inf"), "inf (float)"),
        (float("nan"), "nan (float)"),
        (True, "true (boolean)"),
        ([1, "a", False], "[1, 'a', false] (array)"),
        ({"a": 1}, "{a = 1} (table)"),
        (datetime.date(2013, 1, 2), "datetime.date(2013, 1, 2) (date)"),
        (None, "None (Python NoneType)"),
    ],
)
def test_a_found_value_is_shown_as_toml_with_its_type(value: Any, shown: str) -> None:
    assert fields.show(value) == shown


def test_long_values_are_cut() -> None:
    shown = fields.show(list(range(100)))
    assert shown.endswith("... (array)") and len(shown) == fields.MAX_SHOWN + len(" (array)")


def test_dotted_names() -> None:
    assert fields.join("", "seed") == "seed"
    assert fields.join("sample", "n_patients") == "sample.n_patients"
    assert fields.join("schedule.waves", 2) == "schedule.waves[2]"


# ---------------------------------------------------------------- the message form


def test_every_message_names_file_field_found_and_expected() -> None:
    message = refusal(fields.integer, "many", "sample.n_therapists", minimum=1,
                      source="design.toml", example="70")
    assert message == ("design.toml: sample.n_therapists is 'many' (string); expected a whole "
                       "number of at least 1, e.g. 70.")


def test_without_a_file_the_message_starts_with_the_field() -> None:
    assert refusal(fields.boolean, 1, "report.show_identifiers") == (
        "report.show_identifiers is 1 (integer); expected true or false.")


def test_missing_and_refused_values() -> None:
    assert refusal(fields.missing, "sample.therapists", "a whole number", source="d.toml",
                   example="70") == "d.toml: sample.therapists is missing; expected a whole " \
                                    "number, e.g. 70."
    assert refusal(fields.refuse, "", "is empty", "add a [sample] table") == (
        "the top level is empty; add a [sample] table.")


def test_naming_file_prefixes_once() -> None:
    with pytest.raises(SpecificationError, match=r"^d\.toml: alpha is 2 \(integer\)") as caught:
        with naming_file("d.toml"):
            fields.number(2, "alpha", below=1)
    assert str(caught.value).count("d.toml") == 1
    with pytest.raises(SpecificationError) as caught:
        with naming_file("d.toml"):
            fields.number(2, "alpha", below=1, source="d.toml")
    assert str(caught.value).count("d.toml") == 1
    with pytest.raises(KeyError):
        with naming_file("d.toml"):
            raise KeyError("not a configuration error")


# ---------------------------------------------------------------- tables and keys


def test_table() -> None:
    assert fields.table({"a": 1}, "x") == {"a": 1}
    assert refusal(fields.table, [1], "predictors.a", source="d.toml") == (
        "d.toml: predictors.a is [1] (array); expected a table.")


def test_unknown_keys_are_refused_with_a_suggestion() -> None:
    fields.known_keys({"n_patients": 3}, ("n_therapists", "n_patients"), "sample")
    assert refusal(fields.known_keys, {"n_therapist": 3}, ("n_therapists", "n_patients"),
                   "sample", source="d.toml") == (
        "d.toml: sample.n_therapist is not a known key (did you mean 'n_therapists'?); "
        "expected one of n_therapists, n_patients.")


def test_every_unknown_key_is_named_and_a_set_of_keys_is_listed_sorted() -> None:
    message = refusal(fields.known_keys, {"Seed": 1, "xyz": 2, "title": "t"},
                      {"title", "seed"}, "", note="see the example")
    assert message == ("Seed (did you mean 'seed'?) and xyz are not known keys; expected one "
                       "of seed, title (see the example).")


def test_suggestion() -> None:
    assert fields.suggestion("sesion", ["session", "patient"]) == " (did you mean 'session'?)"
    assert fields.suggestion("zzz", ["session", "patient"]) == ""


# ---------------------------------------------------------------- scalars


def test_text() -> None:
    assert fields.text("", "x") == ""
    assert fields.text(" a ", "x", nonempty=True) == " a "
    assert refusal(fields.text, 3, "title") == "title is 3 (integer); expected a string."
    assert refusal(fields.text, "  ", "title", nonempty=True) == (
        "title is '  ' (string); expected a non-empty string.")


def test_choice() -> None:
    assert fields.choice("ml", "factors.method", ("minres", "ml")) == "ml"
    assert refusal(fields.choice, "ML", "factors.method", ("minres", "ml")) == (
        "factors.method is 'ML' (string); expected one of 'minres', 'ml'.")
    assert "is 1 (integer)" in refusal(fields.choice, 1, "m", ("a",))
    assert "is [] (array)" in refusal(fields.choice, [], "m", ("a",))


@pytest.mark.parametrize("value", [True, False])
def test_boolean_accepts_true_and_false(value: bool) -> None:
    assert fields.boolean(value, "x") is value


@pytest.mark.parametrize(("value", "shown"), [(0, "0 (integer)"), (1, "1 (integer)"),
                                              ("true", "'true' (string)")])
def test_boolean_refuses_numbers_and_strings(value: Any, shown: str) -> None:
    assert refusal(fields.boolean, value, "scoring.total") == (
        f"scoring.total is {shown}; expected true or false.")


def test_integer_accepts_whole_numbers_within_the_bounds() -> None:
    assert fields.integer(3, "x") == 3
    assert fields.integer(np.int64(3), "x", minimum=3, maximum=3) == 3
    assert fields.integer(70.0, "x", whole_floats=True) == 70
    assert type(fields.integer(70.0, "x", whole_floats=True)) is int


@pytest.mark.parametrize(
    ("value", "options", "expected"),
    [
        (True, {}, "true (boolean); expected a whole number."),
        ("7", {}, "'7' (string); expected a whole number."),
        (2.5, {"whole_floats": True}, "2.5 (float); expected a whole number."),
        (float("inf"), {"whole_floats": True}, "inf (float); expected a whole number."),
        (70.0, {}, "70.0 (float); expected a whole number, written without a decimal point."),
        (-1, {"minimum": 0}, "-1 (integer); expected a whole number of at least 0."),
        (5, {"minimum": 0, "maximum": 4}, "5 (integer); expected a whole number of at least 0 "
                                          "and at most 4."),
    ],
)
def test_integer_refuses(value: Any, options: dict[str, Any], expected: str) -> None:
    assert refusal(fields.integer, value, "seed", **options) == f"seed is {expected}"


def test_number_accepts_finite_numbers_within_the_bounds() -> None:
    assert fields.number(1, "x") == 1.0 and type(fields.number(1, "x")) is float
    assert fields.number(np.float32(0.5), "x", above=0, maximum=0.5) == 0.5
    assert fields.number(0.5, "x", minimum=0.5, below=1) == 0.5
    assert fields.number(1.0, "x", integers=False) == 1.0


@pytest.mark.parametrize(
    ("value", "options", "expected"),
    [
        (False, {}, "false (boolean); expected a number."),
        ("0.5", {}, "'0.5' (string); expected a number."),
        (float("nan"), {}, "nan (float); expected a number."),
        (float("-inf"), {}, "-inf (float); expected a number."),
        (0, {"above": 0}, "0 (integer); expected a number above 0."),
        (1.0, {"minimum": 0.5, "below": 1}, "1.0 (float); expected a number of at least 0.5 "
                                             "and below 1."),
        (1.5, {"above": 0, "maximum": 1}, "1.5 (float); expected a number above 0 and at "
                                          "most 1."),
        (-0.1, {"minimum": 0}, "-0.1 (float); expected a number of at least 0."),
        (1, {"integers": False, "above": 0, "maximum": 1},
         "1 (integer); expected a number above 0 and at most 1, written with a decimal point."),
    ],
)
def test_number_refuses(value: Any, options: dict[str, Any], expected: str) -> None:
    assert refusal(fields.number, value, "alpha", **options) == f"alpha is {expected}"


# ---------------------------------------------------------------- arrays


def test_arrays() -> None:
    assert fields.array((1, 2), "x") == (1, 2)
    assert fields.numbers([3, 12.5], "schedule.waves") == (3.0, 12.5)
    assert fields.numbers([0.7, 0], "t", length=2) == (0.7, 0.0)
    assert fields.texts(["a", "b"], "x", unique=True) == ("a", "b")
    assert fields.texts([], "x") == ()
    assert fields.matrix([[1, 0.5], [0.5, 1]], "c") == ((1.0, 0.5), (0.5, 1.0))


@pytest.mark.parametrize(
    ("read", "value", "options", "expected"),
    [
        (fields.array, "1, 2", {}, "x is '1, 2' (string); expected an array of values."),
        (fields.array, [], {"nonempty": True}, "x is [] (array); expected a non-empty array "
                                               "of values."),
        (fields.numbers, [0.7], {"length": 2}, "x is [0.7] (array); expected an array of 2 "
                                               "numbers."),
        (fields.numbers, [3, "12"], {}, "x[1] is '12' (string); expected a number."),
        (fields.numbers, 3, {}, "x is 3 (integer); expected an array of numbers."),
        (fields.texts, ["a", ""], {}, "x[1] is '' (string); expected a non-empty string."),
        (fields.texts, ["a", 1], {}, "x[1] is 1 (integer); expected a non-empty string."),
        (fields.texts, [], {"nonempty": True}, "x is [] (array); expected a non-empty array of "
                                               "non-empty strings."),
        (fields.texts, ["a", "b", "a"], {"unique": True}, "x lists 'a' more than once; list "
                                                          "each entry once."),
        (fields.matrix, [1, 0], {}, "x[0] is 1 (integer); expected an array of numbers."),
        (fields.matrix, [[1, 0], [0, True]], {}, "x[1][1] is true (boolean); expected a "
                                                 "number."),
    ],
)
def test_arrays_refuse(read: Any, value: Any, options: dict[str, Any], expected: str) -> None:
    assert refusal(read, value, "x", **options) == expected


# ---------------------------------------------------------------- sections


DATA = {"title": "t", "seed": 7, "models": {"confidence": 0.9, "robust": "cr2"},
        "waves": [3, 12], "names": ["a"], "flag": True}


def test_a_section_reads_present_values_and_returns_defaults() -> None:
    top = Section.of(DATA, source="s.toml")
    models = top.section("models")
    assert (models.field, models.source) == ("models", "s.toml")
    assert models.number("confidence", 0.95, minimum=0.5, below=1) == 0.9
    assert models.choice("robust", ("none", "cr2"), "none") == "cr2"
    assert models.choice("df_method", ("satterthwaite",), "satterthwaite") == "satterthwaite"
    assert top.integer("seed", 2013, minimum=0) == 7
    assert top.text("title", nonempty=True) == "t"
    assert top.text("truth", None) is None
    assert top.boolean("flag", False) is True and top.boolean("other", False) is False
    assert top.numbers("waves") == (3.0, 12.0)
    assert top.texts("names", None, unique=True) == ("a",)
    assert top.section("report").data == {} and "report" not in top
    assert top.get("sheet", None) is None
    assert top.name("") == "" and models.name("") == "models"


@pytest.mark.parametrize(
    ("read", "expected"),
    [
        (lambda s: s.integer("therapists", example="70"),
         "sample.therapists is missing; expected a whole number, e.g. 70."),
        (lambda s: s.number("mean"), "sample.mean is missing; expected a number."),
        (lambda s: s.text("file"), "sample.file is missing; expected a string."),
        (lambda s: s.choice("c", ("a", "b")), "sample.c is missing; expected one of 'a', 'b'."),
        (lambda s: s.boolean("b"), "sample.b is missing; expected true or false."),
        (lambda s: s.numbers("w"), "sample.w is missing; expected an array of numbers."),
        (lambda s: s.texts("t", REQUIRED),
         "sample.t is missing; expected an array of non-empty strings."),
        (lambda s: s.text("name", nonempty=True),
         "sample.name is missing; expected a non-empty string."),
        (lambda s: s.get("g", expected="a date"), "sample.g is missing; expected a date."),
        (lambda s: s.section("inner", required=True, example="[sample.inner] a = 1"),
         "sample.inner is missing; expected a table, e.g. [sample.inner] a = 1."),
    ],
)
def test_a_section_refuses_missing_required_values(read: Any, expected: str) -> None:
    sample = Section.of({}, "sample", "d.toml")
    assert refusal(read, sample) == f"d.toml: {expected}"


def test_a_section_names_file_and_dotted_field_in_every_refusal() -> None:
    top = Section.of({"sample": {"n": "x", "extra": 1}, "list": 3}, source="d.toml")
    sample = top.section("sample")
    assert refusal(sample.integer, "n") == "d.toml: sample.n is 'x' (string); expected a " \
                                           "whole number."
    assert refusal(sample.known_keys, ("n", "extras")) == (
        "d.toml: sample.extra is not a known key (did you mean 'extras'?); expected one of n, "
        "extras.")
    assert refusal(sample.refuse, "n", "and m exclude each other", "give one of them") == (
        "d.toml: sample.n and m exclude each other; give one of them.")
    assert refusal(sample.wrong, "n", "a count", "3") == (
        "d.toml: sample.n is 'x' (string); expected a count, e.g. 3.")
    assert refusal(top.section, "list") == "d.toml: list is 3 (integer); expected a table."
    assert refusal(Section.of, [], "", "d.toml") == (
        "d.toml: the top level is [] (array); expected a table.")


def test_the_messages_have_one_form() -> None:
    """``<file>: <field> <problem>; <remedy>.`` for every reader."""
    form = re.compile(r"^d\.toml: [\w.\[\]]+ (is|lists) .+; .+\.$")
    section = Section.of({"a": "x", "b": [1, 1]}, "s", "d.toml")
    for read in (lambda: section.integer("a"), lambda: section.number("a"),
                 lambda: section.boolean("a"), lambda: section.choice("a", ("y",)),
                 lambda: section.numbers("a"), lambda: section.texts("a"),
                 lambda: section.texts("b"), lambda: section.text("b"),
                 lambda: section.integer("z")):
        assert form.match(refusal(read)), refusal(read)
