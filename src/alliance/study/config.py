"""The study configuration: which files hold which data, and how the study is analysed.

A configuration is a TOML file (``alliance analyze study.toml``; the shipped example,
``example_config.toml``, explains every field and is printed by ``alliance analyze
--example-config``), read and checked by :mod:`alliance.study.config_reader`. Relative file
paths are read relative to the folder of the configuration file. This module holds the
checked configuration as frozen dataclasses and writes it back as TOML.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from alliance.io import toml_dumps
from alliance.simulate.time_codings import DEFAULT_ORIGIN, TENS_OF_SESSIONS
from alliance.simulate.time_codings import TIME_CODINGS as CODINGS

#: The two raters of the alliance, in the order used throughout the results.
RATERS = ("patient", "therapist")
#: Names of the two therapist factors (docs/architecture.md, "Where each concept lives").
FACTOR_NAMES = ("personal_satisfactions", "personal_burdens")
#: Time codings compared (:mod:`alliance.simulate.time_codings`).
TIME_CODINGS = tuple(CODINGS)
#: Named random-effects structures of ``[models] random_effects`` -> their lme4 random terms
#: (see :mod:`alliance.study.models`); any other value is an explicit lme4 random term.
RANDOM_EFFECTS = {
    "full": "(time | therapist/patient)",
    "uncorrelated": "(time || therapist/patient)",
    "intercepts": "(1 | therapist/patient)",
}
#: Centerings of ``[models] centering``; ``group-mean`` for patient-level covariates only.
CENTERINGS = ("grand-mean", "group-mean", "none")
#: The centering of a predictor the configuration does not name (every kind: therapist factors,
#: therapist covariates, patient covariates).
DEFAULT_CENTERING = "grand-mean"
#: Column names the pipeline gives its own variables; covariates may not take them.
RESERVED_NAMES = frozenset(
    {"alliance", "time", "session", "rater", "therapist", "patient", *FACTOR_NAMES}
)


@dataclass(frozen=True)
class TableSource:
    """A data file and, for Excel, the sheet (name or 0-based position)."""

    file: Path
    sheet: str | int | None = None

    def resolved(self, base_dir: Path) -> Path:
        """The file's path, relative paths taken from ``base_dir``."""
        return self.file if self.file.is_absolute() else base_dir / self.file


@dataclass(frozen=True)
class ItemColumns:
    """Where an instrument's items are: column ``items[id]`` if mapped, else ``prefix + id``."""

    instrument: str
    item_prefix: str = ""
    items: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ReferenceConfig:
    """The reference sample whose QPL items define the therapist factors."""

    table: TableSource
    columns: ItemColumns
    id_column: str | None = None


@dataclass(frozen=True)
class TherapistConfig:
    """Study therapists: one row each, with their QPL items and therapist-level covariates."""

    table: TableSource
    columns: ItemColumns
    id_column: str = "therapist"
    covariates: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PatientConfig:
    """Patients: one row each, with their therapist and patient-level covariates."""

    table: TableSource
    id_column: str = "patient"
    therapist_column: str = "therapist"
    covariates: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RaterConfig:
    """The WAI administrations of one rater: file, rows (``rater_value``) and item columns."""

    table: TableSource
    columns: ItemColumns
    rater_value: str | None


@dataclass(frozen=True)
class WaiConfig:
    """WAI administrations: one row per administration (and rater, unless in separate files)."""

    patient_column: str
    session_column: str
    therapist_column: str | None
    rater_column: str | None
    raters: Mapping[str, RaterConfig]


