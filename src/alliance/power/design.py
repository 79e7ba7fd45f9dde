"""The design of a planned study for a power analysis, read from and written to TOML.

src/alliance/power/example_design.toml is the reference study (Nissen-Lie et al. 2013: 70
therapists, 227 patients, alliance at sessions 3, 12, 20 and 40) with every value explained.
A design file is complete in itself (no merging with the example); the sections ``[treatment]``,
``[fixed]``, ``[predictors]`` and the keys ``alpha``, ``df_method`` and ``schedule.dropout``
have defaults. :meth:`PowerDesign.updated` changes single values (the CLI options and the
points of a power curve).
"""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from alliance.errors import SpecificationError
from alliance.io import Section, naming_file, read_toml
from alliance.io import config_fields as fields
from alliance.mixed.fit import DF_METHODS as ENGINE_DF_METHODS
from alliance.power.caseload import DISTRIBUTIONS, Caseload
from alliance.power.effects import Effect, Predictor, make_effect, parse_term
from alliance.power.schedule import Schedule, Treatment
from alliance.power.variance import RATIO_KEYS, VarianceComponents
from alliance.simulate.time_codings import DEFAULT_ORIGIN, ORIGINS, coding_named

#: The power-only df method: no df at all, the Wald z test (the large-sample test the analytic
#: power assumes). The replicates are then fitted with the engine's default df method, whose
#: df are not read.
LARGE_SAMPLE_DF_METHOD = "z"
#: Denominator df of the simulated tests: any of the engine's df methods
#: (:data:`alliance.mixed.fit.DF_METHODS`: lmerTest's Satterthwaite, HLM's containment rule,
#: residual n - p, pbkrtest's Kenward-Roger), or :data:`LARGE_SAMPLE_DF_METHOD`.
DF_METHODS = (*ENGINE_DF_METHODS, LARGE_SAMPLE_DF_METHOD)
EXAMPLE_FILE = "example_design.toml"
_TOP_KEYS = ("alpha", "df_method", "sample", "schedule", "treatment", "variance", "fixed",
             "predictors", "effects", "cohens_d")


