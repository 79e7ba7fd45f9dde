"""R's ``terms()`` of one formula side: which terms a formula has, in what order, named how.

lme4 builds the fixed-effects matrix with ``model.matrix(nobars(formula), data)`` and each
random-effects term's columns with ``model.matrix(~ expr, data)``, so both follow R's
``terms.formula`` (documented in ``?terms.formula`` and ``?formula``; the rules below are
those of its C code, ``TermsCode`` in R's ``src/library/stats/src/model.c``):

- the variables are numbered in their order of first appearance in the formula
  (``attr(terms(f), "variables")``), and a term is the set of its variables, so the
  variables of an interaction are named in that order whatever order it was written in:
  ``y ~ a:b + b`` has the terms ``b`` and ``a:b``; ``y ~ b*a + a`` has ``b``, ``a``, ``b:a``;
  after ``meanses * cses``, ``catholic * cses`` adds ``cses:catholic``;
- ``a + b`` is the terms of ``a`` followed by those of ``b`` (a term already present is
  dropped), ``a:b`` every union of a term of ``a`` and one of ``b`` (``a`` outermost),
  ``a*b`` is ``a + b + a:b``, ``a/b`` is ``a`` followed by each term of ``b`` joined with all
  variables of ``a``, ``b %in% a`` each term of ``b`` joined with all variables of ``a``,
  ``(a + b + c)^2`` all unions of up to two terms, ``a - b`` the terms of ``a`` that are not
  terms of ``b``; ``1``, ``0``, ``- 1``, ``- 0`` set the intercept (the last one wins);
- the terms are then sorted by their number of variables (main effects, then two-way, then
  three-way interactions), keeping formula order within a degree (``keep.order = FALSE``):
  ``y ~ a:b:c + c:a`` has ``a:c``, ``a:b:c``;
- a term's label joins its variables with ``:``; a variable is named as R deparses it
  (:mod:`alliance.mixed.deparse`), a name that is not syntactic in R in backquotes
  (```a b```).

Checked with R 4.2.2 (``attr(terms(f), "term.labels")``, ``colnames(model.matrix(f, d))``)
and lme4 1.1-31 (``colnames(lFormula(f, d)$X)``) on the formulas of
``tests/reference/terms_order.R``.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass
from functools import lru_cache

from alliance.errors import SpecificationError
from alliance.mixed.deparse import r_deparse
from alliance.mixed.transforms import TransformedFormula, r_syntactic

_OPERATORS = ("%in%", "+", "-", "*", "/", ":", "^", "(", ")")
_NAME = re.compile(r"(?:[A-Za-z_]|\.(?!\d))[\w.]*")
_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_CLOSER = {"(": ")", "[": "]", "{": "}"}


@dataclass(frozen=True)
class Variable:
    """A variable of a formula side as written: a column name or an expression (``C(g)``).

    ``column`` is the data column it names, or None for an expression; ``label`` is R's name
    of it (```a b``` for a column name that is not syntactic in R, ``log(x + 3)`` as R
    deparses ``log(x+3)``); expressions R deparses alike are one variable.
    """

    text: str
    column: str | None

    @property
    def label(self) -> str:
        if self.column is None:
            return r_deparse(self.text)
        return self.column if r_syntactic(self.column) else f"`{self.column}`"

    @property
    def formulaic(self) -> str:
        """The variable in formulaic's syntax: a column name that is not a Python name is
        backquoted (```IQ.verb```)."""
        if self.column is None or (self.column.isidentifier()
                                   and not keyword.iskeyword(self.column)):
            return self.text if self.column is None else self.column
        return f"`{self.column}`"


@dataclass(frozen=True)
class Terms:
    """The terms of a formula side in R's order.

    Attributes
    ----------
    intercept : bool
        Whether the side has an intercept.
    variables : tuple of Variable
        In order of first appearance.
    terms : tuple of tuple of int
        Each term as the indices of its variables in ``variables``, ascending; terms sorted
        by degree, formula order within a degree.
    """

    intercept: bool
    variables: tuple[Variable, ...]
    terms: tuple[tuple[int, ...], ...]

    @property
    def labels(self) -> tuple[str, ...]:
        """R's term labels (``attr(terms(f), "term.labels")``)."""
        return tuple(":".join(self.variables[i].label for i in term) for term in self.terms)

    @property
    def formulaic_text(self) -> str:
        """The side written out term by term for formulaic, which keeps the order given."""
        parts = ["1" if self.intercept else "0"]
        parts += [":".join(self.variables[i].formulaic for i in term) for term in self.terms]
        return " + ".join(parts)


