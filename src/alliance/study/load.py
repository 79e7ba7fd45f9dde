"""Read the study's data files and check them completely, before anything is estimated.

Every file is read through :func:`alliance.io.read_table` (CSV, Parquet, SPSS, Stata, Excel)
and never written. The checks follow the order a reader would: the columns the configuration
names exist; identifiers are present and unique; item responses are whole numbers inside the
instrument's range; sessions and covariates are numbers; every patient stays with one
therapist (within the WAI file and against the patients file); every therapist of a rated
patient has QPL items. A failed check raises :class:`~alliance.errors.DataError` naming the
file, the column, the rows (counted from 1 at the first row below the header) and a remedy.
Rows are dropped here for one reason only, a rater value that is neither configured rater;
they are counted in :attr:`StudyData.excluded`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from alliance.errors import DataError, SpecificationError
from alliance.instruments import Instrument, load_instrument
from alliance.io import read_table, require_columns, require_integer_range
from alliance.io.validation import MAX_LISTED, ROWS_COUNTED
from alliance.study.checks import (
    ROW,
    describe,
    id_values,
    numeric_covariates,
    one_therapist_each,
    require_sessions,
    require_unique,
)
from alliance.study.config import RATERS, TIME_CODINGS, ItemColumns, StudyConfig, TableSource


@dataclass(frozen=True)
class RaterData:
    """One rater's WAI administrations, items under their instrument ids (floats, NaN missing).

    ``frame`` has ``row`` (file row), ``patient``, ``therapist``, ``session`` and the items.
    """

    frame: pd.DataFrame
    instrument: Instrument
    source: str


@dataclass(frozen=True)
class StudyData:
    """The checked data of a study.

    Attributes
    ----------
    reference
        QPL items of the reference sample under their instrument ids (floats).
    therapists
        ``therapist`` (text id), the QPL items and the therapist covariates.
    patients
        ``patient``, ``therapist`` and the patient covariates, one row per rated patient.
    wai
        :class:`RaterData` per rater.
    qpl
        The QPL instrument.
    sources
        File of each table, for messages: ``reference``, ``therapists``, ``patients``.
    excluded
        ``{step, rows, reason}`` for rows left out while reading.
    truth
        The true values of simulated data (``simulation.truth``), else None.
    """

    reference: pd.DataFrame
    therapists: pd.DataFrame
    patients: pd.DataFrame
    wai: dict[str, RaterData]
    qpl: Instrument
    sources: dict[str, str]
    excluded: tuple[dict[str, Any], ...] = field(default=())
    truth: dict[str, Any] | None = None


def load_study(config: StudyConfig) -> StudyData:
    """Read and check every data file named by ``config``.

    Raises
    ------
    DataError
        A file cannot be read, or a check of the module documentation fails.
    SpecificationError
        An instrument cannot be loaded or has no total score for the alliance.
    """
    files = _Files(config)
    qpl = _instrument(config, config.therapists.columns.instrument, "therapists.instrument")
    reference_instrument = _instrument(
        config, config.reference.columns.instrument, "reference.instrument"
    )
    if reference_instrument.items != qpl.items:
        raise SpecificationError(
            f"{config.source}: reference.instrument and therapists.instrument name instruments with different "
            f"items ({reference_instrument.name}, {qpl.name}); the study therapists must "
            "answer the items the factors were found in. Use the same instrument."
        )
    reference = _items_table(files, config.reference.table, reference_instrument,
                             config.reference.columns, config.reference.id_column, "reference")
    therapists = _therapists(files, config, qpl)
    patients = _patients(files, config)
    wai, excluded = _wai(files, config)
    patients = _link_patients(wai, patients, config, files)
    _require_therapists(wai, therapists, config, files)
    return StudyData(
        reference=reference.drop(columns=[ROW]),
        therapists=therapists.drop(columns=[ROW]),
        patients=patients,
        wai=wai,
        qpl=qpl,
        sources={
            "reference": files.name(config.reference.table),
            "therapists": files.name(config.therapists.table),
            "patients": files.name(config.patients.table) if config.patients else "",
        },
        excluded=tuple(excluded),
        truth=read_truth(config.truth_path) if config.truth_path is not None else None,
    )


#: Keys of a truth file (alliance.simulate) that parameter recovery reads.
TRUTH_KEYS = ("time", "fixed_effects", "covariate_effects", "random_effects",
              "residual_variance")


def read_truth(path: Path) -> dict[str, Any]:
    """The true values written by ``alliance simulate`` (truth.json), checked for their keys.

    Raises
    ------
    DataError
        The file is missing, is not JSON, or lacks keys recovery needs.
    """
    try:
        truth = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise DataError(
            f"{path}: truth file not found. Give the truth.json written by `alliance simulate` "
            "in simulation.truth, or remove the simulation section for data that were not simulated."
        ) from error
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DataError(f"{path}: cannot be read as JSON ({error}).") from error
    lacking = [key for key in TRUTH_KEYS if not isinstance(truth, dict) or key not in truth]
    if lacking:
        raise DataError(
            f"{path}: not a truth file of `alliance simulate`: it lacks {', '.join(lacking)}."
        )
    coding = truth["time"].get("coding") if isinstance(truth["time"], dict) else None
    if coding is None and isinstance(truth["time"], dict) and "scale" in truth["time"]:
        raise DataError(
            f"{path}: written by an earlier version of `alliance simulate` (time.scale, now "
            "time.coding); simulate the study again with this version."
        )
    if coding not in TIME_CODINGS:
        raise DataError(
            f"{path}: time.coding is {coding!r}, not one of {', '.join(TIME_CODINGS)}; give a "
            "truth.json written by `alliance simulate`."
        )
    return dict(truth)


class _Files:
    """Reads each file once, with the union of the columns any part of the study needs."""

    def __init__(self, config: StudyConfig) -> None:
        self.config = config
        self.needed: dict[tuple[Path, str | int | None], list[str]] = {}
        self.frames: dict[tuple[Path, str | int | None], pd.DataFrame] = {}

    def key(self, table: TableSource) -> tuple[Path, str | int | None]:
        return (self.config.path(table), table.sheet)

    def name(self, table: TableSource) -> str:
        return str(self.config.path(table))

    def read(self, table: TableSource, columns: Iterable[str]) -> pd.DataFrame:
        """The file's columns ``columns`` (each checked to exist), plus ``row``."""
        wanted = list(dict.fromkeys(columns))
        key = self.key(table)
        if key not in self.frames:
            self.frames[key] = read_table(key[0], sheet=key[1])
        frame = self.frames[key]
        require_columns(frame, wanted, source=self.name(table))
        out = frame.loc[:, wanted].copy()
        out.insert(0, ROW, np.arange(1, len(frame) + 1))
        return out


