"""The growth model of the patient- and therapist-rated alliance (section ``[alliance]``).

For rater ``r`` (patient or therapist), patient ``i`` of therapist ``j`` and session ``s`` the
latent alliance (on the metric of the WAI item mean score when the WAI item intercepts average
0 and the loadings 1, as by default; see :mod:`alliance.simulate.truth`) is

    alliance = b0_r + b1_r t
               + sum_x (level_r[x] + growth_r[x] t) x_ij         (therapist factors, covariates)
               + u0_rj + u1_rj t + v0_ri + v1_ri t + e_ris

with ``t`` the time of session ``s`` (``time_coding``: a coding of
:mod:`alliance.simulate.time_codings`, 0 at session 1, linear time in tens of sessions), ``x`` the therapist's true factor
scores (standard normal metric) and the covariates as deviations from their population means,
``(u0_p, u1_p, u0_t, u1_t)_j ~ N(0, between_therapists)``, ``(v0_p, v1_p, v0_t, v1_t)_i ~
N(0, between_patients)`` and occasion residuals ``(e_p, e_t) ~ N(0, [[sp^2, rho sp st], [rho
sp st, st^2]])`` with ``rho = residual_correlation``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from alliance.io import value_checks as check
from alliance.simulate.time_codings import (
    SIMULATION_ORIGIN,
    TENS_OF_SESSIONS,
    TimeAxis,
    coding_named,
)

#: How the simulation codes time: 0 at session 1, linear time in tens of sessions.
TIME_AXIS = TimeAxis(origin=SIMULATION_ORIGIN, unit=TENS_OF_SESSIONS)

#: The two raters, in the order of the random-effect terms.
RATERS = ("patient", "therapist")

#: Order of the four correlated random effects at each level.
RANDOM_TERMS = (
    "patient_rated_intercept",
    "patient_rated_time",
    "therapist_rated_intercept",
    "therapist_rated_time",
)


@dataclass(frozen=True)
class RaterModel:
    """Fixed part and residual SD of the alliance as rated by one rater.

    ``intercept`` and ``time`` are the mean alliance at ``time = 0`` and its mean growth per unit
    of time, for a therapist at the mean of every factor and covariate. ``level`` and
    ``growth`` map a predictor (a therapist factor, ``experience`` or ``severity``) to its
    effect on the intercept and on the time slope; a predictor not listed has no effect.
    """

    intercept: float
    time: float
    residual_sd: float
    level: Mapping[str, float]
    growth: Mapping[str, float]

    def __post_init__(self) -> None:
        check.non_negative(self.residual_sd, "residual_sd")
        object.__setattr__(self, "level", dict(self.level))
        object.__setattr__(self, "growth", dict(self.growth))

    def level_effect(self, predictor: str) -> float:
        """Effect of ``predictor`` on the level (0 when not listed)."""
        return float(self.level.get(predictor, 0.0))

    def growth_effect(self, predictor: str) -> float:
        """Effect of ``predictor`` on the growth (0 when not listed)."""
        return float(self.growth.get(predictor, 0.0))


@dataclass(frozen=True)
class RandomEffects:
    """SDs and correlations of the four random effects of one level, in :data:`RANDOM_TERMS` order.

    The correlations between a patient-rated and a therapist-rated term are the cross-rater
    correlations: how far the two perspectives on one therapist (or one patient) agree.
    """

    sd: tuple[float, ...]
    correlation: tuple[tuple[float, ...], ...]

    def __post_init__(self) -> None:
        check.same_length(
            self.sd,
            len(RANDOM_TERMS),
            "sd",
            f"give one SD per term, in the order {', '.join(RANDOM_TERMS)}.",
        )
        for index, value in enumerate(self.sd):
            check.non_negative(value, f"sd[{index}] ({RANDOM_TERMS[index]})")
        check.correlation_matrix(self.correlation, len(RANDOM_TERMS), "correlation")

    @property
    def covariance(self) -> np.ndarray:
        """``diag(sd) R diag(sd)``, 4 x 4."""
        sd = np.asarray(self.sd, dtype=float)
        return np.asarray(self.correlation, dtype=float) * np.outer(sd, sd)

    def draw(self, rng: np.random.Generator, count: int) -> np.ndarray:
        """``count`` independent draws, a ``count`` x 4 array (zero SDs give zero columns)."""
        factor = np.linalg.cholesky(np.asarray(self.correlation, dtype=float))
        standard = rng.standard_normal((count, len(RANDOM_TERMS)))
        return (standard @ factor.T) * np.asarray(self.sd, dtype=float)


@dataclass(frozen=True)
class AllianceModel:
    """The joint growth model of the patient- and therapist-rated alliance."""

    time_coding: str
    residual_correlation: float
    patient_rated: RaterModel
    therapist_rated: RaterModel
    between_therapists: RandomEffects
    between_patients: RandomEffects

    def __post_init__(self) -> None:
        coding_named(self.time_coding, "time_coding")
        check.correlation(self.residual_correlation, "residual_correlation")

    @property
    def raters(self) -> dict[str, RaterModel]:
        """``{"patient": patient_rated, "therapist": therapist_rated}``."""
        return {"patient": self.patient_rated, "therapist": self.therapist_rated}

    @property
    def time_definition(self) -> str:
        """How time is computed from the session number, e.g. ``time = ln(session)``."""
        return TIME_AXIS.definition(self.time_coding)

    def time_of(self, sessions: np.ndarray) -> np.ndarray:
        """Time of each session on this model's time scale (:data:`TIME_AXIS`)."""
        return TIME_AXIS.time(sessions, self.time_coding)
