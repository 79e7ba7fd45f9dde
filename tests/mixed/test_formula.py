"""Tests of the lme4-style formula parser.

Expected expansions are lme4 1.1-31 output: ``findbars(y ~ x + (t | a/b))`` gives
``t | b:a``, ``t | a``; ``findbars(y ~ (1 | a/b/c))`` gives ``c:(b:a)``, ``b:a``, ``a``;
``expandDoubleVerts(y ~ (t || g))`` gives ``(1 | g) + (0 + t | g)``; ``findbars(y ~ (1 | a/b:c))``
gives ``(b:c):a``, ``a``; R's ``terms()`` gives an intercept for ``0 + 1 + t`` and ``-0 + t``
and none for ``1 + 0 + t``.
"""

from __future__ import annotations

import pytest

from alliance.errors import FormulaSyntaxError, SpecificationError
from alliance.mixed.formula import (
    ParsedFormula,
    RandomTerm,
    parse_formula,
)


def term(
    expression: str,
    grouping: tuple[str, ...],
    variables: tuple[str, ...] = (),
    source: str = "",
    *,
    correlated: bool = True,
    intercept: bool = True,
) -> RandomTerm:
    return RandomTerm(expression, grouping, correlated, intercept, variables, source)


def test_sleepstudy_correlated_slope() -> None:
    f = "Reaction ~ Days + (Days | Subject)"
    assert parse_formula(f) == ParsedFormula(
        response="Reaction",
        fixed="1 + Days",
        random=(term("1 + Days", ("Subject",), ("Days",), "(Days | Subject)"),),
        formula=f,
    )


def test_double_bar_is_one_uncorrelated_term() -> None:
    parsed = parse_formula("Reaction ~ Days + (Days || Subject)")
    assert parsed.random == (
        term("1 + Days", ("Subject",), ("Days",), "(Days || Subject)", correlated=False),
    )
    assert parsed.fixed == "1 + Days"


def test_nesting_expands_inner_term_first() -> None:
    parsed = parse_formula("strength ~ 1 + (1 | batch/cask)")
    assert parsed.fixed == "1"
    assert [t.grouping for t in parsed.random] == [("cask", "batch"), ("batch",)]
    assert [t.group_name for t in parsed.random] == ["cask:batch", "batch"]
    assert all(t.expression == "1" and t.intercept and t.variables == () for t in parsed.random)
    assert all(t.source == "(1 | batch/cask)" for t in parsed.random)


def test_orthodont_style_power_term() -> None:
    parsed = parse_formula("height ~ age + I(age^2) + (age | Subject)")
    assert parsed.fixed == "1 + age + I(age^2)"
    assert parsed.random == (term("1 + age", ("Subject",), ("age",), "(age | Subject)"),)


def test_interaction_grouping_kept_in_user_order() -> None:
    parsed = parse_formula("pixel ~ day + I(day^2) + (day | Dog) + (1 | Side:Dog)")
    assert parsed.fixed == "1 + day + I(day^2)"
    assert parsed.random == (
        term("1 + day", ("Dog",), ("day",), "(day | Dog)"),
        term("1", ("Side", "Dog"), (), "(1 | Side:Dog)"),
    )
    assert parsed.random[1].group_name == "Side:Dog"


def test_alliance_model() -> None:
    parsed = parse_formula("wai ~ time * (burdens + satisfactions) + (time | therapist/patient)")
    assert parsed.response == "wai"
    assert parsed.fixed == "1 + time * (burdens + satisfactions)"
    assert [t.group_name for t in parsed.random] == ["patient:therapist", "therapist"]
    assert all(t.variables == ("time",) and t.correlated for t in parsed.random)


def test_slope_without_intercept() -> None:
    parsed = parse_formula("y ~ x + (0 + x | g)")
    assert parsed.random == (term("0 + x", ("g",), ("x",), "(0 + x | g)", intercept=False),)


def test_three_level_nesting_matches_lme4_order() -> None:
    parsed = parse_formula("y ~ (1|a/b/c)")
    assert [t.grouping for t in parsed.random] == [("c", "b", "a"), ("b", "a"), ("a",)]
    assert [t.group_name for t in parsed.random] == ["c:(b:a)", "b:a", "a"]
    assert parsed.fixed == "1"


def test_transformed_response() -> None:
    parsed = parse_formula("np.log(y) ~ x + (1|g)")
    assert parsed.response == "np.log(y)"
    assert parsed.fixed == "1 + x"
    assert parsed.random == (term("1", ("g",), (), "(1|g)"),)


def test_double_bar_with_nesting_expands_like_single_bar() -> None:
    parsed = parse_formula("y ~ t + (t || a/b)")
    assert [(t.group_name, t.correlated) for t in parsed.random] == [("b:a", False), ("a", False)]


def test_interaction_inside_nesting() -> None:
    parsed = parse_formula("y ~ (1 | a/b:c) + (1 | a:b/c)")
    assert [t.group_name for t in parsed.random] == ["(b:c):a", "a", "c:(a:b)", "a:b"]