@dataclass(frozen=True)
class FactorConfig:
    """The factor analysis of the reference sample and the scoring of study therapists.

    The factors are named from marker items (``satisfaction_items``, ``burden_items``) or a
    target pattern (``target``: item -> loadings in the order of :data:`FACTOR_NAMES`), each
    name accepted at a Tucker congruence of at least ``min_congruence``
    (:mod:`alliance.study.naming`). ``correction`` is how the factor scores' error is
    handled: ``"croon"`` (bias-corrected, default) or ``"none"`` (naive factor-score
    regression; :mod:`alliance.study.factors`).
    """

    method: str = "minres"
    rotation: str = "oblimin"
    correlation: str = "pearson"
    scores: str = "regression"
    parallel_iterations: int = 20
    satisfaction_items: tuple[str, ...] | None = None
    burden_items: tuple[str, ...] | None = None
    target: Mapping[str, tuple[float, ...]] | None = None
    min_congruence: float = 0.85
    correction: str = "croon"


@dataclass(frozen=True)
class ModelConfig:
    """The mixed models: time coding, random effects, centering, inference.

    ``random_effects``: a name of :data:`RANDOM_EFFECTS` (``"full"``: correlated random
    intercepts and time slopes for therapists and patients; ``"uncorrelated"``;
    ``"intercepts"``) or an explicit lme4 random term in ``time``, ``therapist`` and
    ``patient`` (checked by the reader). ``centering``: predictor name -> one of
    :data:`CENTERINGS`; predictors not named are centred by :data:`DEFAULT_CENTERING`.

    ``time_coding``: ``"auto"`` or one of :data:`TIME_CODINGS`; ``origin``: where time is 0,
    ``"first-assessment"`` (the default) or ``"session-1"``; ``time_unit``: sessions per
    unit of linear time (:mod:`alliance.simulate.time_codings`).

    ``df_method``: one of the engine's :data:`alliance.mixed.fit.DF_METHODS`:
    ``"satterthwaite"``, ``"containment"``, ``"residual"`` or ``"kenward-roger"`` (adjusted SEs
    and df); ``robust``: ``"cr2"`` for CR2 cluster-robust SEs by therapist with Bell-McCaffrey
    df (with the default df_method only), or ``"none"``.

    ``bootstrap_samples``: parametric-bootstrap replicates of each null model, for the
    intervals of its variance components and variance shares; ``variance_intervals``:
    ``"auto"`` (the bootstrap below 200 therapists or for a fit on the boundary, the
    large-sample delta method otherwise), ``"bootstrap"`` or ``"large-sample"``
    (:func:`alliance.mixed.variance_shares.interval_method`).
    """

    time_coding: str = "auto"
    time_codings: tuple[str, ...] = TIME_CODINGS
    origin: str = DEFAULT_ORIGIN
    time_unit: float = TENS_OF_SESSIONS
    df_method: str = "satterthwaite"
    confidence: float = 0.95
    robust: str = "none"
    bootstrap_samples: int = 1000
    variance_intervals: str = "auto"
    random_effects: str = "full"
    centering: Mapping[str, str] = field(default_factory=dict)

    @property
    def random_terms(self) -> str:
        """The lme4 random term of the per-rater models: ``"(time | therapist/patient)"``."""
        return RANDOM_EFFECTS.get(self.random_effects, self.random_effects)

    def centering_of(self, predictor: str) -> str:
        """The centering of ``predictor``: as configured, else :data:`DEFAULT_CENTERING`."""
        return self.centering.get(predictor, DEFAULT_CENTERING)

    @property
    def robust_type(self) -> str | None:
        """``robust`` as :func:`alliance.mixed.fit` takes it (None for ``"none"``)."""
        return None if self.robust == "none" else self.robust