def _instrument(config: StudyConfig, name: str, where: str) -> Instrument:
    target = name
    if name.lower().endswith(".toml") and not Path(name).is_absolute():
        target = str(config.base_dir / name)
    try:
        return load_instrument(target)
    except SpecificationError as error:
        raise SpecificationError(f"{config.source}: {where}: {error}") from error


def item_map(instrument: Instrument, columns: ItemColumns, source: str) -> dict[str, str]:
    """Instrument item id -> file column, from the configuration's prefix and mapping."""
    unknown = [key for key in columns.items if key not in instrument.items]
    if unknown:
        raise SpecificationError(
            f"{source}.items maps {unknown}, which are not items of {instrument.name} "
            f"({', '.join(instrument.items)}); map its item ids to your columns."
        )
    mapping = {item: columns.items.get(item, f"{columns.item_prefix}{item}")
               for item in instrument.items}
    repeated = sorted({c for c in mapping.values() if list(mapping.values()).count(c) > 1})
    if repeated:
        raise SpecificationError(
            f"{source}.items: several items would be read from the columns {repeated}; map each "
            "item to its own column."
        )
    return mapping


def _items_table(
    files: _Files,
    table: TableSource,
    instrument: Instrument,
    columns: ItemColumns,
    id_column: str | None,
    what: str,
    extra: Sequence[str] = (),
) -> pd.DataFrame:
    """Item responses checked for range and renamed to the instrument's ids."""
    source = files.name(table)
    mapping = item_map(instrument, columns, f"{files.config.source}: {what}")
    ids = [id_column] if id_column else []
    frame = files.read(table, [*ids, *extra, *mapping.values()])
    problems = []
    for column in mapping.values():
        try:
            require_integer_range(frame, column, low=instrument.response_min,
                                  high=instrument.response_max, source=source)
        except DataError as error:
            problems.append(str(error))
    if len(problems) == 1:
        raise DataError(problems[0])
    if problems:
        raise DataError(f"{source}: {len(problems)} item columns hold invalid values; each is "
                        "listed below.\n\n" + "\n\n".join(problems))
    if id_column:
        frame[id_column] = id_values(frame, id_column, source)
        require_unique(frame, [id_column], source, f"{what} respondent")
    renamed = frame.rename(columns={column: item for item, column in mapping.items()})
    for item in instrument.items:
        renamed[item] = renamed[item].to_numpy(dtype=float, na_value=np.nan)
    return renamed


