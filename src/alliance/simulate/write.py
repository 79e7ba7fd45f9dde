"""Save a simulated study to a new folder: CSV data, truth.json and design.toml.

Files: ``reference_qpl.csv``, ``therapists.csv``, ``patients.csv``, ``wai.csv`` (missing
responses as empty fields), ``truth.json`` (:attr:`SimulatedStudy.truth`, plus the rows and
SHA-256 of each data file under :data:`DATA_FILES_KEY`) and ``design.toml``
(every parameter; ``StudyDesign.from_toml`` reads it back to an equal design), and the marker
of an alliance output folder. The folder is written under a temporary name beside the target
and renamed when complete (:func:`alliance.io.output.staged_folder`), so that a folder with
the target's name is never incomplete, and an existing non-empty folder is never replaced.
"""

from __future__ import annotations

import json
from pathlib import Path

from alliance.io.digest import file_sha256
from alliance.io.output import staged_folder
from alliance.simulate.study import SimulatedStudy

#: File name of each table of a written study.
TABLE_FILES = {
    "reference_items": "reference_qpl.csv",
    "therapists": "therapists.csv",
    "patients": "patients.csv",
    "wai": "wai.csv",
}
TRUTH_FILE = "truth.json"
#: Key of truth.json recording each data file's rows and SHA-256, so that an analysis can
#: check that a truth file belongs to the data it is compared with.
DATA_FILES_KEY = "data_files"
DESIGN_FILE = "design.toml"


def write_study(study: SimulatedStudy, out_dir: str | Path) -> Path:
    """Write ``study`` to the new folder ``out_dir`` and return its path.

    ``out_dir`` may be an existing empty folder; its parent folders are created as needed.

    Raises
    ------
    SpecificationError
        When ``out_dir`` is a file or a folder that is not empty (nothing is overwritten).
    """
    target = Path(out_dir)
    with staged_folder(target, "simulate") as staging:
        data_files = {}
        for attribute, file_name in TABLE_FILES.items():
            frame = getattr(study, attribute)
            frame.to_csv(staging / file_name, index=False)
            data_files[file_name] = {"rows": len(frame),
                                     "sha256": file_sha256(staging / file_name)}
        truth = {**study.truth, DATA_FILES_KEY: data_files}
        truth_text = json.dumps(truth, indent=2, allow_nan=False)
        (staging / TRUTH_FILE).write_text(truth_text + "\n", encoding="utf-8")
        (staging / DESIGN_FILE).write_text(study.design.to_toml(), encoding="utf-8")
    return target
