"""The two ways to run the study into an output folder: on the embedded simulated study
(``replicate``) and on the user's files (``analyze``).

``replicate`` simulates the reference design (:func:`alliance.simulate.simulate_study`, default
design), writes the data with :func:`alliance.simulate.write_study` into ``data/`` of the
output folder and analyses those files with the example configuration: exactly what
``alliance simulate`` followed by ``alliance analyze`` with the example configuration does. The
only change to the example configuration is that the QPL content domains are taken from the
simulated design (the items loading on each factor), so that the factors are named correctly
whatever the design.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from alliance.app.outputs import write_outputs
from alliance.defaults import STUDY_OUT as DEFAULT_OUT
from alliance.io.output import staged_folder
from alliance.report.figure_files import FIGURE_FOLDER
from alliance.report.figure_worker import FigureWorker
from alliance.simulate import DEFAULT_SEED, StudyDesign, simulate_study, write_study
from alliance.study.config import FACTOR_NAMES, StudyConfig, TableSource
from alliance.study.config_reader import example_config, load_config
from alliance.study.output import json_ready
from alliance.study.pipeline import Progress, run_study
from alliance.study.study_results import StudyResults

DATA_FOLDER = "data"


@dataclass(frozen=True)
class StudyRun:
    """What a run produced: the results and the output folder."""

    results: StudyResults
    folder: Path


def replicate(
    out: Path = DEFAULT_OUT,
    seed: int = DEFAULT_SEED,
    overwrite: bool = False,
    progress: Progress | None = None,
) -> StudyRun:
    """Simulate the reference study from ``seed`` and run the whole study on it into ``out``."""
    out = Path(out)
    with staged_folder(out, "replicate", overwrite) as folder, FigureWorker() as figures:
        design = StudyDesign.default()
        write_study(simulate_study(design, seed=seed), folder / DATA_FOLDER)
        config = replicate_config(folder, seed, design)
        results = run_study(config, progress, _drawing(figures, folder))
        write_outputs(
            results, folder,
            config.to_toml(header="Configuration of `alliance replicate` (reads data/)."),
            figures,
        )
    return StudyRun(results, out)


def replicate_config(folder: Path, seed: int, design: StudyDesign) -> StudyConfig:
    """The example configuration reading ``folder/data``, with paths relative to ``folder``."""
    config = rebased(example_config(folder / DATA_FOLDER), folder).with_seed(seed)
    loadings = np.abs(np.asarray(design.qpl.loadings, dtype=float))
    primary = np.argmax(loadings, axis=1)
    items = design.qpl.items
    domains = {
        name: tuple(item for item, f in zip(items, primary, strict=True)
                    if design.qpl.factors[f] == name)
        for name in FACTOR_NAMES
    }
    factors = replace(config.factors, satisfaction_items=domains[FACTOR_NAMES[0]],
                      burden_items=domains[FACTOR_NAMES[1]])
    return replace(config, factors=factors)


def analyze(
    config_path: Path,
    out: Path = DEFAULT_OUT,
    overwrite: bool = False,
    progress: Progress | None = None,
) -> StudyRun:
    """Run the study configured in ``config_path`` on the user's files into ``out``."""
    config = load_config(config_path)
    inputs = [Path(config_path), *_data_files(config)]
    with staged_folder(Path(out), "analyze", overwrite, inputs) as folder, \
            FigureWorker() as figures:
        results = run_study(config, progress, _drawing(figures, folder))
        write_outputs(
            results, folder,
            rebased(config, Path(out)).to_toml(
                header=f"Configuration used by `alliance analyze` ({Path(config_path).name}); "
                "file paths are relative to this folder."),
            figures,
        )
    return StudyRun(results, Path(out))


def _drawing(figures: FigureWorker, folder: Path) -> Callable[[dict[str, Any]], None]:
    """The pipeline's ``figures_ready``: hand the figures' sections to the worker, to be
    drawn into ``folder``'s figure folder while the later steps run."""

    def hand_over(sections: dict[str, Any]) -> None:
        figures.submit(json_ready(sections), folder / FIGURE_FOLDER)

    return hand_over


def rebased(config: StudyConfig, base_dir: Path) -> StudyConfig:
    """The same configuration with relative paths rewritten relative to ``base_dir``."""

    def move(path: Path) -> Path:
        if path.is_absolute():
            return path
        return Path(os.path.relpath(config.base_dir / path, base_dir))

    def table(source: TableSource) -> TableSource:
        return replace(source, file=move(source.file))

    wai = replace(config.wai, raters={
        rater: replace(spec, table=table(spec.table)) for rater, spec in config.wai.raters.items()
    })
    return replace(
        config,
        reference=replace(config.reference, table=table(config.reference.table)),
        therapists=replace(config.therapists, table=table(config.therapists.table)),
        patients=None if config.patients is None else replace(
            config.patients, table=table(config.patients.table)
        ),
        wai=wai,
        truth=None if config.truth is None else move(config.truth),
        base_dir=base_dir,
    )


def _data_files(config: StudyConfig) -> list[Path]:
    tables = [config.reference.table, config.therapists.table,
              *(spec.table for spec in config.wai.raters.values())]
    if config.patients is not None:
        tables.append(config.patients.table)
    files = [config.path(table) for table in tables]
    if config.truth_path is not None:
        files.append(config.truth_path)
    return files
