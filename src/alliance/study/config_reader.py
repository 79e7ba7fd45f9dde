"""Reading a study configuration: TOML text -> a checked :class:`~alliance.study.config.StudyConfig`.

Every value is checked here, before any data file is opened: an unknown or misspelt key, a
value of the wrong type or an impossible choice raises
:class:`~alliance.errors.SpecificationError` naming the file, the key (``section.key``) and a
remedy. Relative file paths are kept as written and read relative to the configuration's folder.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from alliance.errors import SpecificationError
from alliance.io import read_toml
from alliance.simulate.time_codings import (
    DEFAULT_ORIGIN,
    ORIGINS,
    REMOVED_CODINGS,
    TENS_OF_SESSIONS,
)
from alliance.study.config import (
    CENTERINGS,
    FACTOR_NAMES,
    RANDOM_EFFECTS,
    RATERS,
    RESERVED_NAMES,
    TIME_CODINGS,
    FactorConfig,
    ItemColumns,
    ModelConfig,
    PatientConfig,
    RaterConfig,
    ReferenceConfig,
    StudyConfig,
    TableSource,
    TherapistConfig,
    WaiConfig,
)

EXAMPLE_FILE = "example_config.toml"

#: Fewest bootstrap samples accepted: fewer cannot place a 95% interval's percentiles.
MIN_BOOTSTRAP_SAMPLES = 200
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DEFAULT_INSTRUMENTS = {"patient": "wai-sr-client", "therapist": "wai-sr-therapist"}


def load_config(path: str | Path) -> StudyConfig:
    """Read and check a study configuration file.

    Raises
    ------
    SpecificationError
        The file is missing, is not valid TOML, or holds an invalid configuration; the
        message names the file, the section and key, and a remedy.
    """
    file = Path(path)
    data = read_toml(file, kind="configuration file", remedy="check the path, or write one "
                     "from `alliance analyze --example-config`.")
    return config_from_dict(data, base_dir=file.resolve().parent, source=str(file))


def example_config_text() -> str:
    """The shipped example configuration (every field explained)."""
    return resources.files("alliance.study").joinpath(EXAMPLE_FILE).read_text("utf-8")


def example_config(base_dir: str | Path) -> StudyConfig:
    """The example configuration, reading the files of ``alliance simulate`` from ``base_dir``."""
    data = tomllib.loads(example_config_text())
    return config_from_dict(data, base_dir=Path(base_dir), source=EXAMPLE_FILE)


class _Reader:
    """Reads one section (TOML table) of the mapping, naming the file and section in errors."""

    def __init__(self, data: Any, section: str, source: str) -> None:
        self.section = section
        self.source = source
        if not isinstance(data, Mapping):
            self.fail("", f"must be a table, not {type(data).__name__}", "write it as a TOML table")
        self.data = data

    def fail(self, key: str, problem: str, remedy: str) -> Any:
        where = ".".join(part for part in (self.section, key) if part) or "the top level"
        raise SpecificationError(f"{self.source}: {where} {problem}; {remedy}.")

    def check_keys(self, known: set[str]) -> None:
        for key in self.data:
            if key not in known:
                close = difflib.get_close_matches(key, sorted(known), n=1)
                hint = f"did you mean {close[0]!r}" if close else f"known keys: {sorted(known)}"
                self.fail(key, "is not a known key", hint)

    def text(self, key: str, default: str | None = None, *, required: bool = False) -> Any:
        if key not in self.data:
            if required:
                self.fail(key, "is missing", f"give {key} = \"...\"")
            return default
        value = self.data[key]
        if not isinstance(value, str) or not value.strip():
            self.fail(key, f"must be a non-empty text, not {value!r}", "write it in quotes")
        return value

    def choice(self, key: str, default: str, options: tuple[str, ...]) -> str:
        value = self.text(key, default)
        if value not in options:
            self.fail(key, f"is {value!r}", f"choose one of {', '.join(map(repr, options))}")
        return str(value)

    def integer(self, key: str, default: int, minimum: int) -> int:
        value = self.data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.fail(key, f"must be a whole number of at least {minimum}, not {value!r}",
                      "correct the value")
        return int(value)

    def boolean(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            self.fail(key, f"must be true or false, not {value!r}", "write true or false")
        return bool(value)

    def names(self, key: str) -> tuple[str, ...] | None:
        if key not in self.data:
            return None
        value = self.data[key]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.fail(key, f"must be a list of texts, not {value!r}", 'write ["a", "b"]')
        if len(set(value)) != len(value):
            self.fail(key, "names an entry twice", "list each once")
        return tuple(value)

    def table(self) -> TableSource:
        file = self.text("file", required=True)
        sheet = self.data.get("sheet")
        if sheet is not None and (isinstance(sheet, bool) or not isinstance(sheet, str | int)):
            self.fail("sheet", f"must be a sheet name or 0-based position, not {sheet!r}",
                      "write a name in quotes or a whole number")
        return TableSource(Path(file), sheet)

    def item_columns(self, default_instrument: str) -> ItemColumns:
        instrument = self.text("instrument", default_instrument)
        prefix = self.data.get("item_prefix", "")
        if not isinstance(prefix, str):
            self.fail("item_prefix", f"must be a text, not {prefix!r}", 'write "" for none')
        items = self.data.get("items", {})
        if not isinstance(items, Mapping) or not all(
            isinstance(v, str) and v for v in items.values()
        ):
            self.fail("items", "must map item ids to column names",
                      'write items = { qpl1 = "Q1", ... }')
        return ItemColumns(str(instrument), prefix, dict(items))

    def covariates(self) -> dict[str, str]:
        value = self.data.get("covariates", [])
        if isinstance(value, list):
            if not all(isinstance(v, str) and v for v in value):
                self.fail("covariates", f"must list column names, not {value!r}",
                          'write covariates = ["experience"]')
            mapping = {name: name for name in value}
        elif isinstance(value, Mapping):
            mapping = dict(value)
        else:
            mapping = self.fail("covariates", f"must be a list or a table, not {value!r}",
                                'write covariates = ["experience"] or { years = "Years" }')
        for name, column in mapping.items():
            if not _IDENTIFIER.match(name):
                self.fail("covariates", f"name {name!r} cannot be a model variable",
                          f'name it with letters, digits and _, e.g. {{ x = "{name}" }}')
            if name in RESERVED_NAMES:
                self.fail("covariates", f"name {name!r} is used by the pipeline itself",
                          f'give it another name, e.g. {{ {name}_covariate = "{column}" }}')
            if not isinstance(column, str) or not column:
                self.fail("covariates", f"column of {name!r} must be a text", "correct it")
        return mapping


_TOP_KEYS = {"title", "seed", "reference", "therapists", "patients", "wai", "factors",
             "models", "report", "simulation"}
_ITEM_KEYS = {"file", "sheet", "instrument", "item_prefix", "items"}


def config_from_dict(data: Mapping[str, Any], base_dir: Path, source: str) -> StudyConfig:
    """Build and check a configuration from the mapping of its TOML file.

    Raises
    ------
    SpecificationError
        Naming ``source``, the ``section.key`` and a remedy.
    """
    top = _Reader(data, "", source)
    top.check_keys(_TOP_KEYS)
    for section in ("reference", "therapists", "wai"):
        if section not in data:
            raise SpecificationError(
                f"{source}: the section {section} is missing; every study needs it (see "
                "`alliance analyze --example-config`)."
            )
    reference = _Reader(data["reference"], "reference", source)
    reference.check_keys(_ITEM_KEYS | {"id_column"})
    therapists = _Reader(data["therapists"], "therapists", source)
    therapists.check_keys(_ITEM_KEYS | {"id_column", "covariates"})
    patients_config = None
    if "patients" in data:
        patients = _Reader(data["patients"], "patients", source)
        patients.check_keys({"file", "sheet", "id_column", "therapist_column", "covariates"})
        patients_config = PatientConfig(
            table=patients.table(),
            id_column=patients.text("id_column", "patient"),
            therapist_column=patients.text("therapist_column", "therapist"),
            covariates=patients.covariates(),
        )
    therapist_config = TherapistConfig(
        table=therapists.table(),
        columns=therapists.item_columns("dpccq-qpl"),
        id_column=therapists.text("id_column", "therapist"),
        covariates=therapists.covariates(),
    )
    shared = set(therapist_config.covariates) & set(
        patients_config.covariates if patients_config else {}
    )
    if shared:
        raise SpecificationError(
            f"{source}: the covariates {sorted(shared)} are named in both therapists and "
            "patients; give each covariate one name."
        )
    config = StudyConfig(
        title=top.text("title", "Therapist factors and the working alliance"),
        seed=top.integer("seed", 2013, 0),
        reference=ReferenceConfig(
            table=reference.table(),
            columns=reference.item_columns("dpccq-qpl"),
            id_column=reference.text("id_column"),
        ),
        therapists=therapist_config,
        patients=patients_config,
        wai=_wai(data["wai"], source, patients_config),
        factors=_factors(data.get("factors", {}), source),
        models=_models(data.get("models", {}), source,
                       therapist_level=(*FACTOR_NAMES, *therapist_config.covariates),
                       patient_level=tuple(patients_config.covariates if patients_config
                                           else ())),
        show_identifiers=_report(data.get("report", {}), source),
        truth=_truth(data.get("simulation", {}), source),
        base_dir=Path(base_dir),
        source=source,
    )
    return config


def _wai(data: Any, source: str, patients: PatientConfig | None) -> WaiConfig:
    wai = _Reader(data, "wai", source)
    wai.check_keys({"file", "sheet", "patient_column", "session_column", "therapist_column",
                    "rater_column", *RATERS})
    rater_column = wai.text("rater_column")
    # without a patients file, the WAI file must say who each patient's therapist is
    therapist_column = wai.text("therapist_column", None if patients else "therapist")
    raters: dict[str, RaterConfig] = {}
    for rater in RATERS:
        if rater not in wai.data:
            wai.fail("", f"has no table wai.{rater}",
                     f"add it, with the {rater}-rated instrument")
        block = _Reader(wai.data[rater], f"wai.{rater}", source)
        block.check_keys(_ITEM_KEYS | {"rater_value"})
        if "file" in block.data:
            table = block.table()
        elif "file" in wai.data:
            table = wai.table()
        else:
            table = block.fail("file", "is missing here and in wai", "give the WAI data file")
        rater_value = block.text("rater_value")
        if rater_value is not None and rater_column is None:
            block.fail("rater_value", "is given but wai.rater_column is not",
                       "name the column that tells the raters apart in wai.rater_column")
        raters[rater] = RaterConfig(table, block.item_columns(_DEFAULT_INSTRUMENTS[rater]),
                                    rater_value)
    patient, therapist = raters["patient"], raters["therapist"]
    if (
        patient.table == therapist.table
        and patient.rater_value == therapist.rater_value
        and patient.columns.item_prefix == therapist.columns.item_prefix
        and dict(patient.columns.items) == dict(therapist.columns.items)
    ):
        wai.fail("", "reads the patient and the therapist ratings from the same columns of the "
                 "same rows", "set rater_column and rater_value, or item_prefix per rater, or "
                 "separate files")
    return WaiConfig(
        patient_column=wai.text("patient_column", "patient"),
        session_column=wai.text("session_column", "session"),
        therapist_column=therapist_column,
        rater_column=rater_column,
        raters=raters,
    )


def _factors(data: Any, source: str) -> FactorConfig:
    factors = _Reader(data, "factors", source)
    factors.check_keys({"method", "rotation", "correlation", "scores", "parallel_iterations",
                        "satisfaction_items", "burden_items", "target", "min_congruence",
                        "correction"})
    satisfaction = factors.names("satisfaction_items")
    burden = factors.names("burden_items")
    if (satisfaction is None) != (burden is None):
        factors.fail("satisfaction_items", "and burden_items must be given together",
                     "list the marker items of both factors")
    if satisfaction is not None and burden is not None:
        if not satisfaction or not burden:
            factors.fail("satisfaction_items", "and burden_items must each list at least one "
                         "item", "list the marker items of each factor from your codebook")
        if set(satisfaction) & set(burden):
            factors.fail("burden_items", f"repeats {sorted(set(satisfaction) & set(burden))}",
                         "put each item in one domain")
    target = _target(factors)
    if target is not None and satisfaction is not None:
        factors.fail("target", "is given together with satisfaction_items and burden_items",
                     "name the factors by one kind of evidence: marker items or a target")
    min_congruence = factors.data.get("min_congruence", 0.85)
    if isinstance(min_congruence, bool) or not isinstance(min_congruence, float) or not (
        0 < min_congruence <= 1
    ):
        factors.fail("min_congruence", f"must be a number above 0 and at most 1, not "
                     f"{min_congruence!r}", "write e.g. 0.85 (Lorenzo-Seva & ten Berge, 2006)")
    return FactorConfig(
        method=factors.choice("method", "minres", ("minres", "ml", "pa")),
        rotation=factors.choice("rotation", "oblimin", ("oblimin", "geomin", "promax")),
        correlation=factors.choice("correlation", "pearson", ("pearson", "polychoric")),
        scores=factors.choice("scores", "regression", ("regression", "bartlett", "tenberge")),
        parallel_iterations=factors.integer("parallel_iterations", 20, 1),
        satisfaction_items=satisfaction,
        burden_items=burden,
        target=target,
        min_congruence=float(min_congruence),
        correction=factors.choice("correction", "croon", ("croon", "none")),
    )


def _target(factors: _Reader) -> dict[str, tuple[float, ...]] | None:
    """``factors.target``: ``{item: [satisfactions loading, burdens loading]}``."""
    if "target" not in factors.data:
        return None
    value = factors.data["target"]
    if not isinstance(value, Mapping) or not value:
        factors.fail("target", f"must be a table of item loadings, not {value!r}",
                     "write target = { qpl1 = [0.7, 0.0], qpl2 = [0.0, 0.7], ... }")
    out: dict[str, tuple[float, ...]] = {}
    for item, loadings in value.items():
        if not (isinstance(loadings, list) and len(loadings) == 2 and all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in loadings
        )):
            factors.fail("target", f"gives {item} = {loadings!r}",
                         "give two numbers per item: its loading on personal_satisfactions, "
                         "then on personal_burdens")
        out[str(item)] = (float(loadings[0]), float(loadings[1]))
    return out


def _models(data: Any, source: str, therapist_level: tuple[str, ...] = FACTOR_NAMES,
            patient_level: tuple[str, ...] = ()) -> ModelConfig:
    """``[models]``; ``therapist_level`` and ``patient_level`` name the predictors that
    ``centering`` may name."""
    # the engine's vocabularies (imported here: reading a config does not load the engine)
    from alliance.mixed.fit import DF_METHODS
    from alliance.mixed.variance_shares import INTERVAL_METHODS

    models = _Reader(data, "models", source)
    models.check_keys({"time_coding", "time_codings", "origin", "time_unit",
                       "df_method", "robust", "confidence",
                       "bootstrap_samples", "variance_intervals", "random_effects",
                       "centering"})
    codings = models.names("time_codings") or TIME_CODINGS
    for coding in codings:
        if coding not in TIME_CODINGS:
            models.fail("time_codings", f"names {coding!r}", _coding_remedy(coding))
    coding = models.text("time_coding", "auto")
    if coding != "auto" and coding not in TIME_CODINGS:
        models.fail("time_coding", f"is {coding!r}", _coding_remedy(coding, "'auto', "))
    time_unit = models.data.get("time_unit", TENS_OF_SESSIONS)
    if isinstance(time_unit, bool) or not isinstance(time_unit, int | float) or not (
        0 < time_unit < float("inf")
    ):
        models.fail("time_unit", f"must be a number of sessions above 0, not {time_unit!r}",
                    "write e.g. 10 (slopes per ten sessions) or 1 (per session)")
    if coding != "auto" and coding not in codings:
        codings = (*codings, coding)
    confidence = models.data.get("confidence", 0.95)
    if isinstance(confidence, bool) or not isinstance(confidence, float) or not (
        0.5 <= confidence < 1
    ):
        models.fail("confidence", f"must be a number from 0.5 to below 1, not {confidence!r}",
                    "write e.g. 0.95")
    df_method = models.choice("df_method", "satterthwaite", DF_METHODS)
    robust = models.choice("robust", "none", ("none", "cr2"))
    if robust != "none" and df_method != "satterthwaite":
        models.fail("robust", f"is {robust!r} with df_method {df_method!r}",
                    "CR2 SEs come with their own (Bell-McCaffrey) df: leave df_method out")
    return ModelConfig(
        time_coding=coding,
        time_codings=codings,
        origin=models.choice("origin", DEFAULT_ORIGIN, tuple(ORIGINS)),
        time_unit=float(time_unit),
        df_method=df_method,
        robust=robust,
        confidence=float(confidence),
        bootstrap_samples=models.integer("bootstrap_samples", 1000, MIN_BOOTSTRAP_SAMPLES),
        variance_intervals=models.choice("variance_intervals", "auto", INTERVAL_METHODS),
        random_effects=_random_effects(models),
        centering=_centering(models, therapist_level, patient_level),
    )


def _centering(models: _Reader, therapist_level: tuple[str, ...],
               patient_level: tuple[str, ...]) -> dict[str, str]:
    """``models.centering``: predictor -> centering; group-mean for patient-level ones only,
    and its ``<name>_within`` / ``<name>_between`` may not be taken by another predictor."""
    value = models.data.get("centering", {})
    if not isinstance(value, Mapping):
        models.fail("centering", f"must be a table, not {value!r}",
                    'write centering = { personal_burdens = "grand-mean", '
                    'severity = "group-mean" }')
    known = (*therapist_level, *patient_level)
    for name, centering in value.items():
        key = f"centering.{name}"
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            models.fail(key, "is not a predictor of the growth models",
                        f"did you mean {close[0]!r}" if close else
                        f"name one of {', '.join(map(repr, known))}")
        if centering not in CENTERINGS:
            models.fail(key, f"is {centering!r}",
                        f"choose one of {', '.join(map(repr, CENTERINGS))}")
        if centering == "group-mean" and name in therapist_level:
            models.fail(key, "is 'group-mean', but it is measured on therapists: a "
                        "therapist's value has no mean over the therapist's patients to be "
                        "centred on", "use 'grand-mean' or 'none' (group-mean centering is "
                        "for patient-level covariates)")
        if centering == "group-mean":
            for part in (f"{name}_within", f"{name}_between"):
                if part in known:
                    models.fail(key, f"is 'group-mean', which adds the predictor {part!r}, "
                                "but a covariate already has that name",
                                "rename that covariate")
    return {str(name): str(centering) for name, centering in value.items()}


def _random_effects(models: _Reader) -> str:
    """``models.random_effects``: a name of :data:`RANDOM_EFFECTS`, or an lme4 random term that
    parses, uses only ``time`` and the grouping factors ``therapist`` and ``patient`` (a term for
    each), and that the engine can build for the per-rater and the joint model (checked on a
    small made-up design, so that a structure it refuses stops here, not after the factor
    analysis)."""
    from alliance.errors import FormulaSyntaxError
    from alliance.mixed.formula import parse_formula

    value = models.text("random_effects", "full")
    if value in RANDOM_EFFECTS:
        return str(value)
    key = "random_effects"
    remedy = (f"use one of {', '.join(map(repr, RANDOM_EFFECTS))} or lme4 random terms in time, "
              "therapist and patient, e.g. \"(time | therapist) + (1 | therapist:patient)\"")
    try:
        parsed = parse_formula(f"alliance ~ time + {value}")
    except FormulaSyntaxError as error:
        models.fail(key, f"{value!r} does not parse as lme4 random terms ({error})", remedy)
    if parsed.fixed.replace(" ", "") != "1+time" or not parsed.random:
        models.fail(key, f"{value!r} holds more than random terms (fixed part "
                    f"{parsed.fixed!r})", "write only terms in parentheses, (effects | group)")
    levels = set()
    for term in parsed.random:
        other = [v for v in term.variables if v != "time"]
        if other:
            models.fail(key, f"term {term.source!r} has random slopes of {other}",
                        "only time may have a random slope")
        if not term.intercept and not term.variables:
            models.fail(key, f"term {term.source!r} has no random effect", remedy)
        grouping = frozenset(term.grouping)
        if grouping == {"therapist"}:
            levels.add("therapist")
        elif grouping in ({"patient"}, {"patient", "therapist"}):
            levels.add("patient")
        else:
            models.fail(key, f"term {term.source!r} groups by {term.group_name!r}",
                        "group by therapist, and by patient (therapist:patient or patient)")
    if levels != {"therapist", "patient"}:
        models.fail(key, f"{value!r} has no random effect for "
                    f"{'therapists' if 'therapist' not in levels else 'patients'}",
                    "give random effects at both levels of the three-level model")
    _check_buildable(models, str(value))
    return str(value)


def _check_buildable(models: _Reader, terms: str) -> None:
    """Build the per-rater and joint models with ``terms`` on a small made-up design."""
    import numpy as np
    import pandas as pd

    from alliance.mixed.spec import build_spec
    from alliance.study.joint import joint_random_terms

    rows = [(f"t{t}", f"p{t}{p}", session, rater) for t in range(4) for p in range(3)
            for session in (1, 2, 3, 4) for rater in RATERS]
    frame = pd.DataFrame(rows, columns=["therapist", "patient", "time", "rater"])
    frame["alliance"] = np.sin(np.arange(len(frame), dtype=float))
    joint = joint_random_terms(terms)
    for model, formula, rows_used in (
        ("the growth models", f"alliance ~ time + {terms}", frame[frame["rater"] == "patient"]),
        ("the joint model", f"alliance ~ 0 + rater + rater:time + {joint}", frame),
    ):
        try:
            build_spec(formula, rows_used)
        except SpecificationError as error:
            models.fail("random_effects", f"{terms!r} cannot be used in {model} "
                        f"({formula}): {error}", "simplify the random terms")


def _coding_remedy(name: str, also: str = "") -> str:
    """How to replace a time coding that is not offered (a removed one says by what)."""
    return REMOVED_CODINGS.get(
        name, f"choose one of {also}{', '.join(map(repr, TIME_CODINGS))}")


def _report(data: Any, source: str) -> bool:
    report = _Reader(data, "report", source)
    report.check_keys({"show_identifiers"})
    return report.boolean("show_identifiers", False)


def _truth(data: Any, source: str) -> Path | None:
    simulation = _Reader(data, "simulation", source)
    simulation.check_keys({"truth"})
    truth = simulation.text("truth")
    return None if truth is None else Path(truth)
