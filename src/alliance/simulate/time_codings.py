"""The time codings of the growth models, one registry for simulate, study and power.

A coding maps the session number ``s`` to the time ``t`` of the growth models, given the
*origin* ``s0`` (the session at which ``t = 0``) and, for a linear coding, the *unit* ``u``
(sessions per unit of time)::

    log      t = ln(s / s0)          (growth per unit of log session; not linear in s)
    linear   t = (s - s0) / u        (growth per u sessions)

The codings are distinct models: ``log`` and ``linear`` differ in shape, whereas a change of
``s0`` or ``u`` only reparameterises one of them (the same likelihood; shifted intercepts and
level effects for ``s0``, slopes scaled by ``u``). The former coding ``sessions``
(``t = s``) was ``linear`` rescaled and is no longer offered (:data:`REMOVED_CODINGS`).

The origin is one setting with one meaning wherever time is coded (:data:`ORIGINS`):
``"first-assessment"`` puts ``t = 0`` at the first scheduled assessment (e.g. session 3), so
that the intercept, the level effects, the intercept variances and powerlmm's ``pre`` ICCs
(Magnusson, ``get_ICC_pre_subjects``) refer to the first observed rating; ``"session-1"``
puts it at the first session, before the first rating when that comes later (an
extrapolation). The default is ``"first-assessment"`` (:data:`DEFAULT_ORIGIN`) in the study
configuration and the power design alike. The simulation's own parameters are defined at
session 1 (:data:`SIMULATION_ORIGIN`); ``truth.json`` says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from alliance.errors import SpecificationError

#: Where time is 0: name -> meaning.
ORIGINS = {
    "first-assessment": "time 0 at the first scheduled assessment",
    "session-1": "time 0 at session 1",
}
#: The origin of the study configuration and of the power design when none is given.
DEFAULT_ORIGIN = "first-assessment"
#: The origin of the simulation's parameters (``[alliance]`` of a simulated study design).
SIMULATION_ORIGIN = "session-1"
#: Sessions per unit of linear time in the simulation and, by default, in the study (tens of
#: sessions).
TENS_OF_SESSIONS = 10.0
#: Codings no longer offered -> what to write instead.
REMOVED_CODINGS = {
    "sessions": "'sessions' was 'linear' rescaled (one unit per session); write 'linear' "
    "and, for slopes per session, a time unit of 1",
}


@dataclass(frozen=True)
class TimeCoding:
    """One coding: ``name``, ``formula`` (for reports, in ``s``, ``s0`` and ``u``), the function
    ``(sessions, s0, u) -> time`` and whether time is ``linear`` in the session number."""

    name: str
    formula: str
    function: Callable[[np.ndarray, float, float], np.ndarray]
    linear: bool

    def time(self, sessions: np.ndarray, origin_session: float, unit: float) -> np.ndarray:
        """Time of each session, 0 at ``origin_session`` (``unit`` is used by linear codings)."""
        return np.asarray(
            self.function(np.asarray(sessions, dtype=float), float(origin_session), float(unit)),
            dtype=float,
        )

    def definition(self, origin_session: float, unit: float) -> str:
        """The formula with the origin and unit filled in, e.g. ``time = ln(session / 3)``."""
        s0 = f"{origin_session:g}"
        if self.name == "log":
            return "time = ln(session)" if origin_session == 1 else f"time = ln(session / {s0})"
        shifted = f"session - {s0}"
        return f"time = {shifted}" if unit == 1 else f"time = ({shifted}) / {unit:g}"


#: The codings offered, by name.
TIME_CODINGS: dict[str, TimeCoding] = {
    "log": TimeCoding("log", "t = ln(s / s0)", lambda s, s0, u: np.log(s / s0), linear=False),
    "linear": TimeCoding("linear", "t = (s - s0) / u", lambda s, s0, u: (s - s0) / u,
                         linear=True),
}


def coding_named(name: str, where: str) -> TimeCoding:
    """The coding called ``name``; a removed or unknown name raises with the replacement.

    ``where`` names the setting in the message (e.g. ``models.time_coding``).
    """
    if name in TIME_CODINGS:
        return TIME_CODINGS[name]
    hint = REMOVED_CODINGS.get(name, f"choose one of {', '.join(map(repr, TIME_CODINGS))}")
    raise SpecificationError(f"{where} is {name!r}; {hint}.")


def check_origin(origin: str, where: str) -> str:
    """``origin`` if it is one of :data:`ORIGINS`; otherwise a clear error."""
    if origin not in ORIGINS:
        raise SpecificationError(
            f"{where} is {origin!r}; choose {' or '.join(map(repr, ORIGINS))} "
            f"({'; '.join(f'{k}: {v}' for k, v in ORIGINS.items())})."
        )
    return origin


@dataclass(frozen=True)
class TimeAxis:
    """How sessions become time in one analysis: the origin, the first assessment, the unit.

    ``first_assessment`` is the session of the first scheduled assessment (used when
    ``origin`` is ``"first-assessment"``); ``unit`` is sessions per unit of linear time.
    """

    origin: str = DEFAULT_ORIGIN
    first_assessment: float = 1.0
    unit: float = 1.0

    def __post_init__(self) -> None:
        check_origin(self.origin, "origin")
        if not np.isfinite(self.first_assessment) or self.first_assessment < 1:
            raise SpecificationError(
                f"the first assessment is session {self.first_assessment!r}, but sessions are "
                "counted from 1."
            )
        if not np.isfinite(self.unit) or self.unit <= 0:
            raise SpecificationError(
                f"time_unit is {self.unit!r}, but it must be greater than 0 (sessions per unit "
                "of time)."
            )

    @property
    def origin_session(self) -> float:
        """The session at which time is 0."""
        return self.first_assessment if self.origin == "first-assessment" else 1.0

    def time(self, sessions: np.ndarray, coding: str) -> np.ndarray:
        """Time of each session under ``coding``."""
        return coding_named(coding, "time coding").time(sessions, self.origin_session, self.unit)

    def affine_map(self, other: TimeAxis, coding: str) -> tuple[float, float]:
        """``(a, b)`` with ``t_other = a + b t_self`` for every session, under ``coding``.

        ``log``: ``ln(s / s0') = ln(s / s0) + ln(s0 / s0')``, so ``a = ln(s0 / s0')``, ``b = 1``
        (the unit does not enter). ``linear``: ``(s - s0') / u' = (u t + s0 - s0') / u'``, so
        ``a = (s0 - s0') / u'`` and ``b = u / u'``. A growth model in one axis is a
        reparameterisation of the model in the other (see the module docstring).
        """
        name = coding_named(coding, "time coding").name
        if name == "log":
            return float(np.log(self.origin_session / other.origin_session)), 1.0
        return ((self.origin_session - other.origin_session) / other.unit,
                self.unit / other.unit)

    def definition(self, coding: str) -> str:
        """E.g. ``time = ln(session / 3)``."""
        return coding_named(coding, "time coding").definition(self.origin_session, self.unit)
