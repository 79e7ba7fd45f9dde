"""Does a truth file belong to the data it is compared with?

``alliance simulate`` records in truth.json, beside the seed, the rows and the SHA-256 of every
data file it wrote (``data_files``, :mod:`alliance.simulate.write`). Before any estimate is
compared with a true value, each data file of the configuration must be byte for byte the file
the truth was written with (same role: reference sample, therapists, patients, WAI), and the
checked data must have the recorded numbers of rows; otherwise the recovery table would compare
estimates with another simulation's truth, and the run stops.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from alliance.errors import DataError
from alliance.io.digest import file_sha256
from alliance.simulate.write import DATA_FILES_KEY, TABLE_FILES
from alliance.study.config import StudyConfig

REMEDY = ("Point simulation.truth at the truth.json written together with these data files, or "
          "leave the [simulation] section out.")


def check_truth_matches(truth: Mapping[str, Any], config: StudyConfig,
                        rows: Mapping[str, int]) -> None:
    """Raise unless ``truth`` was written with the configuration's data files.

    Parameters
    ----------
    truth
        The truth file's content.
    config
        The configuration naming the data files and the truth file.
    rows
        Rows of the checked data per role of :data:`~alliance.simulate.write.TABLE_FILES`
        (e.g. ``reference_items``, ``therapists``): the counts recorded at simulation time
        must equal them.

    Raises
    ------
    DataError
        The truth file records no data files (not written by ``alliance simulate`` with its
        data), or a data file's content or row count differs from the recorded one; the message
        names the truth file, the seed, the data file and both digests or counts.
    """
    source = config.truth_path
    recorded = truth.get(DATA_FILES_KEY)
    seed = truth.get("seed")
    if not isinstance(recorded, Mapping):
        raise DataError(
            f"{source}: the truth file does not record the data files it belongs to "
            f"({DATA_FILES_KEY}), so it cannot be checked against these data; simulate them "
            f"again with `alliance simulate` (seed {seed}). {REMEDY}"
        )
    for role, path in _data_files(config):
        expected = recorded.get(TABLE_FILES[role])
        if not isinstance(expected, Mapping):
            raise DataError(f"{source}: records no {TABLE_FILES[role]}. {REMEDY}")
        digest = file_sha256(path)
        if digest != expected.get("sha256"):
            raise DataError(
                f"{source}: this truth file (seed {seed}) belongs to other data: its "
                f"{TABLE_FILES[role]} had {expected.get('rows')} rows and SHA-256 "
                f"{str(expected.get('sha256'))[:16]}..., but {path} has SHA-256 "
                f"{digest[:16]}.... {REMEDY}"
            )
        if role in rows and rows[role] != expected.get("rows"):
            raise DataError(
                f"{source}: {path} was written with {expected.get('rows')} rows but "
                f"{rows[role]} were read. {REMEDY}"
            )


def _data_files(config: StudyConfig) -> list[tuple[str, Path]]:
    """(role in :data:`TABLE_FILES`, path) of each data file of the configuration."""
    files = [("reference_items", config.path(config.reference.table)),
             ("therapists", config.path(config.therapists.table))]
    if config.patients is not None:
        files.append(("patients", config.path(config.patients.table)))
    files += [("wai", config.path(spec.table)) for spec in config.wai.raters.values()]
    return list(dict.fromkeys(files))
