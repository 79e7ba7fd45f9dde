"""Rounding of fit summaries: one formatter for the engine's summary and ``alliance fit``."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alliance.mixed import fit
from alliance.mixed.display import number, p_value, statistic, summary_html, summary_text

DATA = Path(__file__).resolve().parents[1] / "reference" / "data"


@pytest.mark.parametrize(
    ("value", "digits", "text"),
    [
        (0.0, 4, "0.0000"),  # zero is not a very small number: fixed, like its neighbours
        (-0.0, 4, "-0.0000"),
        (0, 2, "0.00"),
        (0.12345, 4, "0.1235"),
        (-251.40510, 4, "-251.4051"),
        (29.0, 2, "29.00"),
        (0.001, 4, "0.0010"),
        (0.000123456, 4, "0.0001235"),
        (-1.23456e-5, 4, "-1.235e-05"),
        (99999.0, 4, "99999.0000"),
        (123456.7, 4, "1.235e+05"),
        (0.98765, 3, "0.988"),
        (np.float64(1.5), 4, "1.5000"),
        (np.int64(3), 2, "3.00"),
        (7, 4, "7.0000"),
    ],
)
def test_number(value: object, digits: int, text: str) -> None:
    assert number(value, digits) == text


@pytest.mark.parametrize("value", [None, float("nan"), float("inf"), -np.inf, "1.5", True,
                                   pd.NA])
def test_number_of_a_missing_or_non_numeric_value_is_empty(value: object) -> None:
    assert number(value) == ""


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.0, "< .001"), (0.000999, "< .001"), (0.001, "0.001"), (0.0456, "0.046"),
     (1.0, "1.000"), (float("nan"), "")],
)
def test_p_value(value: float, text: str) -> None:
    assert p_value(value) == text


def test_statistic() -> None:
    assert statistic(8.35204) == "8.352"
    assert statistic(-0.0004) == "-0.000"


@pytest.fixture(scope="module")
def singular() -> object:
    """lme4's Dyestuff2 example: the Batch variance is estimated at 0 (lme4 prints 0.000)."""
    data = pd.read_csv(DATA / "dyestuff2.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit("Yield ~ 1 + (1 | Batch)", data)


def test_summary_prints_a_zero_variance_like_its_neighbours(singular: object) -> None:
    lines = summary_text(singular).splitlines()  # type: ignore[arg-type]
    (batch,) = [line for line in lines if line.split()[:1] == ["Batch"]]
    assert batch.split() == ["Batch", "(Intercept)", "0.0000", "0.0000"]
    (residual,) = [line for line in lines if line.split()[:1] == ["Residual"]]
    assert residual.split() == ["Residual", "13.8063", "3.7157"]  # lme4: 13.81, 3.716
    (intercept,) = [line for line in lines if line.startswith("(Intercept)")]
    assert intercept.split() == ["(Intercept)", "5.6656", "0.6784", "29.00", "8.352", "<",
                                 ".001", "[4.2781,", "7.0531]"]


def test_html_summary_uses_the_same_numbers(singular: object) -> None:
    page = summary_html(singular)  # type: ignore[arg-type]
    for text in ("0.0000", "13.8063", "5.6656", "0.6784", "29.00", "8.352", "&lt; .001"):
        assert text in page
