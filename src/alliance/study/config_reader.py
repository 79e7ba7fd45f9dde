"""Reading a study configuration: TOML text -> a checked :class:`~alliance.study.config.StudyConfig`.

Every value is checked here, before any data file is opened: an unknown or misspelt key, a
value of the wrong type or an impossible choice raises
:class:`~alliance.errors.SpecificationError` naming the file, the key (``section.key``), the
value found and what is expected, in the words of every configuration reader
(:mod:`alliance.io.config_fields`). Relative file paths are kept as written and read relative to the configuration's folder.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from alliance.errors import SpecificationError
from alliance.io import Section, read_toml
from alliance.io.config_fields import choice, join, show, suggestion, text
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


def _table_source(section: Section) -> TableSource:
    """``file`` and ``sheet`` of a data table."""
    file = section.text("file", nonempty=True, example='file = "wai.csv"')
    sheet = section.get("sheet", None)
    if sheet is not None and (isinstance(sheet, bool) or not isinstance(sheet, str | int)):
        section.wrong("sheet", "a sheet name (string) or its 0-based position (integer)")
    return TableSource(Path(file), sheet)


def _item_columns(section: Section, default_instrument: str) -> ItemColumns:
    """``instrument``, ``item_prefix`` and ``items`` (item id -> column name)."""
    instrument = section.text("instrument", default_instrument, nonempty=True)
    prefix = section.text("item_prefix", "", example='"" for none')
    items = section.section("items")
    for item in items.data:
        items.text(item, nonempty=True, example='items = { qpl1 = "Q1", ... }')
    return ItemColumns(instrument, prefix, dict(items.data))


def _covariates(section: Section) -> dict[str, str]:
    """``covariates``: a list of column names, or a table of name -> column."""
    value = section.get("covariates", [])
    if isinstance(value, list | tuple):
        names = section.texts("covariates", (), example='covariates = ["experience"]')
        mapping = {name: name for name in names}
    elif isinstance(value, Mapping):
        mapping = dict(value)
    else:
        section.wrong("covariates", "an array of column names or a table of name = column",
                      'covariates = ["experience"] or { years = "Years" }')
    for name, column in mapping.items():
        if not _IDENTIFIER.match(name):
            section.refuse("covariates", f"name {name!r} cannot be a model variable",
                           f'name it with letters, digits and _, e.g. {{ x = "{name}" }}')
        if name in RESERVED_NAMES:
            section.refuse("covariates", f"name {name!r} is used by the pipeline itself",
                           f'give it another name, e.g. {{ {name}_covariate = "{column}" }}')
        text(column, join(section.name("covariates"), name), nonempty=True,
             source=section.source)
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
    top = Section.of(data, source=source)
    top.known_keys(_TOP_KEYS)
    required = {
        section: top.section(section, required=True, example=f"[{section}] as in `alliance "
                             "analyze --example-config` (every study needs it)")
        for section in ("reference", "therapists", "wai")
    }
    reference, therapists = required["reference"], required["therapists"]
    reference.known_keys(_ITEM_KEYS | {"id_column"})
    therapists.known_keys(_ITEM_KEYS | {"id_column", "covariates"})
    patients_config = None
    if "patients" in top:
        patients = top.section("patients")
        patients.known_keys({"file", "sheet", "id_column", "therapist_column", "covariates"})
        patients_config = PatientConfig(
            table=_table_source(patients),
            id_column=patients.text("id_column", "patient", nonempty=True),
            therapist_column=patients.text("therapist_column", "therapist", nonempty=True),
            covariates=_covariates(patients),
        )
    therapist_config = TherapistConfig(
        table=_table_source(therapists),
        columns=_item_columns(therapists, "dpccq-qpl"),
        id_column=therapists.text("id_column", "therapist", nonempty=True),
        covariates=_covariates(therapists),
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
        title=top.text("title", "Therapist factors and the working alliance", nonempty=True),
        seed=top.integer("seed", 2013, minimum=0),
        reference=ReferenceConfig(
            table=_table_source(reference),
            columns=_item_columns(reference, "dpccq-qpl"),
            id_column=reference.text("id_column", None, nonempty=True),
        ),
        therapists=therapist_config,
        patients=patients_config,
        wai=_wai(required["wai"], patients_config),
        factors=_factors(top.section("factors")),
        models=_models(top.section("models"),
                       therapist_level=(*FACTOR_NAMES, *therapist_config.covariates),
                       patient_level=tuple(patients_config.covariates if patients_config
                                           else ())),
        show_identifiers=_report(top.section("report")),
        truth=_truth(top.section("simulation")),
        base_dir=Path(base_dir),
        source=source,
    )
    return config


def _wai(wai: Section, patients: PatientConfig | None) -> WaiConfig:
    wai.known_keys({"file", "sheet", "patient_column", "session_column", "therapist_column",
                    "rater_column", *RATERS})
    rater_column = wai.text("rater_column", None, nonempty=True)
    # without a patients file, the WAI file must say who each patient's therapist is
    therapist_column = wai.text("therapist_column", None if patients else "therapist",
                                nonempty=True)
    raters: dict[str, RaterConfig] = {}
    for rater in RATERS:
        block = wai.section(rater, required=True,
                            example=f"[wai.{rater}] with the {rater}-rated instrument")
        block.known_keys(_ITEM_KEYS | {"rater_value"})
        if "file" in block:
            table = _table_source(block)
        elif "file" in wai:
            table = _table_source(wai)
        else:
            block.refuse("file", "is missing here and in wai", "give the WAI data file")
        rater_value = block.text("rater_value", None, nonempty=True)
        if rater_value is not None and rater_column is None:
            block.refuse("rater_value", "is given but wai.rater_column is not",
                         "name the column that tells the raters apart in wai.rater_column")
        raters[rater] = RaterConfig(table, _item_columns(block, _DEFAULT_INSTRUMENTS[rater]),
                                    rater_value)
    patient, therapist = raters["patient"], raters["therapist"]
    if (
        patient.table == therapist.table
        and patient.rater_value == therapist.rater_value
        and patient.columns.item_prefix == therapist.columns.item_prefix
        and dict(patient.columns.items) == dict(therapist.columns.items)
    ):
        wai.refuse("", "reads the patient and the therapist ratings from the same columns of the "
                 "same rows", "set rater_column and rater_value, or item_prefix per rater, or "
                 "separate files")
    return WaiConfig(
        patient_column=wai.text("patient_column", "patient", nonempty=True),
        session_column=wai.text("session_column", "session", nonempty=True),
        therapist_column=therapist_column,
        rater_column=rater_column,
        raters=raters,
    )


def _factors(factors: Section) -> FactorConfig:
    factors.known_keys({"method", "rotation", "correlation", "scores", "parallel_iterations",
                        "satisfaction_items", "burden_items", "target", "min_congruence",
                        "correction"})
    satisfaction = factors.texts("satisfaction_items", None, unique=True)
    burden = factors.texts("burden_items", None, unique=True)
    if (satisfaction is None) != (burden is None):
        factors.refuse("satisfaction_items", "and burden_items must be given together",
                     "list the marker items of both factors")
    if satisfaction is not None and burden is not None:
        if not satisfaction or not burden:
            factors.refuse("satisfaction_items", "and burden_items must each list at least one "
                         "item", "list the marker items of each factor from your codebook")
        if set(satisfaction) & set(burden):
            factors.refuse("burden_items", f"repeats {sorted(set(satisfaction) & set(burden))}",
                         "put each item in one domain")
    target = _target(factors)
    if target is not None and satisfaction is not None:
        factors.refuse("target", "is given together with satisfaction_items and burden_items",
                     "name the factors by one kind of evidence: marker items or a target")
    min_congruence = factors.number("min_congruence", 0.85, above=0, maximum=1,
                                    integers=False,
                                    example="0.85 (Lorenzo-Seva & ten Berge, 2006)")
    return FactorConfig(
        method=factors.choice("method", ("minres", "ml", "pa"), "minres"),
        rotation=factors.choice("rotation", ("oblimin", "geomin", "promax"), "oblimin"),
        correlation=factors.choice("correlation", ("pearson", "polychoric"), "pearson"),
        scores=factors.choice("scores", ("regression", "bartlett", "tenberge"), "regression"),
        parallel_iterations=factors.integer("parallel_iterations", 20, minimum=1),
        satisfaction_items=satisfaction,
        burden_items=burden,
        target=target,
        min_congruence=min_congruence,
        correction=factors.choice("correction", ("croon", "none"), "croon"),
    )


def _target(factors: Section) -> dict[str, tuple[float, ...]] | None:
    """``factors.target``: ``{item: [satisfactions loading, burdens loading]}``."""
    if "target" not in factors:
        return None
    example = "target = { qpl1 = [0.7, 0.0], qpl2 = [0.0, 0.7], ... }"
    target = factors.section("target", example=example)
    if not target.data:
        factors.wrong("target", "a non-empty table of item loadings", example)
    return {
        str(item): target.numbers(item, length=2, example="[0.7, 0.0]: the loading on "
                                  "personal_satisfactions, then on personal_burdens")
        for item in target.data
    }


def _models(models: Section, therapist_level: tuple[str, ...] = FACTOR_NAMES,
            patient_level: tuple[str, ...] = ()) -> ModelConfig:
    """``[models]``; ``therapist_level`` and ``patient_level`` name the predictors that
    ``centering`` may name."""
    # the engine's vocabularies (imported here: reading a config does not load the engine)
    from alliance.mixed.fit import DF_METHODS
    from alliance.mixed.variance_shares import INTERVAL_METHODS

    models.known_keys({"time_coding", "time_codings", "origin", "time_unit",
                       "df_method", "robust", "confidence",
                       "bootstrap_samples", "variance_intervals", "random_effects",
                       "centering"})
    codings = models.texts("time_codings", None, unique=True) or TIME_CODINGS
    for index, coding in enumerate(codings):
        _time_coding(models, join("time_codings", index), coding, tuple(TIME_CODINGS))
    coding = _time_coding(models, "time_coding", models.text("time_coding", "auto"),
                          ("auto", *TIME_CODINGS))
    time_unit = models.number("time_unit", TENS_OF_SESSIONS, above=0,
                              example="10 (slopes per ten sessions) or 1 (per session)")
    if coding != "auto" and coding not in codings:
        codings = (*codings, coding)
    confidence = models.number("confidence", 0.95, minimum=0.5, below=1, integers=False,
                               example="0.95")
    df_method = models.choice("df_method", DF_METHODS, "satterthwaite")
    robust = models.choice("robust", ("none", "cr2"), "none")
    if robust != "none" and df_method != "satterthwaite":
        models.refuse("robust", f"is {robust!r} with df_method {df_method!r}",
                      "CR2 SEs come with their own (Bell-McCaffrey) df: leave df_method out")
    return ModelConfig(
        time_coding=coding,
        time_codings=codings,
        origin=models.choice("origin", tuple(ORIGINS), DEFAULT_ORIGIN),
        time_unit=time_unit,
        df_method=df_method,
        robust=robust,
        confidence=confidence,
        bootstrap_samples=models.integer("bootstrap_samples", 1000,
                                         minimum=MIN_BOOTSTRAP_SAMPLES),
        variance_intervals=models.choice("variance_intervals", INTERVAL_METHODS, "auto"),
        random_effects=_random_effects(models),
        centering=_centering(models, therapist_level, patient_level),
    )


def _time_coding(models: Section, key: str, value: str, options: tuple[str, ...]) -> str:
    """``value`` if it is one of ``options``; a removed coding says what replaces it."""
    if value in REMOVED_CODINGS:
        models.refuse(key, f"is {show(value)}", REMOVED_CODINGS[value])
    return choice(value, models.name(key), options, source=models.source)


def _centering(models: Section, therapist_level: tuple[str, ...],
               patient_level: tuple[str, ...]) -> dict[str, str]:
    """``models.centering``: predictor -> centering; group-mean for patient-level ones only,
    and its ``<name>_within`` / ``<name>_between`` may not be taken by another predictor."""
    centerings = models.section(
        "centering", example='centering = { personal_burdens = "grand-mean", '
        'severity = "group-mean" }')
    known = (*therapist_level, *patient_level)
    out: dict[str, str] = {}
    for name in centerings.data:
        key = f"centering.{name}"
        if name not in known:
            models.refuse(key, "is not a predictor of the growth models"
                          + suggestion(name, known), f"expected one of {', '.join(known)}")
        centering = centerings.choice(name, CENTERINGS)
        if centering == "group-mean" and name in therapist_level:
            models.refuse(key, "is 'group-mean', but it is measured on therapists: a "
                          "therapist's value has no mean over the therapist's patients to be "
                          "centred on", "use 'grand-mean' or 'none' (group-mean centering is "
                          "for patient-level covariates)")
        if centering == "group-mean":
            for part in (f"{name}_within", f"{name}_between"):
                if part in known:
                    models.refuse(key, f"is 'group-mean', which adds the predictor {part!r}, "
                                  "but a covariate already has that name",
                                  "rename that covariate")
        out[str(name)] = centering
    return out


def _random_effects(models: Section) -> str:
    """``models.random_effects``: a name of :data:`RANDOM_EFFECTS`, or an lme4 random term that
    parses, uses only ``time`` and the grouping factors ``therapist`` and ``patient`` (a term for
    each), and that the engine can build for the per-rater and the joint model (checked on a
    small made-up design, so that a structure it refuses stops here, not after the factor
    analysis)."""
    from alliance.errors import FormulaSyntaxError
    from alliance.mixed.formula import parse_formula

    value = models.text("random_effects", "full", nonempty=True)
    if value in RANDOM_EFFECTS:
        return str(value)
    key = "random_effects"
    remedy = (f"use one of {', '.join(map(repr, RANDOM_EFFECTS))} or lme4 random terms in time, "
              "therapist and patient, e.g. \"(time | therapist) + (1 | therapist:patient)\"")
    try:
        parsed = parse_formula(f"alliance ~ time + {value}")
    except FormulaSyntaxError as error:
        models.refuse(key, f"{value!r} does not parse as lme4 random terms ({error})", remedy)
    if parsed.fixed.replace(" ", "") != "1+time" or not parsed.random:
        models.refuse(key, f"{value!r} holds more than random terms (fixed part "
                    f"{parsed.fixed!r})", "write only terms in parentheses, (effects | group)")
    levels = set()
    for term in parsed.random:
        other = [v for v in term.variables if v != "time"]
        if other:
            models.refuse(key, f"term {term.source!r} has random slopes of {other}",
                        "only time may have a random slope")
        if not term.intercept and not term.variables:
            models.refuse(key, f"term {term.source!r} has no random effect", remedy)
        grouping = frozenset(term.grouping)
        if grouping == {"therapist"}:
            levels.add("therapist")
        elif grouping in ({"patient"}, {"patient", "therapist"}):
            levels.add("patient")
        else:
            models.refuse(key, f"term {term.source!r} groups by {term.group_name!r}",
                        "group by therapist, and by patient (therapist:patient or patient)")
    if levels != {"therapist", "patient"}:
        models.refuse(key, f"{value!r} has no random effect for "
                    f"{'therapists' if 'therapist' not in levels else 'patients'}",
                    "give random effects at both levels of the three-level model")
    _check_buildable(models, str(value))
    return str(value)


def _check_buildable(models: Section, terms: str) -> None:
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
            models.refuse("random_effects", f"{terms!r} cannot be used in {model} "
                        f"({formula}): {error}", "simplify the random terms")


def _report(report: Section) -> bool:
    report.known_keys({"show_identifiers"})
    return report.boolean("show_identifiers", False)


def _truth(simulation: Section) -> Path | None:
    simulation.known_keys({"truth"})
    truth = simulation.text("truth", None, nonempty=True)
    return None if truth is None else Path(truth)
