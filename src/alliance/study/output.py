"""The contents of a study's output folder (written by :mod:`alliance.app.outputs`).

The folder is assembled by :func:`alliance.io.output.staged_folder`: under a temporary name
beside the target, renamed when complete; on any error the temporary folder is removed and an
existing target is left as it was. An existing non-empty target is refused unless
``overwrite`` is given and it is an earlier alliance output, and never when it holds an input
file. Contents::

    .alliance-output    the marker of an alliance output folder (command, version)
    results.json        StudyResults.to_dict() (NaN written as null), and ``outputs``: every
                        file of the folder, relative to it (written last)
    report.html, report.docx, figures/
                        alliance.report.write_report(results, folder), by the app layer
    tables/*.csv        factor loadings, reliability, variance components, ICCs and
                        reliabilities, time codings, fixed effects, joint tests, recovery
    data/analysis.csv   one row per scored administration the models used, with the
                        variables as the models used them (:func:`analysis_export`)
    data/therapist_factor_scores.csv
                        one row per study therapist (:func:`therapist_scores_export`)
    data/               also the simulated data (alliance replicate only)
    config.toml         the configuration used
    versions.json       Python and package versions
    seed.txt            the seed

Identifiers. Patients are never identified: the exports name them by pseudonyms. Therapists are
named by pseudonyms too, unless the configuration sets ``report.show_identifiers = true``.
A pseudonym is a number in a random order drawn from the study's seed (:func:`pseudonyms`),
the same in both exports of a run, so they can be joined; it reveals neither the identifier nor
its position among the identifiers, though anyone holding the original data and the seed can
rebuild it (the exports are pseudonymous, not anonymous).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from alliance.study.config import FACTOR_NAMES
from alliance.study.study_results import StudyResults

RESULTS_FILE = "results.json"
TABLES_FOLDER = "tables"
CONFIG_FILE = "config.toml"
VERSIONS_FILE = "versions.json"
SEED_FILE = "seed.txt"
DATA_FOLDER = "data"
ANALYSIS_FILE = "analysis.csv"
SCORES_FILE = "therapist_factor_scores.csv"
#: Pseudonym prefixes: distinct from the simulated data's own identifiers (``T001``, ``P0001``).
THERAPIST_PREFIX, PATIENT_PREFIX = "th", "pt"


def results_payload(results: StudyResults) -> dict[str, Any]:
    """``results.to_dict()`` as it reads back from results.json (NaN as None, plain types)."""
    return json_ready(results.to_dict())


def json_ready(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` (sections of ``StudyResults.to_dict()``) as it reads back from JSON."""
    text = json.dumps(_finite(document), default=_plain)
    payload: dict[str, Any] = json.loads(text)
    return payload


def pseudonyms(labels: pd.Series | np.ndarray, prefix: str, seed: int) -> dict[str, str]:
    """A pseudonym for each distinct label: ``prefix`` and a number in a seeded random order.

    The distinct labels (as text) are sorted, permuted by ``numpy.random.default_rng(seed)``
    and numbered from 1 in the permuted order, zero-padded to at least three digits
    (``th007``): the same labels and seed give the same pseudonyms.
    """
    distinct = np.sort(pd.unique(pd.Series(labels).astype(str).to_numpy()))
    order = np.random.default_rng(seed).permutation(len(distinct))
    width = max(3, len(str(len(distinct))))
    return {str(distinct[j]): f"{prefix}{number:0{width}d}"
            for number, j in enumerate(order, start=1)}


def _therapist_names(results: StudyResults) -> dict[str, str]:
    """Each study therapist's name in the exports: the id, or a pseudonym (module docstring)."""
    labels = pd.concat([results.factors.scores.index.to_series().astype(str),
                        results.analysis.frame["therapist"].astype(str)])
    if _show_identifiers(results):
        return {label: label for label in labels.unique()}
    return pseudonyms(labels, THERAPIST_PREFIX, int(results.meta["seed"]))


def _show_identifiers(results: StudyResults) -> bool:
    return bool(results.meta.get("config", {}).get("report", {}).get("show_identifiers", False))


def analysis_export(results: StudyResults) -> pd.DataFrame:
    """The model data: one row per scored administration the models used.

    Columns: ``therapist``, ``patient`` (names of the module docstring), ``rater``,
    ``session``, ``time`` (the chosen coding, as the models used it), ``time_<coding>`` for
    every coding compared, ``alliance`` (the WAI total), then the therapist factor scores and
    the covariates as the models used them: centred at their grand mean
    (:func:`alliance.study.models.analysis_data`). Administrations left out of the models are
    counted in results.json (``data_summary.excluded``), not listed. Sorted by therapist,
    patient, rater and session.
    """
    frame = results.analysis.frame
    sessions = frame["session"].to_numpy(dtype=float)
    codings = list(dict.fromkeys(coding for _, coding in results.time_coding.fits))
    axis = results.analysis.time_axis
    patients = pseudonyms(frame["patient"], PATIENT_PREFIX, int(results.meta["seed"]))
    out = pd.DataFrame({
        "therapist": _renamed(frame["therapist"], _therapist_names(results)),
        "patient": _renamed(frame["patient"], patients),
        "rater": frame["rater"].astype(str),
        "session": frame["session"],
        "time": axis.time(sessions, str(results.meta["time_coding"])),
        **{f"time_{coding}": axis.time(sessions, coding) for coding in codings},
        "alliance": frame["alliance"],
        **{name: frame[name] for name in results.analysis.predictors},
    })
    return out.sort_values(["therapist", "patient", "rater", "session"],
                           kind="stable").reset_index(drop=True)


def _renamed(labels: pd.Series, names: dict[str, str]) -> np.ndarray:
    """``names`` of ``labels`` as text, looked up once per distinct label (222,000 rows of a
    practice network have 42,000)."""
    codes, distinct = pd.factorize(labels.astype(str))
    return np.array([names[label] for label in distinct], dtype=object)[codes]


def therapist_scores_export(results: StudyResults) -> pd.DataFrame:
    """The study therapists' factor scores: one row per therapist with QPL items.

    Columns: ``therapist`` (module docstring), each factor's score on the metric of
    ``therapist_factors.scale`` in results.json (empty where the therapist skipped items), the
    same centred as the models used it (``<factor>_centred``: minus the mean over the
    therapists in the models), and ``in_models``: whether the therapist's patients' ratings
    entered the models. Sorted by ``therapist``.
    """
    scores = results.factors.scores
    labels = scores.index.astype(str)
    used = results.analysis.frame["therapist"].astype(str).unique()
    out = pd.DataFrame({"therapist": labels.map(_therapist_names(results))})
    for name in FACTOR_NAMES:
        out[name] = scores[name].to_numpy(dtype=float)
    for name in FACTOR_NAMES:
        out[f"{name}_centred"] = out[name] - results.analysis.centres[name]
    out["in_models"] = labels.isin(used)
    return out.sort_values("therapist", kind="stable").reset_index(drop=True)


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
