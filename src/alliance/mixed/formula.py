"""Parse lme4-style mixed-model formulas into a fixed part and random-effects terms.

The grammar is the one of ``lme4::lmer``: ``response ~ fixed + (expr | group)``, where the
grouping factor is a variable, an interaction ``g1:g2`` or a nesting ``g1/g2``, and ``||``
asks for uncorrelated effects. Names are R's: a dot is part of a name (``IQ.verb``,
``school.id``) and backquotes quote any other (```my group```). Expansion follows lme4
1.1-31 ``findbars`` (checked with ``findbars(y ~ (t | a/b))`` -> ``t | b:a``, ``t | a``, and
``(1 | a/b/c)`` -> ``c:(b:a)``, ``b:a``, ``a``): a nesting ``a/b`` becomes the inner term
``b:a`` followed by ``a``. Where lme4's ``expandDoubleVerts`` rewrites ``(x || g)`` as
``(1 | g) + (0 + x | g)``, one term with ``correlated=False`` is kept here (the engine uses a
diagonal covariance). ``group_name`` is lme4's name of the factor, ``c:(b:a)`` for the
innermost of three nested levels.

Handing the parts on: ``fixed`` and each ``expression`` are kept as R text. Function calls
in them (``I(day^2)``, ``log(x + 1)``, where R's ``^`` is a power) are evaluated by
:mod:`alliance.mixed.transforms` into placeholder columns named back as R prints them
(``I(day^2)``, lme4's name); the terms are then expanded and ordered as R's ``terms()`` does
by :mod:`alliance.mixed.terms` before :mod:`alliance.mixed.model_matrix` builds the columns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NoReturn

from alliance.errors import FormulaSyntaxError

_CLOSER_OF = {"(": ")", "[": "]", "{": "}"}
_OPENER_OF = {close: open_ for open_, close in _CLOSER_OF.items()}
_QUOTES = "'\"`"
_SYMBOLS = set("_.~+-*/:^()[]{}|,=<>!%")
# a grouping factor: a name, dots included (school.id), or a backquoted name (`my group`)
_NAME = re.compile(r"\s*(?:((?:[^\W\d]|\.(?!\d))[\w.]*)|`([^`]+)`)\s*")
_INTERCEPT_TERMS = ("0", "1")
# R's '.' (all other columns): a dot that is not part of a name or a number
_DOT = re.compile(r"(?<![\w.])\.(?![\w.])")
_EMPTY = re.compile(r"\(\s*\)")


@dataclass(frozen=True)
class RandomTerm:
    """One random-effects term ``(expression | grouping)`` after nesting expansion.

    ``expression`` is the normalised left side (``"1 + time"``, ``"0 + x"``); ``grouping`` the
    names of the grouping factor, inner first after nesting (``("patient", "therapist")``);
    ``correlated`` is False for ``||``; ``intercept`` follows R's rules for ``0 +``/``- 1``;
    ``variables`` are the slope terms as written (``("day", "I(day^2)")``); ``source`` is the
    bar term as the user wrote it, for messages.
    """

    expression: str
    grouping: tuple[str, ...]
    correlated: bool
    intercept: bool
    variables: tuple[str, ...]
    source: str
    name: str = field(default="", compare=False)

    @property
    def group_name(self) -> str:
        """Name of the grouping factor as lme4 prints it: ``"patient:therapist"``,
        ``"patient:(therapist:clinic)"``."""
        return self.name or ":".join(self.grouping)


@dataclass(frozen=True)
class ParsedFormula:
    """A formula split into response, fixed part and expanded random-effects terms.

    ``response`` is the left side (``"np.log(y)"``), ``fixed`` the normalised right side
    without the bar terms, ``random`` the expanded terms and ``formula`` the original text.
    """

    response: str
    fixed: str
    random: tuple[RandomTerm, ...]
    formula: str


class _Text:
    """The formula with the bracket depth of each character and a mask of quoted characters."""

    def __init__(self, formula: str) -> None:
        self.formula = formula
        self.depth: list[int] = []
        self.quoted: list[bool] = []
        stack: list[int] = []
        quote = -1
        for i, ch in enumerate(formula):
            inside_quote = quote >= 0 or ch in _QUOTES
            if quote >= 0 and ch == formula[quote]:
                quote = -1
            elif quote < 0 and ch in _QUOTES:
                quote = i
            elif quote < 0 and not (ch.isalnum() or ch.isspace() or ch in _SYMBOLS):
                self.fail(f"unknown character {ch!r}", "remove it or rename the variable", i)
            elif quote < 0 and ch in _OPENER_OF:
                if not stack or formula[stack[-1]] != _OPENER_OF[ch]:
                    self.fail(f"closing {ch!r} has no matching {_OPENER_OF[ch]!r}",
                              f"remove it or add the missing {_OPENER_OF[ch]!r}", i)
                stack.pop()
            self.depth.append(len(stack))
            self.quoted.append(inside_quote)
            if quote < 0 and ch in _CLOSER_OF:
                stack.append(i)
        if quote >= 0:
            self.fail(f"unterminated quote {formula[quote]}", "close the quoted name", quote)
        if stack:
            opener = formula[stack[-1]]
            self.fail(f"{opener!r} is never closed", f"add the missing {_CLOSER_OF[opener]!r}",
                      stack[-1])

    def fail(self, problem: str, remedy: str, position: int) -> NoReturn:
        raise FormulaSyntaxError(f"{problem}; {remedy}.", self.formula, position)

    def top(self, start: int, end: int, depth: int) -> list[int]:
        """Positions in ``[start, end)`` outside quotes and at bracket depth ``depth``."""
        return [i for i in range(start, end) if self.depth[i] == depth and not self.quoted[i]]

    def split(self, start: int, end: int, depth: int) -> list[tuple[str, int, int]]:
        """Split ``[start, end)`` at the ``+``/``-`` of ``depth`` into ``(sign, start, end)``."""
        terms: list[tuple[str, int, int]] = []
        sign, begin, last = "+", start, -1
        for i in self.top(start, end, depth) + [end]:
            if i < end and self.formula[i] not in "+-":
                continue
            segment = self.formula[begin:i]
            if segment.strip():
                lead = len(segment) - len(segment.lstrip())
                terms.append((sign, begin + lead, begin + len(segment.rstrip())))
            elif begin != start or i == end:
                where = last if i == end and last >= 0 else i
                self.fail("a term is missing", "write a term between the operators", where)
            if i < end:
                sign, begin, last = self.formula[i], i + 1, i
        return terms

    def clean(self, start: int, end: int) -> str:
        return " ".join(self.formula[start:end].split())


def _join(terms: list[tuple[str, str]]) -> str:
    """Re-join signed terms, making an implicit intercept explicit (``time`` -> ``1 + time``)."""
    if not any(text in _INTERCEPT_TERMS for _, text in terms):
        terms = [("+", "1"), *terms]
    parts = [("-" if terms[0][0] == "-" else "") + terms[0][1]]
    parts += [f" {sign} {text}" for sign, text in terms[1:]]
    return "".join(parts)


def _has_intercept(terms: list[tuple[str, str]]) -> bool:
    """R's rule: the last of ``1``/``+0``/``-1``/``-0`` wins; without any, an intercept."""
    intercept = True
    for sign, text in terms:
        if text in _INTERCEPT_TERMS:
            intercept = (text == "1") == (sign == "+")
    return intercept