@pytest.mark.parametrize(
    ("lhs", "intercept", "variables", "expression"),
    [
        ("day + I(day^2)", True, ("day", "I(day^2)"), "1 + day + I(day^2)"),
        ("x - 1", False, ("x",), "x - 1"),
        ("-1 + x", False, ("x",), "-1 + x"),
        ("x + 0", False, ("x",), "x + 0"),
        ("0 + 1 + x", True, ("x",), "0 + 1 + x"),
        ("1 + 0 + x", False, ("x",), "1 + 0 + x"),
        ("-0 + x", True, ("x",), "-0 + x"),
        ("1+np.log(session)", True, ("np.log(session)",), "1 + np.log(session)"),
        ("a:b +  c", True, ("a:b", "c"), "1 + a:b + c"),
    ],
)
def test_random_expression_intercept_and_variables(
    lhs: str, intercept: bool, variables: tuple[str, ...], expression: str
) -> None:
    (parsed,) = parse_formula(f"y ~ ({lhs} | g)").random
    assert (parsed.intercept, parsed.variables, parsed.expression) == (
        intercept,
        variables,
        expression,
    )


@pytest.mark.parametrize(
    ("formula", "fixed"),
    [
        ("y ~ (1 | g)", "1"),
        ("y ~ 0 + (1 | g)", "0"),
        ("y ~ -1 + x + (1 | g)", "-1 + x"),
        ("y ~ x - 1 + (1 | g)", "x - 1"),
        ("y ~ (1 | g) + x*(a+b)", "1 + x*(a+b)"),
        ("y ~ x +   z:w", "1 + x + z:w"),
        ("y ~ +x", "1 + x"),
        ("y ~ x + (a + b)", "1 + x + (a + b)"),
        ("y ~ (a + b)^2", "1 + (a + b)^2"),
        ("y ~ C(x, levels=['a|b']) + (1 | g)", "1 + C(x, levels=['a|b'])"),
    ],
)
def test_fixed_part(formula: str, fixed: str) -> None:
    assert parse_formula(formula).fixed == fixed


def test_no_random_terms_is_allowed() -> None:
    parsed = parse_formula("y ~ x")
    assert parsed.random == ()
    assert parsed.fixed == "1 + x"


@pytest.mark.parametrize(
    ("formula", "position", "words"),
    [
        ("y  x + (1 | g)", 0, "no '~'"),
        (" ~ x + (1 | g)", 1, "no response"),
        ("y ~ ", 4, "nothing right"),
        ("y ~ x ~ z", 6, "more than one '~'"),
        ("y ~ I(x ~ z)", 8, "inside brackets"),
        ("y ~ x + (1 | g", 8, "never closed"),
        ("y ~ x + ((1 | g)", 8, "never closed"),
        ("y ~ x + 1 | g)", 13, "no matching"),
        ("y ~ I(x] + z", 7, "no matching"),
        ("y ~ x + \"a", 8, "unterminated quote"),
        ("y ~ x + ( | g)", 10, "nothing left of the bar"),
        ("y ~ x + (x | )", 13, "no grouping factor"),
        ("y ~ x + (x || )", 14, "no grouping factor"),
        ("y ~ x + ( || g)", 10, "nothing left of '||'"),
        ("y ~ x | g", 6, "outside parentheses"),
        ("y | g ~ x", 2, "outside parentheses"),
        ("y ~ x*(1 | g)", 9, "inside a larger expression"),
        ("y ~ (1 | g)*x", 7, "inside a larger expression"),
        ("y ~ x + (1 | g + h)", 15, "invalid grouping factor 'g + h'"),
        ("y ~ x + (1 | log(g))", 16, "invalid grouping factor 'log(g)'"),
        ("y ~ x + (1 | 2g)", 13, "invalid grouping factor"),
        ("y ~ x + (1 | a/)", 15, "invalid grouping factor"),
        ("y ~ x + (1 | g | h)", 15, "more than one bar"),
        ("y ~ x + (1 | | h)", 13, "more than one bar"),
        ("y ~ x + (0 | g)", 8, "has no effects"),
        ("y ~ x + (x - z | g)", 13, "'z' is subtracted"),
        ("y ~ x - (1 | g)", 8, "cannot be subtracted"),
        ("y ~ x + + z", 8, "a term is missing"),
        ("y ~ x +", 6, "a term is missing"),
        ("y ~ x + $z", 8, "unknown character '$'"),
        ("y ~ x; z", 5, "unknown character ';'"),
    ],
)
def test_errors_point_at_the_problem(formula: str, position: int, words: str) -> None:
    with pytest.raises(FormulaSyntaxError) as info:
        parse_formula(formula)
    error = info.value
    assert error.position == position
    assert error.formula == formula
    assert words in str(error)
    assert "\n  " + " " * position + "^" in str(error)
    assert ";" in str(error).splitlines()[0]  # the problem is followed by its remedy


def test_syntax_error_is_a_specification_error() -> None:
    with pytest.raises(SpecificationError):
        parse_formula("y ~ (1 | )")


def test_parsed_parts_keep_r_text() -> None:
    # the columns of I(day^2) are built from this text by alliance.mixed.transforms
    # (tests/mixed/test_spec.py); the parser hands R's text on unchanged
    parsed = parse_formula("y ~ day * b + I(day^2) + (0 + day + I(day^2) || g)")
    assert parsed.fixed == "1 + day * b + I(day^2)"
    (random,) = parsed.random
    assert random.expression == "0 + day + I(day^2)"
    assert random.variables == ("day", "I(day^2)")


@pytest.mark.parametrize(
    "formula,names",
    [
        ("y ~ (1 | a/b)", ["b:a", "a"]),
        ("y ~ (1 | a/b/c)", ["c:(b:a)", "b:a", "a"]),
        ("y ~ (1 | a/b:c)", ["(b:c):a", "a"]),
        ("y ~ (1 | g1:g2)", ["g1:g2"]),
    ],
)
def test_group_names_are_lme4s(formula, names):
    # lme4 1.1-31: names(ngrps(lmer(...))) for these nestings
    assert [term.group_name for term in parse_formula(formula).random] == names
