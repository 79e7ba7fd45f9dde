"""When the alliance is measured, how time is coded, who drops out and when treatments end.

Sections ``[schedule]`` and ``[treatment]`` of a power design (example_design.toml documents
every value).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from alliance.errors import SpecificationError
from alliance.simulate.time_codings import (
    DEFAULT_ORIGIN,
    TIME_CODINGS,
    TimeAxis,
    check_origin,
    coding_named,
)


@dataclass(frozen=True)
class Schedule:
    """Waves (sessions with an alliance measurement), time coding and dropout.

    Attributes
    ----------
    waves : tuple of float
        Session numbers (1 = first session), strictly increasing, at least two.
    time : {"log", "linear"}
        Time coding (:data:`alliance.simulate.time_codings.TIME_CODINGS`).
    time_unit : float
        Sessions per unit of time for ``linear`` (1 = slopes per session).
    origin : {"first-assessment", "session-1"}
        Where time is 0 (:data:`alliance.simulate.time_codings.ORIGINS`): at the first wave
        (the default, so that the intercept, the level effects and powerlmm's ``pre`` ICCs
        refer to the first wave) or at session 1.
    dropout : tuple of float
        Monotone dropout: ``dropout[k]`` is the probability that a patient still measured at
        wave ``k`` (0-based) is not measured at wave ``k + 1`` or later (a hazard per wave;
        the first wave is always observed). One value per wave after the first.
    """

    waves: tuple[float, ...]
    time: str = "log"
    time_unit: float = 1.0
    dropout: tuple[float, ...] = ()
    origin: str = DEFAULT_ORIGIN

    def __post_init__(self) -> None:
        waves = tuple(float(w) for w in self.waves)
        object.__setattr__(self, "waves", waves)
        if len(waves) < 2:
            raise SpecificationError(
                f"schedule.waves is {list(waves)!r}, but growth needs at least two waves; list "
                "the sessions at which the alliance is measured, e.g. [3, 12, 20, 40]."
            )
        if waves[0] < 1:
            raise SpecificationError(
                f"schedule.waves[0] is {waves[0]!r}, but sessions are counted from 1; give "
                "session numbers."
            )
        if np.any(np.diff(waves) <= 0):
            raise SpecificationError(
                f"schedule.waves is {list(waves)!r}, but its values must increase strictly; "
                "sort them and remove duplicates."
            )
        coding_named(self.time, "schedule.time")
        check_origin(self.origin, "schedule.origin")
        if not np.isfinite(self.time_unit) or self.time_unit <= 0:
            raise SpecificationError(
                f"schedule.time_unit is {self.time_unit!r}, but it must be greater than 0 "
                "(sessions per unit of time)."
            )
        dropout = tuple(float(p) for p in self.dropout) or (0.0,) * (len(waves) - 1)
        if len(dropout) != len(waves) - 1:
            raise SpecificationError(
                f"schedule.dropout has {len(dropout)} values, but {len(waves) - 1} are needed "
                "(one per wave after the first); or give one number for every wave."
            )
        for index, value in enumerate(dropout):
            if not 0.0 <= value < 1.0:
                raise SpecificationError(
                    f"schedule.dropout[{index}] is {value!r}, but a dropout probability must "
                    "lie in [0, 1); give e.g. 0.1 for 10% per wave."
                )
        object.__setattr__(self, "dropout", dropout)

    @property
    def axis(self) -> TimeAxis:
        """The origin (the first wave is the first assessment) and unit of time."""
        return TimeAxis(origin=self.origin, first_assessment=self.waves[0], unit=self.time_unit)

    @property
    def times(self) -> np.ndarray:
        """Coded time of each wave (0 at the origin)."""
        return self.axis.time(np.asarray(self.waves), self.time)

    @property
    def definition(self) -> str:
        """How time is coded, e.g. ``time = ln(session / 3)``."""
        return self.axis.definition(self.time)

    @property
    def n_waves(self) -> int:
        return len(self.waves)

    @property
    def has_dropout(self) -> bool:
        return any(p > 0 for p in self.dropout)

    def last_waves(self, n_patients: int, rng: np.random.Generator) -> np.ndarray:
        """Number of waves at which each patient is measured before dropping out (1..n)."""
        if not self.has_dropout:
            return np.full(n_patients, self.n_waves, dtype=np.int64)
        stays = rng.random((n_patients, self.n_waves - 1)) >= np.asarray(self.dropout)
        # measured through the first wave at which the patient leaves
        return 1 + np.cumprod(stays, axis=1).sum(axis=1).astype(np.int64)

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"waves": list(self.waves), "time": self.time,
                                  "origin": self.origin}
        if TIME_CODINGS[self.time].linear:
            out["time_unit"] = self.time_unit
        out["dropout"] = list(self.dropout)
        return out


@dataclass(frozen=True)
class Treatment:
    """Open-ended treatments: a patient is measured only at waves up to the last session.

    ``sessions = clip(round(median_sessions * exp(log_sd * z)), min_sessions, max_sessions)``
    with ``z`` standard normal, as alliance.simulate's treatment lengths.
    """

    median_sessions: float
    log_sd: float
    min_sessions: int
    max_sessions: int

    def __post_init__(self) -> None:
        if not np.isfinite(self.median_sessions) or self.median_sessions <= 0:
            raise SpecificationError(
                f"treatment.median_sessions is {self.median_sessions!r}, but it must be greater "
                "than 0."
            )
        if not np.isfinite(self.log_sd) or self.log_sd < 0:
            raise SpecificationError(
                f"treatment.log_sd is {self.log_sd!r}, but a standard deviation cannot be "
                "negative; set it to 0 (every treatment as long as the median) or more."
            )
        if self.min_sessions < 1:
            raise SpecificationError(
                f"treatment.min_sessions is {self.min_sessions!r}; a treatment has at least "
                "one session."
            )
        if self.max_sessions < self.min_sessions:
            raise SpecificationError(
                f"treatment.max_sessions ({self.max_sessions!r}) is below treatment.min_sessions "
                f"({self.min_sessions!r}); raise max_sessions."
            )

    @property
    def longest(self) -> int:
        """The longest possible treatment, in sessions."""
        if self.log_sd == 0:
            return int(np.clip(round(self.median_sessions), self.min_sessions, self.max_sessions))
        return self.max_sessions

    @property
    def shortest(self) -> int:
        """The shortest possible treatment, in sessions."""
        if self.log_sd == 0:
            return self.longest
        return self.min_sessions

    def sessions(self, n_patients: int, rng: np.random.Generator) -> np.ndarray:
        """Treatment length of each patient, in sessions."""
        draws = self.median_sessions * np.exp(self.log_sd * rng.standard_normal(n_patients))
        return np.clip(np.round(draws), self.min_sessions, self.max_sessions).astype(np.int64)

    def check_waves(self, schedule: Schedule) -> None:
        """Refuse waves no treatment reaches, and patients who could never be measured."""
        waves = schedule.waves
        for index, wave in enumerate(waves):
            if wave > self.longest:
                raise SpecificationError(
                    f"schedule.waves[{index}] is session {wave:g}, after every treatment has "
                    f"ended (the longest treatment is {self.longest} sessions: "
                    "treatment.max_sessions, or median_sessions when log_sd is 0), so it would "
                    "never be observed; remove the wave or allow longer treatments."
                )
        if self.shortest < waves[0]:
            raise SpecificationError(
                f"treatment.min_sessions allows treatments of {self.shortest} sessions, before "
                f"the first wave (session {waves[0]:g}), so some patients would never be "
                f"measured; raise treatment.min_sessions to at least {waves[0]:g}."
            )

    def to_dict(self) -> dict[str, object]:
        return {
            "median_sessions": self.median_sessions,
            "log_sd": self.log_sd,
            "min_sessions": self.min_sessions,
            "max_sessions": self.max_sessions,
        }