def _therapists(files: _Files, config: StudyConfig, qpl: Instrument) -> pd.DataFrame:
    spec = config.therapists
    source = files.name(spec.table)
    clash = sorted(set(spec.covariates) & set(qpl.items))
    if clash:
        raise SpecificationError(
            f"{config.source}: therapists.covariates names {clash}, which are also QPL item ids; "
            f'give the covariates other names, e.g. {{ {clash[0]}_covariate = "{clash[0]}" }}.'
        )
    frame = _items_table(files, spec.table, qpl, spec.columns, spec.id_column, "therapists",
                         extra=list(spec.covariates.values()))
    numeric_covariates(frame, spec.covariates, source)
    return frame.rename(columns={spec.id_column: "therapist",
                                 **{c: n for n, c in spec.covariates.items()}})


def _patients(files: _Files, config: StudyConfig) -> pd.DataFrame | None:
    spec = config.patients
    if spec is None:
        return None
    source = files.name(spec.table)
    frame = files.read(spec.table, [spec.id_column, spec.therapist_column,
                                    *spec.covariates.values()])
    frame[spec.id_column] = id_values(frame, spec.id_column, source)
    frame[spec.therapist_column] = id_values(frame, spec.therapist_column, source)
    duplicated = frame[spec.id_column].duplicated(keep=False)
    if duplicated.any():
        first = frame.loc[duplicated].groupby(spec.id_column, sort=False)
        patient, rows = next(iter(first))
        therapists = rows[spec.therapist_column].unique()
        listed = ", ".join(f"row {r}" for r in rows[ROW].head(MAX_LISTED))
        problem = (
            f"is listed under {len(therapists)} therapists ({', '.join(map(repr, therapists))})"
            if len(therapists) > 1 else "is listed more than once"
        )
        raise DataError(
            f"{source}: column {spec.id_column!r}: patient {patient!r} {problem} ({listed}; "
            f"{ROWS_COUNTED}). A patient must appear once, under one therapist; correct the "
            "file (a patient who changed therapist must be given a new id per treatment)."
        )
    numeric_covariates(frame, spec.covariates, source)
    return frame.rename(columns={spec.id_column: "patient",
                                 spec.therapist_column: "therapist",
                                 **{c: n for n, c in spec.covariates.items()}})


def _wai(files: _Files, config: StudyConfig) -> tuple[dict[str, RaterData], list[dict[str, Any]]]:
    spec = config.wai
    out: dict[str, RaterData] = {}
    excluded: list[dict[str, Any]] = []
    values = {r: spec.raters[r].rater_value for r in RATERS}
    counted: set[str] = set()
    for rater in RATERS:
        block = spec.raters[rater]
        source = files.name(block.table)
        instrument = _instrument(config, block.columns.instrument, f"wai.{rater}.instrument")
        if not instrument.total:
            raise SpecificationError(
                f"{config.source}: wai.{rater}.instrument {instrument.name} defines no total "
                "score, which the study uses as the alliance; use a WAI definition with "
                "total = true."
            )
        ids = [spec.patient_column, spec.session_column]
        if spec.therapist_column:
            ids.append(spec.therapist_column)
        if block.rater_value is not None and spec.rater_column:
            ids.append(spec.rater_column)
        frame = _items_table(files, block.table, instrument, block.columns, None,
                             f"wai.{rater}", extra=ids)
        frame[spec.patient_column] = id_values(frame, spec.patient_column, source)
        if spec.therapist_column:
            frame[spec.therapist_column] = id_values(frame, spec.therapist_column, source)
        if block.rater_value is not None and spec.rater_column:
            labels = id_values(frame, spec.rater_column, source)
            configured = {v for v in values.values() if v is not None}
            other = ~labels.isin(list(configured))
            if other.any() and source not in counted:
                counted.add(source)
                found = labels[other].unique()
                shown = (", ".join(map(repr, found[:5])) if config.show_identifiers else
                         f"{len(found)} other value{'s' if len(found) > 1 else ''}, not shown: "
                         "set report.show_identifiers = true to list them")
                excluded.append({
                    "step": "data",
                    "rows": int(other.sum()),
                    # stored in the results: the file as the configuration names it
                    "reason": f"{block.table.file.as_posix()}: rows whose "
                    f"{spec.rater_column!r} is none of "
                    f"{sorted(configured)} ({shown})",
                })
            frame = frame.loc[labels == block.rater_value]
        if frame.empty:
            raise DataError(
                f"{source}: no {rater}-rated WAI rows"
                + (f" (no row has {spec.rater_column} = {block.rater_value!r})"
                   if block.rater_value is not None else "")
                + f". Check wai.{rater}.rater_value and the file."
            )
        require_sessions(frame, spec.session_column, source)
        require_unique(frame, [spec.patient_column, spec.session_column], source,
                        f"{rater}-rated administration")
        renamed = frame.rename(columns={spec.patient_column: "patient",
                                        spec.session_column: "session"})
        if spec.therapist_column:
            renamed = renamed.rename(columns={spec.therapist_column: "therapist"})
            one_therapist_each(renamed.assign(source=source), spec.therapist_column)
        keep = [ROW, "patient", *(["therapist"] if spec.therapist_column else []), "session",
                *instrument.items]
        out[rater] = RaterData(renamed.loc[:, keep].reset_index(drop=True), instrument, source)
    return out, excluded


