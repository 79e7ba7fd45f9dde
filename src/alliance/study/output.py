"""Write a study's output folder completely or not at all.

The folder is assembled by :func:`alliance.io.output.staged_folder`: under a temporary name
beside the target, renamed when complete; on any error the temporary folder is removed and an
existing target is left as it was. An existing non-empty target is refused unless
``overwrite`` is given and it is an earlier alliance output, and never when it holds an input
file. Contents::

    .alliance-output    the marker of an alliance output folder (command, version)
    results.json        StudyResults.to_dict() (NaN written as null)
    report.html, figures/   alliance.report.write_report(results, folder), when available
    tables/*.csv        factor loadings, reliability, variance components, ICCs and
                        reliabilities, time codings, fixed effects, joint tests, recovery
    data/               the simulated data (alliance replicate only)
    config.toml         the configuration used
    versions.json       Python and package versions
    seed.txt            the seed
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from alliance.study.results import StudyResults

RESULTS_FILE = "results.json"
TABLES_FOLDER = "tables"
CONFIG_FILE = "config.toml"
VERSIONS_FILE = "versions.json"
SEED_FILE = "seed.txt"


def results_payload(results: StudyResults) -> dict[str, Any]:
    """``results.to_dict()`` as it reads back from results.json (NaN as None, plain types)."""
    text = json.dumps(_finite(results.to_dict()), default=_plain)
    payload: dict[str, Any] = json.loads(text)
    return payload


def write_outputs(results: StudyResults, folder: Path, config_text: str) -> bool:
    """Write everything into ``folder``; return whether the HTML report was written."""
    payload = results_payload(results)
    (folder / RESULTS_FILE).write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    tables = folder / TABLES_FOLDER
    tables.mkdir(exist_ok=True)
    for name, frame in results.tables().items():
        frame.to_csv(tables / f"{name}.csv", index=False)
    (folder / CONFIG_FILE).write_text(config_text, encoding="utf-8")
    versions = {"alliance": payload["meta"]["alliance_version"],
                "python": payload["meta"]["python"], **payload["meta"]["packages"]}
    (folder / VERSIONS_FILE).write_text(json.dumps(versions, indent=2) + "\n", encoding="utf-8")
    (folder / SEED_FILE).write_text(f"{payload['meta']['seed']}\n", encoding="utf-8")
    import alliance.report as report

    writer = getattr(report, "write_report", None)
    if writer is None:
        return False
    writer(payload, folder)
    return True


def _finite(value: Any) -> Any:
    if isinstance(value, float | np.floating) and not math.isfinite(float(value)):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return _finite(value.item())
    if isinstance(value, np.ndarray):
        return _finite(value.tolist())
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to results.json")
