"""Save a simulated study to a new folder: CSV data, truth.json and design.toml.

Files: ``reference_qpl.csv``, ``therapists.csv``, ``patients.csv``, ``wai.csv`` (missing
responses as empty fields), ``truth.json`` (:attr:`SimulatedStudy.truth`) and ``design.toml``
(every parameter; ``StudyDesign.from_toml`` reads it back to an equal design). The folder is
written under a temporary name beside the target and renamed when complete, so that a folder
with the target's name is never incomplete.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from pathlib import Path

from alliance.errors import SpecificationError
from alliance.simulate.study import SimulatedStudy

#: File name of each table of a written study.
TABLE_FILES = {
    "reference_items": "reference_qpl.csv",
    "therapists": "therapists.csv",
    "patients": "patients.csv",
    "wai": "wai.csv",
}
TRUTH_FILE = "truth.json"
DESIGN_FILE = "design.toml"


def _check_target(target: Path) -> None:
    if not target.exists():
        return
    if not target.is_dir():
        raise SpecificationError(
            f"output path {target} exists and is a file; give the name of a new folder."
        )
    entries = sorted(entry.name for entry in target.iterdir())
    if entries:
        shown = ", ".join(entries[:5]) + (", ..." if len(entries) > 5 else "")
        raise SpecificationError(
            f"output folder {target} already exists and is not empty ({len(entries)} "
            f"entries: {shown}); it is never overwritten: choose a new folder or remove it."
        )


def write_study(study: SimulatedStudy, out_dir: str | Path) -> Path:
    """Write ``study`` to the new folder ``out_dir`` and return its path.

    ``out_dir`` may be an existing empty folder; its parent folders are created as needed.

    Raises
    ------
    SpecificationError
        When ``out_dir`` is a file or a folder that is not empty (nothing is overwritten).
    """
    target = Path(out_dir)
    _check_target(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.partial-{os.getpid()}-{secrets.token_hex(4)}")
    staging.mkdir()
    try:
        for attribute, file_name in TABLE_FILES.items():
            getattr(study, attribute).to_csv(staging / file_name, index=False)
        truth_text = json.dumps(study.truth, indent=2, allow_nan=False)
        (staging / TRUTH_FILE).write_text(truth_text + "\n", encoding="utf-8")
        (staging / DESIGN_FILE).write_text(study.design.to_toml(), encoding="utf-8")
        if target.exists():
            target.rmdir()
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target
