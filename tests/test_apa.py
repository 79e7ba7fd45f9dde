"""APA 7 number formatting (Publication Manual, 6.36-6.40)."""

from __future__ import annotations

import math

import pytest

from alliance import apa

MINUS = "\u2212"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.0321, ".032"), (0.0004, "< .001"), (0.001, ".001"), (0.5, ".500"), (0.99951, "> .999"),
     (None, "\u2014"), (math.nan, "\u2014")],
)
def test_p_values(value: float | None, expected: str) -> None:
    assert apa.p_value(value) == expected


def test_p_phrase_uses_the_right_relation() -> None:
    assert apa.p_phrase(0.032) == "p = .032"
    assert apa.p_phrase(1e-9) == "p < .001"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.254, ".25"), (-0.254, f"{MINUS}.25"), (0.996, "1.00"), (-1.0, f"{MINUS}1.00"),
     (-0.004, ".00"), (0.0, ".00")],
)
def test_bounded_values_have_no_leading_zero(value: float, expected: str) -> None:
    assert apa.bounded(value) == expected


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [(3.14159, 2, "3.14"), (-0.0941, 3, f"{MINUS}0.094"), (1234.5, 2, "1,234.50"),
     (-0.0004, 3, "0.000"), (math.inf, 2, "\u221e")],
)
def test_numbers(value: float, decimals: int, expected: str) -> None:
    assert apa.number(value, decimals) == expected


def test_degrees_of_freedom_whole_or_one_decimal() -> None:
    assert apa.degrees_of_freedom(89.0) == "89"
    assert apa.degrees_of_freedom(55.0812) == "55.1"
    # APA 7th ed. 6.38: no thousands separator in degrees of freedom
    assert apa.degrees_of_freedom(1893.74) == "1893.7"
    assert apa.degrees_of_freedom(12000.0) == "12000"
    assert apa.percent(0.1223) == "12.2%"
    assert apa.integer(4828) == "4,828"


def test_interval_and_booleans() -> None:
    assert apa.interval(-0.127, -0.061, "number3") == f"[{MINUS}0.127, {MINUS}0.061]"
    assert apa.interval(0.82, 0.84, "bounded") == "[.82, .84]"
    assert apa.yes_no(True) == "Yes"
    assert apa.yes_no(False) == "No"
    assert apa.yes_no(None) == "\u2014"


def test_unknown_format_names_the_choices() -> None:
    with pytest.raises(ValueError, match="unknown APA format 'percent'.*bounded"):
        apa.format_value(0.5, "percent")
