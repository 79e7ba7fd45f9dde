"""Who is in the simulated study, how long treatments last and when the alliance is measured.

Sections ``[sample]``, ``[treatment]``, ``[schedule]`` and ``[covariates]`` of a design file;
src/alliance/simulate/default_study.toml documents every value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from alliance.errors import SpecificationError
from alliance.io import value_checks as check


@dataclass(frozen=True)
class SampleDesign:
    """Sample sizes and the caseload distribution.

    Caseloads: every therapist sees between ``min_caseload`` and ``max_caseload`` patients and
    the caseloads add up to exactly ``n_patients``. Each therapist has a propensity drawn from
    Gamma(``caseload_shape``, 1); the patients above the minimum are shared out by multinomial
    draws with probabilities proportional to the propensities, capped at ``max_caseload``. A
    small shape gives unequal, right-skewed caseloads (shape 1: exponential propensities).
    """

    n_reference: int
    n_therapists: int
    n_patients: int
    min_caseload: int
    max_caseload: int
    caseload_shape: float

    def __post_init__(self) -> None:
        check.at_least(
            self.n_reference, 1, "n_reference", "the reference sample needs respondents."
        )
        check.at_least(
            self.n_therapists, 1, "n_therapists", "a study needs at least one therapist."
        )
        check.at_least(
            self.min_caseload, 1, "min_caseload", "every therapist sees at least one patient."
        )
        check.at_least(
            self.max_caseload,
            self.min_caseload,
            "max_caseload",
            "it cannot be smaller than min_caseload.",
        )
        check.at_least(
            self.n_patients,
            self.n_therapists * self.min_caseload,
            "n_patients",
            f"{self.n_therapists} therapists with at least {self.min_caseload} patient(s) "
            "each need that many; add patients or reduce n_therapists or min_caseload.",
        )
        most = self.n_therapists * self.max_caseload
        if self.n_patients > most:
            raise SpecificationError(
                f"n_patients is {self.n_patients}, but {self.n_therapists} therapists with at "
                f"most {self.max_caseload} patients each can see only {most}; raise "
                "max_caseload or n_therapists, or reduce n_patients."
            )
        check.positive(self.caseload_shape, "caseload_shape", "Gamma shape")


@dataclass(frozen=True)
class TreatmentDesign:
    """Treatment lengths in sessions: log-normal, rounded, and kept inside [min, max].

    ``n_sessions = clip(round(median_sessions * exp(log_sd * z)), min_sessions, max_sessions)``
    with ``z`` standard normal.
    """

    median_sessions: float
    log_sd: float
    min_sessions: int
    max_sessions: int

    def __post_init__(self) -> None:
        check.positive(self.median_sessions, "median_sessions", "median treatment length")
        check.non_negative(self.log_sd, "log_sd")
        check.at_least(self.min_sessions, 1, "min_sessions", "a treatment has a session.")
        check.at_least(
            self.max_sessions,
            self.min_sessions,
            "max_sessions",
            "it cannot be smaller than min_sessions.",
        )


@dataclass(frozen=True)
class ScheduleDesign:
    """Sessions at which both patient and therapist complete the WAI.

    The listed ``sessions``, then every ``repeat_every`` sessions after the last one
    (``repeat_every = 0``: no more), for as long as the treatment lasts: a patient with
    ``n_sessions`` sessions is assessed at every scheduled session ``<= n_sessions``.
    """

    sessions: tuple[int, ...]
    repeat_every: int

    def __post_init__(self) -> None:
        if not self.sessions:
            raise SpecificationError(
                "sessions is empty; list the sessions at which the WAI is given, e.g. [3, 12]."
            )
        check.at_least(self.sessions[0], 1, "sessions[0]", "sessions are counted from 1.")
        check.strictly_increasing(self.sessions, "sessions")
        check.at_least(self.repeat_every, 0, "repeat_every", "use 0 for no repetition.")

    def sessions_until(self, last_session: int) -> np.ndarray:
        """Every scheduled session up to and including ``last_session``, ascending."""
        listed = np.asarray(self.sessions, dtype=np.int64)
        if self.repeat_every > 0 and listed[-1] < last_session:
            extra = np.arange(listed[-1] + self.repeat_every, last_session + 1, self.repeat_every)
            listed = np.concatenate([listed, extra])
        return listed[listed <= last_session]


@dataclass(frozen=True)
class CovariateDesign:
    """Optional covariates: therapist experience (years) and patient pre-treatment severity.

    Both follow Gamma distributions with the given mean and SD (positive and right-skewed;
    an SD of 0 makes the covariate constant). Experience is capped at ``experience_max``
    (a career length) and rounded to whole years, severity
    (on a 0–4 symptom-scale metric such as the SCL-90-R GSI) to two decimals. Their effects on
    the alliance are set in ``[alliance.*_rated.level]`` and ``[...growth]`` (default 0), per
    unit of deviation from these population means.
    """

    experience_mean: float
    experience_sd: float
    experience_max: float
    severity_mean: float
    severity_sd: float

    def __post_init__(self) -> None:
        check.positive(self.experience_mean, "experience_mean", "mean experience")
        check.non_negative(self.experience_sd, "experience_sd")
        if self.experience_max < self.experience_mean:
            raise SpecificationError(
                f"experience_max is {self.experience_max!r}, below experience_mean "
                f"({self.experience_mean!r}); raise experience_max or lower the mean."
            )
        check.positive(self.severity_mean, "severity_mean", "mean severity")
        check.non_negative(self.severity_sd, "severity_sd")