class _Parser:
    """Recursive descent over R's formula operators, with R's precedence (``?Syntax``):
    ``^`` above ``:``, above ``%in%``, above ``*`` and ``/``, above ``+`` and ``-``."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = self._tokenize(text)
        self.index = 0
        self.variables: dict[str, int] = {}
        self.atoms: list[Variable] = []
        self.intercept = True
        self.parity = True

    def fail(self, problem: str) -> SpecificationError:
        return SpecificationError(f"cannot read the formula terms '{self.text}': {problem}")

    def _tokenize(self, text: str) -> list[tuple[str, str]]:
        tokens: list[tuple[str, str]] = []
        position = 0
        while position < len(text):
            if text[position].isspace():
                position += 1
                continue
            operator = next((op for op in _OPERATORS if text.startswith(op, position)), None)
            number = _NUMBER.match(text, position)
            name = _NAME.match(text, position)
            if operator is not None:
                tokens.append(("op", operator))
                position += len(operator)
            elif number is not None:
                tokens.append(("number", number.group()))
                position = number.end()
            elif name is not None:
                end = name.end()
                while end < len(text) and text[end] in "([":
                    end = self._closing(text, end) + 1
                kind = "name" if end == name.end() else "call"
                tokens.append((kind, text[position:end]))
                position = end
            elif text[position] in "`'\"":
                end = text.find(text[position], position + 1)
                if end < 0:
                    raise self.fail("an unterminated quote")
                kind = "name" if text[position] == "`" else "string"
                tokens.append((kind, text[position : end + 1]))
                position = end + 1
            else:
                raise self.fail(f"unexpected {text[position]!r}")
        return tokens

    def _closing(self, text: str, start: int) -> int:
        """Position of the bracket closing the one at ``start``, skipping quoted text."""
        stack = [_CLOSER[text[start]]]
        position = start + 1
        while position < len(text):
            char = text[position]
            if char in "`'\"":
                end = text.find(char, position + 1)
                position = len(text) if end < 0 else end
            elif char in _CLOSER:
                stack.append(_CLOSER[char])
            elif char == stack[-1]:
                stack.pop()
                if not stack:
                    return position
            position += 1
        raise self.fail(f"{text[start]!r} is never closed")

    def peek(self) -> str | None:
        if self.index < len(self.tokens) and self.tokens[self.index][0] == "op":
            return self.tokens[self.index][1]
        return None

    def take(self) -> tuple[str, str]:
        if self.index >= len(self.tokens):
            raise self.fail("it ends after an operator")
        token = self.tokens[self.index]
        self.index += 1
        return token

    def parse(self) -> Terms:
        terms = self.sum()
        if self.index < len(self.tokens):
            raise self.fail(f"unexpected {self.tokens[self.index][1]!r}")
        ordered = sorted(terms, key=lambda term: term.bit_count())
        return Terms(
            intercept=self.intercept,
            variables=tuple(self.atoms),
            terms=tuple(tuple(i for i in range(len(self.atoms)) if term >> i & 1)
                        for term in ordered),
        )

    def sum(self) -> list[int]:
        terms: list[int] = []
        if self.peek() not in ("+", "-"):
            terms = self.product()
        while self.peek() in ("+", "-"):
            _, operator = self.take()
            if operator == "+":
                terms = _trim(terms + self.product())
            else:
                self.parity = not self.parity
                removed = self.product()
                self.parity = not self.parity
                terms = [term for term in terms if term not in removed]
        return terms

    def product(self) -> list[int]:
        left = self.nested_in()
        while self.peek() in ("*", "/"):
            _, operator = self.take()
            right = self.nested_in()
            if operator == "*":
                left = _trim(left + right + [a | b for a in left for b in right])
            else:
                outer = _union(left)
                left = _trim(left + [outer | b for b in right])
        return left

    def nested_in(self) -> list[int]:
        left = self.interaction()
        while self.peek() == "%in%":
            self.take()
            outer = _union(self.interaction())
            left = _trim([a | outer for a in left])
        return left

    def interaction(self) -> list[int]:
        left = self.power()
        while self.peek() == ":":
            self.take()
            right = self.power()
            left = _trim([a | b for a in left for b in right])
        return left

    def power(self) -> list[int]:
        base = self.primary()
        if self.peek() != "^":
            return base
        self.take()
        kind, exponent = self.take()
        if kind != "number" or not exponent.isdigit() or int(exponent) < 1:
            raise self.fail(f"'^{exponent}': the power of terms must be a whole number >= 1")
        result = base
        for _ in range(int(exponent) - 1):
            result = _trim([a | b for a in base for b in result])
        return result

    def primary(self) -> list[int]:
        kind, token = self.take()
        if kind == "op" and token == "(":
            inner = self.sum()
            if self.index >= len(self.tokens) or self.take() != ("op", ")"):
                raise self.fail("a '(' is never closed")
            return inner
        if kind == "op":
            raise self.fail(f"a term is missing before {token!r}")
        if kind == "number":
            if token not in ("0", "1"):
                raise self.fail(f"{token} is not a term; only 0 and 1 (the intercept) are")
            # R: 1 (or - 0) asks for the intercept, 0 (or - 1) removes it
            self.intercept = (token == "1") == self.parity
            return []
        return [1 << self._variable(kind, token)]

    def _variable(self, kind: str, token: str) -> int:
        if kind == "name":
            column = token[1:-1] if token.startswith("`") else token
            variable = Variable(token, column)
            key = f"column:{column}"
        else:
            variable = Variable(token, None)
            key = "expression:" + r_deparse(token)
        if key not in self.variables:
            self.variables[key] = len(self.atoms)
            self.atoms.append(variable)
        return self.variables[key]


def _trim(terms: list[int]) -> list[int]:
    """R's ``TrimRepeats``: drop empty terms and repeats, keeping the first."""
    seen: set[int] = set()
    kept = []
    for term in terms:
        if term and term not in seen:
            seen.add(term)
            kept.append(term)
    return kept