@dataclass(frozen=True)
class StudyConfig:
    """A complete, checked study configuration.

    ``base_dir`` is the folder relative file paths are read from (the configuration file's
    folder); ``source`` names the configuration in messages.
    """

    title: str
    seed: int
    reference: ReferenceConfig
    therapists: TherapistConfig
    patients: PatientConfig | None
    wai: WaiConfig
    factors: FactorConfig
    models: ModelConfig
    show_identifiers: bool
    truth: Path | None
    base_dir: Path
    source: str

    @property
    def therapist_covariates(self) -> tuple[str, ...]:
        """Model names of the therapist-level covariates."""
        return tuple(self.therapists.covariates)

    @property
    def patient_covariates(self) -> tuple[str, ...]:
        """Model names of the patient-level covariates."""
        return tuple(self.patients.covariates) if self.patients is not None else ()

    @property
    def covariates(self) -> tuple[str, ...]:
        """Covariate names: the therapists' then the patients'."""
        return (*self.therapist_covariates, *self.patient_covariates)

    def path(self, table: TableSource) -> Path:
        """The absolute path of a data file of this configuration."""
        return table.resolved(self.base_dir)

    @property
    def truth_path(self) -> Path | None:
        """The truth file of simulated data, or None."""
        if self.truth is None:
            return None
        return self.truth if self.truth.is_absolute() else self.base_dir / self.truth

    def with_seed(self, seed: int) -> StudyConfig:
        """A copy with another seed."""
        return replace(self, seed=int(seed))

    def to_dict(self, absolute_paths: bool = False) -> dict[str, Any]:
        """The configuration as the nested mapping of its TOML file (``from_dict`` reads it).

        With ``absolute_paths`` file paths are written absolute, so that the mapping can be
        saved in another folder and still point at the data.
        """

        def path(value: Path) -> str:
            if absolute_paths and not value.is_absolute():
                return str((self.base_dir / value).resolve())
            return value.as_posix()

        def table(source: TableSource) -> dict[str, Any]:
            out: dict[str, Any] = {"file": path(source.file)}
            if source.sheet is not None:
                out["sheet"] = source.sheet
            return out

        def columns(spec: ItemColumns) -> dict[str, Any]:
            out: dict[str, Any] = {"instrument": spec.instrument, "item_prefix": spec.item_prefix}
            if spec.items:
                out["items"] = dict(spec.items)
            return out

        data: dict[str, Any] = {"title": self.title, "seed": self.seed}
        data["reference"] = {**table(self.reference.table), **columns(self.reference.columns)}
        if self.reference.id_column is not None:
            data["reference"]["id_column"] = self.reference.id_column
        therapists = self.therapists
        data["therapists"] = {
            **table(therapists.table),
            "id_column": therapists.id_column,
            **columns(therapists.columns),
            "covariates": dict(therapists.covariates),
        }
        if self.patients is not None:
            data["patients"] = {
                **table(self.patients.table),
                "id_column": self.patients.id_column,
                "therapist_column": self.patients.therapist_column,
                "covariates": dict(self.patients.covariates),
            }
        wai: dict[str, Any] = {
            "patient_column": self.wai.patient_column,
            "session_column": self.wai.session_column,
        }
        if self.wai.therapist_column is not None:
            wai["therapist_column"] = self.wai.therapist_column
        if self.wai.rater_column is not None:
            wai["rater_column"] = self.wai.rater_column
        for rater, spec in self.wai.raters.items():
            entry = {**table(spec.table), **columns(spec.columns)}
            if spec.rater_value is not None:
                entry["rater_value"] = spec.rater_value
            wai[rater] = entry
        data["wai"] = wai
        factors = {
            key: value
            for key, value in vars(self.factors).items()
            if value is not None
        }
        data["factors"] = {
            key: list(value) if isinstance(value, tuple) else
            dict(value) if isinstance(value, Mapping) else value
            for key, value in factors.items()
        }
        if self.factors.target is not None:
            data["factors"]["target"] = {
                item: list(values) for item, values in self.factors.target.items()
            }
        models = vars(self.models)
        data["models"] = {
            key: list(value) if isinstance(value, tuple) else
            dict(value) if isinstance(value, Mapping) else value
            for key, value in models.items()
        }
        data["report"] = {"show_identifiers": self.show_identifiers}
        if self.truth is not None:
            data["simulation"] = {"truth": path(self.truth)}
        return data

    def to_toml(self, absolute_paths: bool = False, header: str = "") -> str:
        """The configuration as TOML text that :func:`load_config` reads back."""
        return toml_dumps(self.to_dict(absolute_paths), header=header)
