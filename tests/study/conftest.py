"""A small simulated study written to disk, with the example configuration, shared by the tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from alliance.simulate import StudyDesign, simulate_study, write_study
from alliance.study import StudyResults, example_config_text, load_config, run_study

SMALL = {"sample": {"n_reference": 500, "n_therapists": 24, "n_patients": 80}}
SMALL_SEED = 5


def write_small_study(folder: Path, seed: int = SMALL_SEED) -> Path:
    """Simulate the small design into ``folder`` with the example configuration as study.toml."""
    study = simulate_study(StudyDesign.default().updated(SMALL), seed=seed)
    write_study(study, folder)
    config = folder / "study.toml"
    config.write_text(example_config_text(), encoding="utf-8")
    return config


@pytest.fixture(scope="session")
def small_study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The configuration file of a small simulated study (do not modify its folder)."""
    return write_small_study(tmp_path_factory.mktemp("small-study"))


@pytest.fixture
def study_copy(small_study: Path, tmp_path: Path) -> Path:
    """A private copy of the small study's folder; returns its configuration file."""
    target = tmp_path / "study"
    shutil.copytree(small_study.parent, target)
    return target / "study.toml"


@pytest.fixture(scope="session")
def small_results(small_study: Path) -> StudyResults:
    """The whole pipeline run once on the small study."""
    return run_study(load_config(small_study))
