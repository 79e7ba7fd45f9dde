"""Write a study's output folder: the files of :mod:`alliance.study.output` and the report.

The application layer: the folder's contents come from the study (results, tables, exports)
and from the report (:func:`alliance.report.write_report`), which sits above the study, so
they are put together here (docs/architecture.md, "Layers"). The folder itself is assembled
by :func:`alliance.io.output.staged_folder` (see :mod:`alliance.study.output` for its layout).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from alliance.io import write_csv
from alliance.report.figure_files import FIGURE_FOLDER
from alliance.study.output import (
    ANALYSIS_FILE,
    CONFIG_FILE,
    DATA_FOLDER,
    RESULTS_FILE,
    SCORES_FILE,
    SEED_FILE,
    TABLES_FOLDER,
    VERSIONS_FILE,
    analysis_export,
    results_payload,
    therapist_scores_export,
)
from alliance.study.study_results import StudyResults

if TYPE_CHECKING:
    from alliance.report.figure_worker import FigureWorker


def write_outputs(
    results: StudyResults, folder: Path, config_text: str, figures: FigureWorker | None = None
) -> None:
    """Write everything into ``folder``, the report included.

    With ``figures``, a running :class:`~alliance.report.figure_worker.FigureWorker`, the
    figures are drawn there while the rest is written here (handed the results now, unless
    the study already handed it the figures' sections). results.json is written last, with
    ``outputs``: the sorted relative paths of every file then in the folder (hidden files such
    as the marker left out) and of results.json itself.
    """
    # the report layer (the templates, the Word document) is loaded only now, after the
    # models: not resident while the largest models are fitted
    from alliance.report import write_report

    payload = results_payload(results)
    if figures is not None and not figures.submitted:
        figures.submit(payload, folder / FIGURE_FOLDER)
    tables = folder / TABLES_FOLDER
    tables.mkdir(exist_ok=True)
    for name, frame in results.tables().items():
        frame.to_csv(tables / f"{name}.csv", index=False)
    data = folder / DATA_FOLDER
    data.mkdir(exist_ok=True)
    write_csv(analysis_export(results), data / ANALYSIS_FILE)
    write_csv(therapist_scores_export(results), data / SCORES_FILE)
    (folder / CONFIG_FILE).write_text(config_text, encoding="utf-8")
    versions = {"alliance": payload["meta"]["alliance_version"],
                "python": payload["meta"]["python"], **payload["meta"]["packages"]}
    (folder / VERSIONS_FILE).write_text(json.dumps(versions, indent=2) + "\n", encoding="utf-8")
    (folder / SEED_FILE).write_text(f"{payload['meta']['seed']}\n", encoding="utf-8")
    write_report(payload, folder, None if figures is None else figures.result)
    outputs = sorted({*_listing(folder), RESULTS_FILE})
    (folder / RESULTS_FILE).write_text(json.dumps({**payload, "outputs": outputs}, indent=2)
                                       + "\n", encoding="utf-8")


def _listing(folder: Path) -> list[str]:
    """Relative POSIX paths of the files under ``folder``, hidden files and folders left out."""
    return [path.relative_to(folder).as_posix() for path in folder.rglob("*")
            if path.is_file() and not any(part.startswith(".")
                                          for part in path.relative_to(folder).parts)]