def _grouping(text: _Text, start: int, end: int) -> list[tuple[str, ...]]:
    """Parse ``g1:g2/g3`` into nesting levels of interacted names: ``[("g1", "g2"), ("g3",)]``."""
    levels: list[tuple[str, ...]] = []
    names: list[str] = []
    pos = start
    while True:
        match = _NAME.match(text.formula, pos, end)
        if match is None:
            gap = text.formula[pos:end]
            _bad_grouping(text, start, end, pos + len(gap) - len(gap.lstrip()))
        names.append(match.group(1) or match.group(2))
        pos = match.end()
        if pos == end:
            return [*levels, tuple(names)]
        if text.formula[pos] not in "/:":
            _bad_grouping(text, start, end, pos)
        if text.formula[pos] == "/":
            levels.append(tuple(names))
            names = []
        pos += 1


def _bad_grouping(text: _Text, start: int, end: int, position: int) -> NoReturn:
    text.fail(f"invalid grouping factor {text.clean(start, end)!r}",
              "a grouping factor is a variable name, an interaction g1:g2 or a nesting g1/g2; "
              "make any other grouping a column of the data first", position)


def _bar_term(text: _Text, start: int, end: int, bars: list[int]) -> list[RandomTerm]:
    """Expand ``(expr | group)`` spanning ``[start, end)``, whose top-level bars are ``bars``."""
    source = text.formula[start:end]
    double = len(bars) == 2 and bars[1] == bars[0] + 1
    if len(bars) > 2 or (len(bars) == 2 and not double):
        text.fail(f"more than one bar in {source!r}",
                  "write one term per grouping factor, e.g. (1 | a) + (1 | b)", bars[-1])
    bar, depth = bars[0], text.depth[bars[0]]
    if not text.formula[start + 1 : bar].strip():
        if double:
            text.fail(f"nothing left of '||' in {source!r}",
                      "write the effects that vary by group, e.g. (time || patient)", bar)
        text.fail(f"nothing left of the bar in {source!r}",
                  "write (1 | group) for a random intercept", bar)
    if not text.formula[bars[-1] + 1 : end - 1].strip():
        text.fail(f"no grouping factor right of the bar in {source!r}",
                  "name the grouping variable, e.g. (1 | patient)", end - 1)
    terms = []
    for sign, term_start, term_end in text.split(start + 1, bar, depth):
        term = text.clean(term_start, term_end)
        if sign == "-" and term not in _INTERCEPT_TERMS:
            text.fail(f"{term!r} is subtracted in {source!r}",
                      "only the intercept can be removed (0 + x or x - 1); list the slopes "
                      "you want instead", term_start)
        terms.append((sign, term))
    intercept = _has_intercept(terms)
    variables = tuple(term for _, term in terms if term not in _INTERCEPT_TERMS)
    if not intercept and not variables:
        text.fail(f"{source!r} has no effects", "remove it, or write (1 | group)", start)
    levels = _grouping(text, bars[-1] + 1, end - 1)
    return [
        RandomTerm(
            expression=_join(terms),
            grouping=tuple(name for level in reversed(levels[: inner + 1]) for name in level),
            correlated=not double,
            intercept=intercept,
            variables=variables,
            source=source,
            name=_nested_name(levels, inner),
        )
        for inner in reversed(range(len(levels)))
    ]


