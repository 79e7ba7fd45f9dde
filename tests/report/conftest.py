"""Shared fixtures of the report tests: the example results and one rendering of them."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from alliance.report import write_report

EXAMPLE = Path(__file__).parent / "fixtures" / "results_example.json"


@pytest.fixture(scope="session")
def example_results() -> dict[str, Any]:
    """The example results (a simulated study, docs/results-schema.md); do not mutate."""
    return json.loads(EXAMPLE.read_text(encoding="utf-8"))


@pytest.fixture
def results(example_results: dict[str, Any]) -> dict[str, Any]:
    """A private copy of the example results, free to modify."""
    return copy.deepcopy(example_results)


@pytest.fixture(scope="session")
def rendered(example_results: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder the example results were rendered into (rendered once per session)."""
    folder = tmp_path_factory.mktemp("report")
    write_report(example_results, folder)
    return folder
