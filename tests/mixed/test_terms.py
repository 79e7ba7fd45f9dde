"""Terms and columns named and ordered as R's ``terms()`` and lme4 name and order them.

The reference is ``tests/reference/terms_order.json``, written by
``tests/reference/terms_order.R`` (R 4.2.2, lme4 1.1-31): for each formula R's term labels,
lme4's fixed-effect names in order (``colnames(lFormula(f, d)$X)``, which are
``names(fixef(m))``), the sums of those columns and the random-effects column names; and
``deparse()`` of some expressions, R's name of a call's column.
"""

from __future__ import annotations

import json
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alliance.errors import SpecificationError, UnknownColumnError
from alliance.mixed import fit
from alliance.mixed.deparse import r_deparse
from alliance.mixed.formula import parse_formula
from alliance.mixed.model_matrix import (
    column_terms,
    formulaic_terms,
    numeric_terms,
    plain_variables,
    required_variables,
)
from alliance.mixed.spec import build_spec
from alliance.mixed.terms import formula_terms, in_r_order, written_terms
from alliance.mixed.transforms import TransformedFormula, r_syntactic, replace_calls

REFERENCE = Path(__file__).resolve().parents[1] / "reference"
FIXTURE = json.loads((REFERENCE / "terms_order.json").read_text())
CASES = {case["formula"]: case for case in FIXTURE["cases"]}


@cache
def reference_data() -> pd.DataFrame:
    return pd.read_csv(REFERENCE / FIXTURE["data"])


@pytest.mark.parametrize("formula", list(CASES))
def test_term_labels_are_rs(formula: str) -> None:
    terms = formula_terms(parse_formula(formula).fixed)
    assert list(terms.labels) == CASES[formula]["term_labels"]
    assert terms.intercept == (CASES[formula]["fixed_names"][0] == "(Intercept)")