def _nested_name(levels: list[tuple[str, ...]], inner: int) -> str:
    """lme4's name of the ``inner``-th factor of a nesting ``a/b/c``: ``b:a``, ``c:(b:a)``."""
    name = ":".join(levels[0])
    for depth in range(1, inner + 1):
        part = ":".join(levels[depth])
        part = f"({part})" if len(levels[depth]) > 1 else part
        name = f"{part}:({name})" if ":" in name else f"{part}:{name}"
    return name


# Cached: every fit (and every replicate of a simulation) parses its formula again. The parse
# depends on the text alone and the result is immutable all the way down (frozen dataclasses
# of strings, tuples and booleans), so callers can share it.
@lru_cache(maxsize=256)
def parse_formula(formula: str) -> ParsedFormula:
    """Split an lme4 formula into response, fixed part and expanded random-effects terms.

    Parameters
    ----------
    formula : str
        e.g. ``"wai ~ time * (burdens + satisfactions) + (time | therapist/patient)"``.

    Returns
    -------
    ParsedFormula
        ``fixed`` and each term's ``expression`` are the top-level terms joined by ``" + "``
        or ``" - "`` with runs of whitespace collapsed, and ``"1 + "`` put in front when the
        intercept is implicit (``"1"`` when the fixed part is empty); a removal the user wrote
        (``0 +``, ``- 1``) is kept. Random terms come in formula order, each nesting
        expanded innermost first as lme4 does: ``(1 | a/b)`` -> ``(1 | b:a)``, ``(1 | a)``.
        A formula without random terms is returned with ``random == ()``.

    Raises
    ------
    FormulaSyntaxError
        With the 0-based position of the offending character: no ``~``, empty response or
        right-hand side, unbalanced brackets or quotes, unknown characters, R's ``.``, a bar
        outside a parenthesised term, an empty side of a bar, or an invalid grouping factor.
    """
    text = _Text(formula)
    tildes = [i for i in text.top(0, len(formula), 0) if formula[i] == "~"]
    for i, ch in enumerate(formula):
        if ch == "~" and text.depth[i] and not text.quoted[i]:
            text.fail("'~' inside brackets", "write one formula: response ~ terms", i)
    if not tildes:
        text.fail("no '~' in the formula", "write response ~ terms, e.g. y ~ x + (1 | g)", 0)
    if len(tildes) > 1:
        text.fail("more than one '~'", "write one formula: response ~ terms", tildes[1])
    tilde = tildes[0]
    for empty in _EMPTY.finditer(formula):
        # "()" after a name is a call with no argument, reported where it is evaluated
        before = formula[: empty.start()].rstrip()
        if not text.quoted[empty.start()] and not (before and (before[-1].isalnum()
                                                              or before[-1] in "_.")):
            text.fail("empty parentheses", "write a term inside them or remove them",
                      empty.start())
    for dot in _DOT.finditer(formula):
        if not text.quoted[dot.start()]:
            text.fail("'.' (all other columns) is not supported",
                      "list the predictors, e.g. wai ~ time + burdens + (1 | therapist)",
                      dot.start())
    response = text.clean(0, tilde)
    if not response:
        text.fail("no response left of '~'", "name the outcome, e.g. wai ~ time", tilde)
    if not formula[tilde + 1 :].strip():
        text.fail("nothing right of '~'", "write the terms, e.g. y ~ 1 + (1 | g)", len(formula))
    fixed: list[tuple[str, str]] = []
    random: list[RandomTerm] = []
    used_bars: set[int] = set()
    for sign, start, end in text.split(tilde + 1, len(formula), 0):
        bars = [i for i in text.top(start + 1, end - 1, 1) if formula[i] == "|"]
        if formula[start] != "(" or min(text.depth[start + 1 : end - 1], default=1) < 1 or not bars:
            fixed.append((sign, text.clean(start, end)))
            continue
        if sign == "-":
            text.fail("a random-effects term cannot be subtracted", "remove it", start)
        random.extend(_bar_term(text, start, end, bars))
        used_bars.update(bars)
    stray = [i for i, c in enumerate(formula)
             if c == "|" and not text.quoted[i] and i not in used_bars]
    if stray and text.depth[stray[0]] == 0:
        text.fail("a bar outside parentheses",
                  "put each random-effects term in its own parentheses: y ~ x + (x | g)", stray[0])
    if stray:
        text.fail("a bar inside a larger expression",
                  "add each random-effects term on its own: y ~ x + (x | g)", stray[0])
    return ParsedFormula(
        response=response,
        fixed=_join(fixed) if fixed else "1",
        random=tuple(random),
        formula=formula,
    )
