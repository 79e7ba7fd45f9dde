"""Terms named and ordered as R's ``terms()`` names and orders them (R 4.2.2)."""

from __future__ import annotations

import pytest

from alliance.errors import SpecificationError
from alliance.mixed.terms import formula_terms
from alliance.mixed.transforms import r_syntactic


@pytest.mark.parametrize(
    ("text", "labels"),
    [
        ("1 + a:b + b", ("b", "a:b")),
        ("1 + b*a + a", ("b", "a", "b:a")),
        ("1 + meanses * cses + catholic * cses",
         ("meanses", "cses", "catholic", "meanses:cses", "cses:catholic")),
        ("1 + a*b*c - a:b:c", ("a", "b", "c", "a:b", "a:c", "b:c")),
        ("1 + (a + b + c)^3", ("a", "b", "c", "a:b", "a:c", "b:c", "a:b:c")),
        ("1 + a/(b + c)", ("a", "a:b", "a:c")),
        ("1 + (a + b) %in% c", ("a:c", "b:c")),
        ("1 + C(sex):x + x", ("x", "C(sex):x")),
        ("1 + `a b`:x + IQ.verb", ("IQ.verb", "`a b`:x")),
        ("1 + `IQ.verb`:x", ("IQ.verb:x",)),
    ],
)
def test_r_term_algebra(text: str, labels: tuple[str, ...]) -> None:
    # R 4.2.2: attr(terms(y ~ <text>), "term.labels")
    assert formula_terms(text).labels == labels


@pytest.mark.parametrize(
    ("text", "intercept"),
    [("1 + x", True), ("0 + x", False), ("x - 1", False), ("-1 + x", False),
     ("0 + 1 + x", True), ("1 + 0 + x", False), ("-0 + x", True), ("x - 1 + 1", True)],
)
def test_intercept_follows_r(text: str, intercept: bool) -> None:
    assert formula_terms(text).intercept is intercept


def test_the_same_call_is_one_variable() -> None:
    assert formula_terms("1 + I(x^2) + I( x^2 ):z").labels == ("I(x^2)", "I(x^2):z")


@pytest.mark.parametrize("text, words", [
    ("1 + x + 2", "2 is not a term"),
    ("1 + (a + b)^x", "whole number"),
    ("1 + x +", "ends after an operator"),
    ("1 + (x", "never closed"),
])
def test_unreadable_terms_are_specification_errors(text: str, words: str) -> None:
    with pytest.raises(SpecificationError, match=words.replace("(", r"\(")):
        formula_terms(text)


@pytest.mark.parametrize(
    ("name", "syntactic"),
    [("IQ.verb", True), (".hidden", True), ("a b", False), ("_x", False), (".2x", False),
     ("x_1", True), ("if", False), ("TRUE", False), ("1x", False)],
)
def test_r_syntactic_names(name: str, syntactic: bool) -> None:
    # R: make.names(name) == name
    assert r_syntactic(name) is syntactic
