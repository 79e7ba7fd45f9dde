"""An expression as R prints it, the name lme4 gives the column of a call such as ``log(x + 3)``.

R names a variable of a formula by deparsing its expression (``deparse()``, R's
``src/main/deparse.c``), so the name does not depend on how the expression was typed:
``log(x+3)`` and ``log( x + 3 )`` are both ``log(x + 3)``, ``I(x**2)`` and ``I(x ^ 2)`` are
``I(x^2)``. The rules followed, checked with R 4.2.2 (``deparse(quote(...))`` and the column
names of ``model.matrix``):

- a space on each side of ``+ - * < > <= >= == != & && | || ~ =`` and of the special operators
  ``%in%``-style, none around ``/ ^ : %% %/%``, none after a unary ``-``, ``+`` or ``!``;
- ``**`` is ``^``; a comma is followed by one space; brackets are kept as written;
- a number is printed with up to 15 significant digits, in fixed notation unless scientific
  notation is shorter (R's ``formatReal`` with ``scipen = 0``): ``1e5`` -> ``1e+05``,
  ``0.0001`` -> ``1e-04``, ``0.001`` stays, ``1.50`` -> ``1.5``, ``.5`` -> ``0.5``.
"""

from __future__ import annotations

import math
import re

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
    | (?P<name>(?:[A-Za-z_]|\.(?!\d))[\w.]*|`[^`]*`)
    | (?P<string>'[^']*'|"[^"]*")
    | (?P<op>\*\*|%[^%]*%|<=|>=|==|!=|&&|\|\||<-|[-+*/^:<>&|!~=,()\[\]{}$@])
    )""", re.VERBOSE)
_UNSPACED = frozenset({"/", "^", ":", "%%", "%/%", "$", "@"})
_UNARY = frozenset({"-", "+", "!"})
# after these a '-', '+' is unary
_OPERAND_END = frozenset({")", "]", "}"})


def r_number(text: str) -> str:
    """A numeric constant as R deparses it (module docstring)."""
    value = float(text)
    if value == 0 or not math.isfinite(value):
        return "0" if value == 0 else text
    mantissa, exponent = f"{abs(value):.14e}".split("e")
    digits = mantissa.replace(".", "").rstrip("0") or "0"
    power = int(exponent)
    significant = len(digits)
    if power >= 0:
        decimals = max(0, significant - power - 1)
        fixed_width = power + 1 + (decimals + 1 if decimals else 0)
    else:
        decimals = significant - power - 1
        fixed_width = 2 + decimals
    sci_width = (significant + 1 if significant > 1 else 1) + (5 if abs(power) >= 100 else 4)
    if fixed_width <= sci_width:
        return f"{abs(value):.{decimals}f}"
    lead = digits[0] + ("." + digits[1:] if significant > 1 else "")
    return f"{lead}e{'-' if power < 0 else '+'}{abs(power):02d}"


def r_deparse(expression: str) -> str:
    """``expression`` spaced and written as R's ``deparse()`` prints it (module docstring).

    Text that does not tokenise is returned unchanged.
    """
    out: list[str] = []
    previous: tuple[str, str] | None = None
    position = 0
    while position < len(expression):
        match = _TOKEN.match(expression, position)
        if match is None or match.end() == position:
            if expression[position:].strip():
                return expression
            break
        position = match.end()
        kind = match.lastgroup or ""
        token = match.group(kind)
        if kind == "number":
            out.append(r_number(token))
        elif kind in ("name", "string"):
            out.append(token)
        elif token in ("(", ")", "[", "]", "{", "}"):
            out.append(token)
        elif token == ",":
            out.append(", ")
        else:
            token = "^" if token == "**" else token
            unary = token in _UNARY and (
                previous is None or (previous[0] == "op" and previous[1] not in _OPERAND_END)
            )
            if unary or token in _UNSPACED:
                out.append(token)
            else:
                out.append(f" {token} ")
        previous = (kind, token)
    return "".join(out)