def _link_patients(
    wai: dict[str, RaterData], patients: pd.DataFrame | None, config: StudyConfig, files: _Files
) -> pd.DataFrame:
    """Give every WAI row its therapist and check it against the patients file."""
    spec = config.wai
    if patients is None:
        links = pd.concat(
            [data.frame.assign(source=data.source) for data in wai.values()], ignore_index=True
        )
        one_therapist_each(links, str(spec.therapist_column))
        return links[["patient", "therapist"]].drop_duplicates("patient").reset_index(drop=True)
    known = patients.set_index("patient")["therapist"]
    patients_source = files.name(config.patients.table) if config.patients else ""
    for rater, data in wai.items():
        frame = data.frame
        unknown = ~frame["patient"].isin(known.index)
        if unknown.any():
            noun, verb = describe(frame.loc[unknown], "patient")
            raise DataError(
                f"{data.source}: column {spec.patient_column!r}: {noun} {verb} not in "
                f"{patients_source} ({ROWS_COUNTED}). Add these patients (with their therapist) "
                "to the patients file, or correct the ids."
            )
        expected = known.loc[frame["patient"]].to_numpy()
        if "therapist" in frame:
            differs = frame["therapist"].to_numpy() != expected
            if differs.any():
                first = int(np.flatnonzero(differs)[0])
                row = frame.iloc[first]
                raise DataError(
                    f"{data.source}: column {spec.therapist_column!r}, row {row[ROW]}: patient "
                    f"{row['patient']!r} is under therapist {row['therapist']!r} here but "
                    f"under {expected[first]!r} in {patients_source}"
                    f" ({int(differs.sum())} such rows; {ROWS_COUNTED}). A patient must stay "
                    "with one therapist; correct one of the files."
                )
        else:
            frame.insert(2, "therapist", expected)
        wai[rater] = RaterData(frame, data.instrument, data.source)
    rated = pd.concat([data.frame["patient"] for data in wai.values()]).unique()
    return patients.loc[patients["patient"].isin(rated)].drop(columns=[ROW]).reset_index(
        drop=True
    )


def _require_therapists(
    wai: dict[str, RaterData], therapists: pd.DataFrame, config: StudyConfig, files: _Files
) -> None:
    """Every therapist of a rated patient must have a row (QPL items) in the therapists file."""
    known = set(therapists["therapist"])
    therapist_source = files.name(config.therapists.table)
    for data in wai.values():
        absent = ~data.frame["therapist"].isin(known)
        if absent.any():
            column = config.wai.therapist_column or "therapist (from the patients file)"
            noun, verb = describe(data.frame.loc[absent], "therapist")
            raise DataError(
                f"{data.source}: column {column!r}: {noun} {verb} not in {therapist_source}, "
                f"so there are no QPL items for {'it' if verb == 'is' else 'them'} "
                f"({ROWS_COUNTED}). Every therapist of a rated patient needs QPL items: add "
                "them to the therapists file or correct the ids."
            )
