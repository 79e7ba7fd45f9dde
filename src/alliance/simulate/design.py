"""The complete design of a simulated alliance study, read from and written to TOML.

The defaults (src/alliance/simulate/default_study.toml, where every value is explained)
reproduce the design of Nissen-Lie, Havik, Høglend, Monsen & Rønnestad (2013), J Couns
Psychol 60(4), 483–495. A design file needs only the values it changes: it is merged over the
defaults section by section; lists, matrices and the ``level``/``growth`` tables are replaced
whole.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from alliance.errors import SpecificationError
from alliance.io import naming_file, read_toml, toml_dumps
from alliance.simulate import _codec
from alliance.simulate.design_alliance import AllianceModel
from alliance.simulate.design_measures import MissingDesign, QplModel, WaiModel
from alliance.simulate.design_sample import (
    CovariateDesign,
    SampleDesign,
    ScheduleDesign,
    TreatmentDesign,
)

#: Optional covariates, in addition to the therapist factors.
COVARIATES = ("experience", "severity")

_DEFAULT_FILE = "default_study.toml"


@functools.cache
def _default_mapping() -> dict[str, Any]:
    text = resources.files("alliance.simulate").joinpath(_DEFAULT_FILE).read_text("utf-8")
    return tomllib.loads(text)


@dataclass(frozen=True)
class StudyDesign:
    """Every parameter of a simulated study; see default_study.toml for their meaning.

    Build it with :meth:`default`, :meth:`from_toml` or :meth:`from_dict`; all of them
    validate every value and raise :class:`~alliance.errors.SpecificationError` naming the
    field (as spelt in a design file) and a remedy.
    """

    sample: SampleDesign
    treatment: TreatmentDesign
    schedule: ScheduleDesign
    covariates: CovariateDesign
    qpl: QplModel
    alliance: AllianceModel
    wai: WaiModel
    missing: MissingDesign

    def __post_init__(self) -> None:
        first = self.schedule.sessions[0]
        if first > self.treatment.max_sessions:
            raise SpecificationError(
                f"schedule.sessions starts at session {first}, after every treatment has "
                f"ended (treatment.max_sessions is {self.treatment.max_sessions}), so no WAI "
                "would ever be given; schedule an earlier session or raise max_sessions."
            )
        predictors = set(self.predictors)
        for rater, model in (
            ("patient_rated", self.alliance.patient_rated),
            ("therapist_rated", self.alliance.therapist_rated),
        ):
            for part in ("level", "growth"):
                unknown = sorted(set(getattr(model, part)) - predictors)
                if unknown:
                    raise SpecificationError(
                        f"alliance.{rater}.{part} names {', '.join(unknown)}, which is not a "
                        f"predictor; the predictors are {', '.join(self.predictors)} (the "
                        "qpl.factors and the covariates)."
                    )

    @property
    def predictors(self) -> tuple[str, ...]:
        """Therapist factors, then the covariates ``experience`` and ``severity``."""
        return (*self.qpl.factors, *COVARIATES)

    @classmethod
    def default(cls) -> StudyDesign:
        """The design of the reference study (default_study.toml)."""
        return _codec.build(cls, _default_mapping(), None)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StudyDesign:
        """Build a design from nested mappings, merged over the defaults.

        Raises
        ------
        SpecificationError
            On an unknown or misspelt parameter, a value of the wrong type or an invalid value.
        """
        return _codec.build(cls, data, _default_mapping())

    @classmethod
    def from_toml(cls, path: str | Path) -> StudyDesign:
        """Read a design file (only the values that differ from the defaults are needed).

        Raises
        ------
        SpecificationError
            When the file is missing, is not valid TOML or holds an invalid design; the
            message names the file.
        """
        data = read_toml(path, kind="design file", remedy="give the path of a TOML design file.")
        with naming_file(str(path)):
            return cls.from_dict(data)

    def to_dict(self) -> dict[str, Any]:
        """Every parameter as nested dicts and lists; ``from_dict(to_dict())`` is equal."""
        plain: dict[str, Any] = _codec.to_plain(self)
        return plain

    def to_toml(self) -> str:
        """Every parameter as TOML text that :meth:`from_toml` reads back to an equal design."""
        return toml_dumps(
            self.to_dict(),
            header="Design of a simulated alliance study (alliance.simulate).\n"
            "The meaning of every value is explained in alliance/simulate/default_study.toml.",
        )

    def updated(self, overrides: Mapping[str, Any]) -> StudyDesign:
        """A copy with some values changed, e.g. ``{"sample": {"n_therapists": 100}}``."""
        return _codec.build(type(self), overrides, self.to_dict())
