"""Shared fixtures of the scales tests: the psych reference data and results."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

REFERENCE = Path(__file__).resolve().parents[1] / "reference"


@pytest.fixture(autouse=True, scope="session")
def _single_threaded_blas() -> Iterator[None]:
    """Run BLAS on one thread: the matrices here are tiny, and on a shared machine a
    multi-threaded BLAS spends far more time synchronising threads than computing."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn/scipy stacks
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _load(name: str) -> dict[str, Any]:
    return json.loads((REFERENCE / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def bfi() -> pd.DataFrame:
    """psychTools::bfi, the 25 personality items (2,800 rows, with missing responses)."""
    return pd.read_csv(REFERENCE / "data" / "psych_bfi.csv")


@pytest.fixture(scope="session")
def harman() -> pd.DataFrame:
    """datasets::Harman74.cor as a labelled correlation matrix (n = 145)."""
    return pd.read_csv(REFERENCE / "data" / "psych_harman74.csv").set_index("item")


@pytest.fixture(scope="session")
def psych_fits() -> dict[str, Any]:
    return _load("psych_efa.json")


@pytest.fixture(scope="session")
def psych_parallel() -> dict[str, Any]:
    return _load("psych_efa_parallel.json")


@pytest.fixture(scope="session")
def psych_reliability() -> dict[str, Any]:
    return _load("psych_efa_reliability.json")


@pytest.fixture(scope="session")
def psych_polychoric() -> dict[str, Any]:
    return _load("psych_efa_polychoric.json")


def _match_factors(mine: np.ndarray, theirs: np.ndarray) -> tuple[list[int], np.ndarray]:
    """Column order and signs that align ``theirs`` with ``mine`` (largest |correlation|).

    Returns ``(order, signs)`` with ``theirs[:, order] * signs`` comparable to ``mine``;
    fails if two of mine match the same column of theirs.
    """
    k = mine.shape[1]
    order, signs = [], []
    for j in range(k):
        similarity = [abs(float(mine[:, j] @ theirs[:, i])) for i in range(k)]
        best = int(np.argmax(similarity))
        order.append(best)
        signs.append(np.sign(float(mine[:, j] @ theirs[:, best])))
    assert sorted(order) == list(range(k)), f"factors do not match one to one: {order}"
    return order, np.array(signs)


@pytest.fixture(scope="session")
def match_factors() -> Any:
    """The function aligning reference factors with ours (order and sign)."""
    return _match_factors