@pytest.mark.parametrize("formula", list(CASES))
def test_fixed_effect_names_and_order_are_lme4s(formula: str) -> None:
    spec = build_spec(formula, reference_data())
    case = CASES[formula]
    assert list(spec.fixed_names) == case["fixed_names"]
    # each name labels the column R gives that name
    np.testing.assert_allclose(spec.x.sum(axis=0), case["column_sums"], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("formula", list(CASES))
def test_random_effect_names_are_lme4s(formula: str) -> None:
    spec = build_spec(formula, reference_data())
    ours = {level.name: list(level.column_names) for level in spec.levels}
    assert ours == CASES[formula]["random_names"]


@pytest.mark.parametrize(
    ("text", "deparsed"), [(entry["text"], entry["deparsed"]) for entry in FIXTURE["deparsed"]]
)
def test_calls_are_named_as_r_deparses_them(text: str, deparsed: str) -> None:
    assert r_deparse(text) == deparsed


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


def quiet_fit(formula: str, data: pd.DataFrame):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit(formula, data)


def test_dotted_names_fit_as_undotted_ones() -> None:
    data = reference_data()
    plain = data.rename(columns={"IQ.verb": "IQverb", "school.id": "schoolid"})
    dotted = quiet_fit("y ~ log(IQ.verb) * ses + (IQ.verb | school.id)", data)
    renamed = quiet_fit("y ~ log(IQverb) * ses + (IQverb | schoolid)", plain)
    assert list(dotted.fixed_effects["term"]) == ["(Intercept)", "log(IQ.verb)", "ses",
                                                  "log(IQ.verb):ses"]
    np.testing.assert_allclose(dotted.beta, renamed.beta, rtol=1e-10)
    assert dotted.deviance == pytest.approx(renamed.deviance, rel=1e-12)
    assert list(dotted.groups) == ["school.id"]
    assert list(dotted.random_effects["term1"].dropna().unique()) == ["(Intercept)", "IQ.verb"]


@pytest.mark.parametrize("formula, last", [
    ("y ~ meanses * cses + catholic * cses + f1:x + x + (1 | g)",
     ("cses:catholic", "f1q:x", "f1r:x")),
    ("y ~ `my f` * x + log(IQ.verb):`a b` + (x | `my g`)", ("`my f`v:x", "log(IQ.verb):`a b`")),
])
def test_reordered_and_quoted_terms_predict_as_fitted(formula: str, last: tuple[str, ...]) -> None:
    data = reference_data()
    result = quiet_fit(formula, data)
    assert result.spec.fixed_names[-len(last):] == last
    np.testing.assert_allclose(result.predict(data).to_numpy(), result.fitted, rtol=1e-10)


def test_bdf_with_its_dotted_column_name_fits_as_lme4() -> None:
    # the corpus renamed mlmRev's IQ.verb to IQ_verb; the original name gives lme4's fit
    case = json.loads((REFERENCE / "corpus" / "real" / "bdf_lang.json").read_text())
    data = pd.read_csv(REFERENCE / "corpus" / "data" / case["data"],
                       dtype=dict.fromkeys(case["factor_columns"], str))
    formula = case["formula"].replace("IQ_verb", "IQ.verb")
    result = quiet_fit(formula, data.rename(columns={"IQ_verb": "IQ.verb"}))
    reference = case["fits"]["REML"]
    best = reference["optimizers"][reference["best_optimizer"]]["fixed_effects"]
    assert list(result.spec.fixed_names) == [row["term"].replace("IQ_verb", "IQ.verb")
                                             for row in best]
    np.testing.assert_allclose(result.beta, [row["estimate"] for row in best], rtol=1e-5)
    assert result.deviance == pytest.approx(reference["best_deviance"], rel=1e-6)


@pytest.mark.parametrize("formula, missing", [
    ("y ~ IQ.verbal + (1 | g)", "IQ.verbal"),
    ("y ~ log(IQ.verbal) + (1 | g)", "IQ.verbal"),
    ("y ~ x + (IQ.verbal | g)", "IQ.verbal"),
    ("y ~ x + (1 | school.ids)", "school.ids"),
])
def test_unknown_dotted_names_are_named_whole(formula: str, missing: str) -> None:
    with pytest.raises(UnknownColumnError) as caught:
        build_spec(formula, reference_data())
    assert f"'{missing}'" in str(caught.value) or f"['{missing}']" in str(caught.value)


def test_attributes_of_a_column_stay_refused() -> None:
    with pytest.raises(SpecificationError, match="'IQ.verb.__class__' reads an attribute"):
        build_spec("y ~ I(IQ.verb.__class__) + (1 | g)", reference_data())


#: Sides of plain columns, read by formula_terms and not by formulaic. Names as the engine
#: takes them: with dots, in backquotes, Python keywords and builtins, numpy's and R's words.
PLAIN_SIDES = (
    "1", "0", "time", "0 + time", "time - 1", "-1 + a*b", "x - 1 + 1", "1 + 0 + x",
    "time * burdens", "time * (burdens + satisfactions)", "a:b", "a:b + b:a", "a:b + b",
    "b*a + a", "a*b*c", "a*b*c - a:b:c", "a:b:c + c:a", "c:b:a + a + b:c", "d:c:b:a + a*b",
    "(a + b + c)^2", "(a + b + c)^3", "(a + b)^2 - a:b", "a/b", "a/(b + c)", "(a + b)/c:d",
    "(a + b) %in% c", "b %in% a", "a %in% b:c", "(a + b)*(c + d)", "a:(b + c)",
    "a + a + b:a + a:b", "a + b - a", "x + x:x", "IQ.verb * time", "`IQ.verb`:x + IQ.verb",
    "`a b` * x", "`a+b`:c + `a:b`", "`lambda` + pi + e", "C + I + C:I", "`True` * `None`",
    "`if`:x + `in`", "function + TRUE:Inf + NA", "np + numpy:log + exp", "sum:len + print",
    ".hidden + x. + x_1:_x", "0 + `my f`:x:`a b`",
)


def formulaic_reading(text: str) -> tuple[tuple[tuple[str, ...], ...], set[str], set[str]]:
    """formulaic's terms (intercept as the term without variables), required and plain
    variables of a side written out term by term, as the engine read them before."""
    terms = formulaic_terms(text)
    assert terms is not None, text
    names = {name for term in terms for name in term}
    return terms, names, set(names)


@pytest.mark.parametrize("side", PLAIN_SIDES)
def test_plain_sides_are_read_as_formulaic_reads_them(side: str) -> None:
    # the text the engine builds the matrices from: terms written out in R's order
    text = in_r_order(TransformedFormula(side, {}, {})).text
    terms, required, plain = formulaic_reading(text)
    assert column_terms(text) == terms  # read without formulaic
    assert numeric_terms(text) == terms
    assert required_variables(text) == required
    assert plain_variables(text) == plain


def test_placeholders_of_calls_are_plain_columns() -> None:
    counter = [0]
    data = reference_data()
    side = in_r_order(replace_calls("log(IQ.verb) * ses + I(x^2):`a b`", data, counter))
    terms, required, _ = formulaic_reading(side.text)
    assert column_terms(side.text) == numeric_terms(side.text) == terms
    assert required_variables(side.text) == required
    assert set(required) == {*side.columns, "ses", "a b"}


@pytest.mark.parametrize(("side", "required", "plain"), [
    ("1 + C(f1)", {"f1"}, set()),
    ("1 + x + C(Sex):x", {"x", "Sex"}, {"x"}),
])
def test_sides_with_calls_are_read_by_formulaic(
    side: str, required: set[str], plain: set[str]
) -> None:
    assert column_terms(side) is None
    assert numeric_terms(side) is None
    assert required_variables(side) == required
    assert plain_variables(side) == plain


@pytest.mark.parametrize("text", ["1 + a*b", "1 + (a + b)", "1 + a - b", "+ a"])
def test_sides_not_written_term_by_term_have_no_written_terms(text: str) -> None:
    assert written_terms(text) is None
    assert column_terms(text) is None


def test_written_terms_keep_the_order_of_the_first_term_written() -> None:
    terms = written_terms("1 + b + b:a + a:b + c:a:b")
    assert terms is not None
    assert [[variable.column for variable in term] for term in terms] == [
        [], ["b"], ["b", "a"], ["c", "a", "b"]
    ]