@dataclass(frozen=True)
class PowerDesign:
    """Everything that defines the simulated studies of a power analysis.

    Attributes
    ----------
    therapists : int
        Number of therapists.
    caseload : Caseload
        Patients per therapist.
    schedule : Schedule
        Waves, time coding and dropout.
    variance : VarianceComponents
        Random-effect SDs and correlations, residual SD.
    effects, cohens_d : Mapping[str, float]
        Tested terms with their true value, raw or as Cohen's d (each term in one of them).
    predictors : tuple of Predictor
        Every therapist-level predictor in the model; predictors named only in an effect are
        standard normal.
    predictor_correlation : tuple of tuple of float
        Correlation of the predictors (their latent normal scores), in ``predictors`` order;
        empty for independent predictors.
    treatment : Treatment or None
        Treatment lengths; None when every patient is treated through the last wave.
    intercept, growth : float
        Mean alliance at the first wave and mean growth per unit of time.
    alpha : float
        Two-sided significance level.
    df_method : {"satterthwaite", "containment", "residual", "kenward-roger", "z"}
        Reference distribution of the tests in the simulated analyses (:data:`DF_METHODS`).
    """

    therapists: int
    caseload: Caseload
    schedule: Schedule
    variance: VarianceComponents
    effects: Mapping[str, float] = field(default_factory=dict)
    cohens_d: Mapping[str, float] = field(default_factory=dict)
    predictors: tuple[Predictor, ...] = ()
    predictor_correlation: tuple[tuple[float, ...], ...] = ()
    treatment: Treatment | None = None
    intercept: float = 0.0
    growth: float = 0.0
    alpha: float = 0.05
    df_method: str = "satterthwaite"

    def __post_init__(self) -> None:
        object.__setattr__(self, "effects", dict(self.effects))
        object.__setattr__(self, "cohens_d", dict(self.cohens_d))
        if not self.effects and not self.cohens_d:
            raise SpecificationError(
                "the design tests no effect; add e.g. [effects] \"time:personal_burdens\" = "
                "-0.05 (raw) or [cohens_d] \"time:personal_burdens\" = -0.3."
            )
        seen: dict[str, str] = {}
        declared = {p.name: p for p in self.predictors}
        order = list(declared)
        for section, terms in (("effects", self.effects), ("cohens_d", self.cohens_d)):
            for term in terms:
                where = f"{section}.{term}"
                predictor, part = parse_term(term, where)
                key = f"{part}:{predictor}"
                if key in seen:
                    raise SpecificationError(
                        f"{where} names the same effect as {seen[key]}; give each effect once."
                    )
                seen[key] = where
                if predictor not in declared:
                    declared[predictor] = Predictor(predictor)
                    order.append(predictor)
        object.__setattr__(self, "predictors", tuple(declared[name] for name in order))
        self._check_correlation()
        if self.therapists < len(self.predictors) + 2:
            raise SpecificationError(
                f"sample.therapists is {self.therapists}, but a model with "
                f"{len(self.predictors)} therapist-level predictor(s) needs at least "
                f"{len(self.predictors) + 2} therapists; raise sample.therapists."
            )
        for declared_predictor in self.predictors:
            ones = int(round(declared_predictor.proportion * self.therapists))
            binary = declared_predictor.distribution == "binary"
            if binary and not 1 <= ones <= self.therapists - 1:
                raise SpecificationError(
                    f"predictors.{declared_predictor.name}.proportion is "
                    f"{declared_predictor.proportion!r}, which "
                    f"puts {ones} of {self.therapists} therapists at 1; both groups need at "
                    "least one therapist. Change the proportion or the number of therapists."
                )
        if not any(self.variance.therapist_sd) and not any(self.variance.patient_sd):
            raise SpecificationError(
                "variance: every random-effect SD is 0, so there is nothing nested to model; "
                "give the therapist or patient intercept or slope a positive variance."
            )
        if self.caseload.mean == 1 and any(self.variance.therapist_sd) and any(
                self.variance.patient_sd):
            raise SpecificationError(
                "sample.patients_per_therapist is 1, so therapist and patient effects cannot be "
                "told apart; for a two-level design (one patient per therapist) set the "
                "therapist variances to 0 (variance.icc_pre_cluster = 0 and icc_slope = 0)."
            )
        if not 0.0 < self.alpha < 1.0:
            raise SpecificationError(
                f"alpha is {self.alpha!r}, but a significance level lies strictly between 0 "
                "and 1 (e.g. 0.05)."
            )
        if self.df_method not in DF_METHODS:
            raise SpecificationError(
                f"df_method is {self.df_method!r}; choose one of {', '.join(DF_METHODS)}."
            )
        if self.treatment is not None:
            self.treatment.check_waves(self.schedule)

    def _check_correlation(self) -> None:
        matrix = np.asarray(self.predictor_correlation, dtype=float)
        if matrix.size == 0:
            object.__setattr__(self, "predictor_correlation", ())
            return
        size = len(self.predictors)
        if matrix.shape != (size, size):
            raise SpecificationError(
                f"predictors.correlation has shape {matrix.shape}, but the design has {size} "
                f"predictors ({', '.join(p.name for p in self.predictors)}); give a {size} x "
                f"{size} matrix in the order the [predictors.*] tables are listed, and list "
                "every predictor there."
            )
        if not np.allclose(matrix, matrix.T) or not np.allclose(np.diag(matrix), 1.0):
            raise SpecificationError(
                "predictors.correlation must be symmetric with 1 on the diagonal; fix the matrix."
            )
        if np.any(np.abs(matrix[~np.eye(size, dtype=bool)]) >= 1.0):
            raise SpecificationError(
                "predictors.correlation has an off-diagonal value of magnitude 1 or more; "
                "correlations lie strictly between -1 and 1."
            )
        if np.linalg.eigvalsh(matrix).min() <= 1e-10:
            raise SpecificationError(
                "predictors.correlation is not positive definite: these correlations cannot "
                "hold together; shrink the largest ones towards 0."
            )
        object.__setattr__(self, "predictor_correlation",
                           tuple(tuple(float(v) for v in row) for row in matrix))

    # ------------------------------------------------------------------ derived quantities

    @property
    def predictor_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.predictors)

    @property
    def tested(self) -> tuple[Effect, ...]:
        """The tested effects, raw and standardised, in the order given."""
        pretest_sd = float(np.sqrt(self.variance.pretest_variance))
        last_time = float(self.schedule.times[-1])
        out = [make_effect(t, v, False, pretest_sd, last_time, f"effects.{t}")
               for t, v in self.effects.items()]
        out += [make_effect(t, v, True, pretest_sd, last_time, f"cohens_d.{t}")
                for t, v in self.cohens_d.items()]
        return tuple(out)

    def fixed_effects(self, null: bool = False) -> dict[str, float]:
        """True value of every fixed effect of the model, lme4 names; tested ones 0 if ``null``."""
        values = {"(Intercept)": self.intercept, "time": self.growth}
        for name in self.predictor_names:
            values[name] = 0.0
        for name in self.predictor_names:
            values[f"time:{name}"] = 0.0
        for effect in self.tested:
            values[effect.term] = 0.0 if null else effect.value
        return values

    @property
    def balanced(self) -> bool:
        """Equal caseloads, no dropout, every patient treated through the last wave."""
        return self.caseload.balanced and not self.schedule.has_dropout and (
            self.treatment is None or self.treatment.shortest >= self.schedule.waves[-1]
        )

    # ------------------------------------------------------------------ reading and writing

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PowerDesign:
        """Build a design from nested mappings (parsed TOML).

        Raises
        ------
        SpecificationError
            On an unknown or misspelt parameter, a missing required value, a value of the
            wrong type or an invalid value; the message names the field (``sample.therapists``).
        """
        top = Section.of(data)
        top.known_keys(_TOP_KEYS)
        sample = top.section("sample", required=True, example="[sample] therapists = 70")
        sample.known_keys(("therapists", "patients_per_therapist", "caseload", "dispersion"))
        therapists = sample.integer("therapists", whole_floats=True, example="70")
        mean = sample.number("patients_per_therapist", example="3.2")
        caseload = Caseload(
            sample.choice("caseload", DISTRIBUTIONS, "fixed" if mean.is_integer() else "poisson"),
            mean,
            sample.number("dispersion", None),
        )
        schedule_data = top.section("schedule", required=True,
                                    example="[schedule] waves = [3, 12, 20, 40]")
        schedule_data.known_keys(("waves", "time", "time_unit", "origin", "dropout"))
        waves = schedule_data.numbers("waves", example="[3, 12, 20, 40]")
        dropout_value = schedule_data.get("dropout", 0.0)
        if isinstance(dropout_value, list | tuple):
            dropout = fields.numbers(dropout_value, "schedule.dropout")
        else:
            dropout = (fields.number(dropout_value, "schedule.dropout"),) * max(len(waves) - 1, 0)
        schedule = Schedule(
            waves,
            coding_named(schedule_data.text("time", "log"), "schedule.time").name,
            schedule_data.number("time_unit", 1.0),
            dropout,
            schedule_data.choice("origin", tuple(ORIGINS), DEFAULT_ORIGIN),
        )
        treatment = None
        if "treatment" in top:
            t = top.section("treatment")
            t.known_keys(("median_sessions", "log_sd", "min_sessions", "max_sessions"))
            treatment = Treatment(
                t.number("median_sessions", example="28"),
                t.number("log_sd", 0.0),
                t.integer("min_sessions", 1, whole_floats=True),
                t.integer("max_sessions", 1000, whole_floats=True),
            )
        variance = VarianceComponents.from_dict(
            dict(top.section("variance", required=True,
                             example="[variance] icc_slope = 0.05").data)
        )
        fixed = top.section("fixed")
        fixed.known_keys(("intercept", "time"))
        predictors, correlation = _read_predictors(top.section("predictors"))
        effects = {str(k): fields.number(v, f"effects.{k}")
                   for k, v in top.section("effects").data.items()}
        cohens_d = {str(k): fields.number(v, f"cohens_d.{k}")
                    for k, v in top.section("cohens_d").data.items()}
        return cls(
            therapists=therapists,
            caseload=caseload,
            schedule=schedule,
            variance=variance,
            effects=effects,
            cohens_d=cohens_d,
            predictors=predictors,
            predictor_correlation=correlation,
            treatment=treatment,
            intercept=fixed.number("intercept", 0.0),
            growth=fixed.number("time", 0.0),
            alpha=top.number("alpha", 0.05),
            df_method=top.choice("df_method", DF_METHODS, "satterthwaite"),
        )

    @classmethod
    def from_toml(cls, path: str | Path) -> PowerDesign:
        """Read a design file; errors name the file and the field."""
        data = read_toml(path, kind="design file", remedy="give the path of a TOML design "
                         f"file (see alliance/power/{EXAMPLE_FILE}).")
        with naming_file(str(path)):
            return cls.from_dict(data)

    @classmethod
    def reference(cls) -> PowerDesign:
        """The reference study's design (example_design.toml)."""
        text = resources.files("alliance.power").joinpath(EXAMPLE_FILE).read_text("utf-8")
        return cls.from_dict(tomllib.loads(text))

    def to_dict(self) -> dict[str, Any]:
        """Every value as nested dicts; ``from_dict(to_dict())`` gives an equal design."""
        out: dict[str, Any] = {
            "alpha": self.alpha,
            "df_method": self.df_method,
            "sample": {"therapists": self.therapists, **self.caseload.to_dict()},
            "schedule": self.schedule.to_dict(),
            "variance": self.variance.to_dict(),
            "fixed": {"intercept": self.intercept, "time": self.growth},
            "predictors": {p.name: p.to_dict() for p in self.predictors},
            "effects": dict(self.effects),
            "cohens_d": dict(self.cohens_d),
        }
        if self.predictor_correlation:
            out["predictors"]["correlation"] = [list(row) for row in self.predictor_correlation]
        if self.treatment is not None:
            out["treatment"] = self.treatment.to_dict()
        return out

    def updated(self, overrides: Mapping[str, Any]) -> PowerDesign:
        """A copy with some values changed, e.g. ``{"sample": {"therapists": 100}}``.

        Sections are merged key by key. A ``[variance]`` override in the ratio form is applied
        to this design's ratios (so ``{"variance": {"icc_slope": 0.1}}`` keeps the others); a
        term set in ``effects`` is removed from ``cohens_d`` and the other way round.
        """
        base = self.to_dict()
        variance = overrides.get("variance", {})
        if set(variance) & set(RATIO_KEYS):
            base["variance"] = self.variance.ratios()
        for section, other in (("effects", "cohens_d"), ("cohens_d", "effects")):
            for term in overrides.get(section, {}):
                target = parse_term(term, f"{section}.{term}")
                base[other] = {k: v for k, v in base[other].items()
                               if parse_term(k, f"{other}.{k}") != target}
        return type(self).from_dict(_merge(base, overrides))


def _merge(base: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _read_predictors(
    table: Section,
) -> tuple[tuple[Predictor, ...], tuple[tuple[float, ...], ...]]:
    predictors = []
    correlation: tuple[tuple[float, ...], ...] = ()
    for name in table.data:
        if name == "correlation":
            correlation = fields.matrix(table.data[name], table.name(name))
            continue
        spec = table.section(name)
        spec.known_keys(("distribution", "proportion"))
        predictors.append(Predictor(
            str(name),
            spec.choice("distribution", ("normal", "binary"), "normal"),
            spec.number("proportion", 0.5),
        ))
    return tuple(predictors), correlation
