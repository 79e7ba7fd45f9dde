"""Numbers as an APA-style table prints them (Publication Manual of the APA, 7th ed., 6.36-6.40).

Rules followed:

* statistics to two decimals (``number``), or to three where two would hide the effect
  (``number3``: small growth coefficients, variance components);
* no leading zero for values that cannot exceed 1 in absolute value: p, correlations, loadings,
  reliability coefficients, ICCs, proportions (``bounded``);
* exact p to three decimals, below .001 as ``< .001`` (and above .999 as ``> .999``);
* a true minus sign (U+2212) for negative values; a value that rounds to zero loses its sign;
* thousands separated by commas (``4,828``);
* a missing value (``None`` or NaN) as an em dash.

Formatting happens only here, at rendering: results stay at full precision.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

MINUS = "\u2212"
MISSING = "\u2014"

FORMATS = ("text", "integer", "number", "number3", "df", "bounded", "bounded3", "p", "yes_no")


def is_missing(value: object) -> bool:
    """``None``, NaN, or an empty string."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and value == ""


def _float(value: Any) -> float | None:
    """``value`` as a float, or ``None`` when it is missing."""
    if is_missing(value):
        return None
    return float(value)


def _signed(text: str) -> str:
    """Replace a leading hyphen by a minus sign, and drop the sign of a rounded zero."""
    if not text.startswith("-"):
        return text
    if text.strip("-0.,") == "":
        return text[1:]
    return MINUS + text[1:]


def number(value: object, decimals: int = 2) -> str:
    """``value`` to ``decimals`` places with thousands separators: ``-1234.5 -> '−1,234.50'``."""
    value = _float(value)
    if value is None:
        return MISSING
    if math.isinf(value):
        return "\u221e" if value > 0 else MINUS + "\u221e"
    return _signed(f"{value:,.{decimals}f}")


def integer(value: object) -> str:
    """A count: ``4828 -> '4,828'``."""
    value = _float(value)
    if value is None:
        return MISSING
    return _signed(f"{round(value):,d}")


def percent(value: object, decimals: int = 1) -> str:
    """A proportion as a percentage: ``0.1223 -> '12.2%'``."""
    value = _float(value)
    if value is None:
        return MISSING
    return number(100.0 * value, decimals) + "%"


def bounded(value: object, decimals: int = 2) -> str:
    """A value bounded by 1 in absolute value, without leading zero: ``-0.254 -> '−.25'``."""
    text = number(value, decimals)
    if text == MISSING:
        return text
    if text.startswith("0."):
        return text[1:]
    if text.startswith(MINUS + "0."):
        return MINUS + text[2:]
    return text


def p_value(value: object) -> str:
    """Exact p to three decimals without leading zero; ``< .001`` and ``> .999`` at the ends."""
    value = _float(value)
    if value is None:
        return MISSING
    if value < 0.001:
        return "< .001"
    if value > 0.999:
        return "> .999"
    return bounded(value, 3)


def p_phrase(value: object) -> str:
    """p for running text: ``p < .001`` or ``p = .032``."""
    text = p_value(value)
    if text.startswith(("<", ">")):
        return f"p {text}"
    return f"p = {text}"


def degrees_of_freedom(value: object) -> str:
    """Whole df as integers, fractional (Satterthwaite) df to one decimal; no thousands
    separator (APA 7th ed., 6.38: degrees of freedom are an exception): ``1893.7 -> '1893.7'``."""
    value = _float(value)
    if value is None:
        return MISSING
    if math.isinf(value):
        return "\u221e"
    return _signed(f"{value:.0f}" if value.is_integer() else f"{value:.1f}")


def yes_no(value: object) -> str:
    """A boolean as ``Yes``/``No``."""
    if is_missing(value):
        return MISSING
    return "Yes" if bool(value) else "No"


def text(value: object) -> str:
    """Anything as text; missing as an em dash."""
    if is_missing(value):
        return MISSING
    return str(value)


def interval(low: object, high: object, kind: str = "number") -> str:
    """A confidence interval in brackets: ``[0.05, 0.11]`` (``kind`` formats both ends)."""
    return f"[{format_value(low, kind)}, {format_value(high, kind)}]"


_FORMATTERS: dict[str, Callable[[object], str]] = {
    "text": text,
    "integer": integer,
    "number": number,
    "number3": lambda v: number(v, 3),
    "df": degrees_of_freedom,
    "bounded": bounded,
    "bounded3": lambda v: bounded(v, 3),
    "p": p_value,
    "yes_no": yes_no,
}


def format_value(value: object, kind: str) -> str:
    """Format ``value`` by one of :data:`FORMATS`.

    Raises
    ------
    ValueError
        ``kind`` is not one of :data:`FORMATS`.
    """
    try:
        formatter = _FORMATTERS[kind]
    except KeyError:
        raise ValueError(f"unknown APA format {kind!r}; use one of {', '.join(FORMATS)}") from None
    return formatter(value)