def _union(terms: list[int]) -> int:
    """All variables of ``terms`` as one term."""
    joined = 0
    for term in terms:
        joined |= term
    return joined


# Cached: a formula is expanded again for every fit (and every replicate of a simulation);
# the result depends on the text alone and is immutable.
@lru_cache(maxsize=256)
def formula_terms(text: str) -> Terms:
    """The terms of a formula side in R's order (module docstring).

    Parameters
    ----------
    text : str
        A right-hand side such as ``"1 + meanses * cses + catholic * cses"``; variables are
        names (``IQ.verb``), backquoted names (```a b```) or calls (``C(sex)``).

    Raises
    ------
    SpecificationError
        If the text is not a formula side (a number other than 0 or 1, a missing term).
    """
    return _Parser(text).parse()


@lru_cache(maxsize=256)
def written_terms(text: str) -> tuple[tuple[Variable, ...], ...] | None:
    """The terms of a side written out term by term, each with its variables as written.

    ``text`` as :attr:`Terms.formulaic_text` writes it: ``1`` or ``0``, then terms joined by
    ``+``, each its variables joined by ``:``. The terms, their order and the intercept are
    those of :func:`formula_terms`; the intercept is the term without variables, first. The
    variables of a term come in the order of the first term written with them (``b:a`` in
    ``1 + b:a + a:b``): the order formulaic keeps, and for a side from
    :func:`in_r_order` the order of first appearance in the formula it was written out from,
    in which lme4 names the columns (``a:b`` after ``a:b + b``, written ``1 + b + a:b``).

    Returns
    -------
    tuple of tuple of Variable, or None
        None if ``text`` is not written term by term (``a*b``, parentheses, ``-``).
    """
    terms = formula_terms(text)
    parser = _Parser(text)
    written: dict[int, tuple[int, ...]] = {}
    for part in _split(parser.tokens, "+"):
        if len(part) == 1 and part[0][0] == "number":
            continue
        operands = part[::2]
        if any(kind not in ("name", "call") for kind, _ in operands) or any(
            token != ("op", ":") for token in part[1::2]
        ) or len(part) % 2 == 0:
            return None
        # numbered as formula_terms numbers them, by first appearance: the same parser
        # meets the same variables in the same order
        order = tuple(dict.fromkeys(parser._variable(kind, token) for kind, token in operands))
        written.setdefault(sum(1 << index for index in order), order)
    ordered = [written[sum(1 << index for index in term)] for term in terms.terms]
    intercept: list[tuple[Variable, ...]] = [()] if terms.intercept else []
    return tuple(intercept + [tuple(terms.variables[i] for i in term) for term in ordered])


def _split(tokens: list[tuple[str, str]], operator: str) -> list[list[tuple[str, str]]]:
    """``tokens`` cut at each ``operator``; an empty part where two meet or at an end."""
    parts: list[list[tuple[str, str]]] = [[]]
    for token in tokens:
        if token == ("op", operator):
            parts.append([])
        else:
            parts[-1].append(token)
    return parts


def in_r_order(formula: TransformedFormula) -> TransformedFormula:
    """``formula`` written out term by term in R's order, for formulaic to materialise.

    formulaic keeps terms in the order given (its sort by degree is stable) and the
    variables of a term in the order written, so its columns come in lme4's order, named
    part by part as lme4 names them (:func:`~alliance.mixed.transforms.lme4_column_name`).
    """
    return TransformedFormula(formula_terms(formula.text).formulaic_text, formula.columns,
                              formula.names)
