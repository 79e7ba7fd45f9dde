"""The registry of time codings, and that simulate, study and power code time by it."""

from __future__ import annotations

import numpy as np
import pytest

from alliance.errors import SpecificationError
from alliance.power.design import PowerDesign
from alliance.power.schedule import Schedule
from alliance.simulate import StudyDesign
from alliance.simulate.time_codings import (
    DEFAULT_ORIGIN,
    TIME_CODINGS,
    TimeAxis,
    coding_named,
)
from alliance.study.config import TIME_CODINGS as STUDY_CODINGS
from alliance.study.config import ModelConfig

SESSIONS = np.array([3.0, 12.0, 20.0, 40.0])


def test_codings_are_distinct_models_with_their_formulas() -> None:
    assert list(TIME_CODINGS) == ["log", "linear"]
    log, linear = TIME_CODINGS["log"], TIME_CODINGS["linear"]
    assert (log.linear, linear.linear) == (False, True)
    np.testing.assert_allclose(log.time(SESSIONS, 3.0, 10.0), np.log(SESSIONS / 3))
    np.testing.assert_allclose(linear.time(SESSIONS, 1.0, 10.0), (SESSIONS - 1) / 10)
    # not an affine function of each other: different models, not a rescaling
    design = np.column_stack([np.ones(4), linear.time(SESSIONS, 1.0, 1.0)])
    residual = np.linalg.lstsq(design, log.time(SESSIONS, 1.0, 1.0), rcond=None)[1]
    assert residual[0] > 0.1


@pytest.mark.parametrize(
    ("axis", "coding", "text", "expected"),
    [
        (TimeAxis("session-1", 3.0, 10.0), "log", "time = ln(session)", np.log(SESSIONS)),
        (TimeAxis("first-assessment", 3.0, 10.0), "log", "time = ln(session / 3)",
         np.log(SESSIONS / 3)),
        (TimeAxis("first-assessment", 3.0, 10.0), "linear", "time = (session - 3) / 10",
         (SESSIONS - 3) / 10),
        (TimeAxis("session-1", 3.0, 1.0), "linear", "time = session - 1", SESSIONS - 1),
    ],
)
def test_an_axis_places_time_0_at_its_origin(axis: TimeAxis, coding: str, text: str,
                                            expected: np.ndarray) -> None:
    assert axis.definition(coding) == text
    np.testing.assert_allclose(axis.time(SESSIONS, coding), expected)


def test_removed_and_unknown_codings_and_origins_are_refused() -> None:
    with pytest.raises(SpecificationError, match="'sessions' was 'linear' rescaled.*time unit"):
        coding_named("sessions", "schedule.time")
    with pytest.raises(SpecificationError, match="choose one of 'log', 'linear'"):
        coding_named("quadratic", "schedule.time")
    with pytest.raises(SpecificationError, match="origin is 'pre'; choose 'first-assessment'"):
        TimeAxis("pre")
    with pytest.raises(SpecificationError, match="time_unit is 0"):
        TimeAxis(unit=0.0)


def test_every_layer_codes_time_by_the_registry() -> None:
    # simulate: 0 at session 1, linear time in tens of sessions
    alliance = StudyDesign.default().alliance
    np.testing.assert_allclose(alliance.time_of(SESSIONS),
                               TimeAxis("session-1", unit=10.0).time(SESSIONS, alliance.time_coding))
    assert alliance.time_definition == "time = ln(session)"
    # study: the same names, the same default origin as power
    assert STUDY_CODINGS == tuple(TIME_CODINGS)
    assert ModelConfig().origin == DEFAULT_ORIGIN == Schedule((3, 12)).origin
    # power: the schedule's times are the registry's, at the configured origin
    for origin in ("first-assessment", "session-1"):
        for coding in TIME_CODINGS:
            schedule = Schedule(tuple(SESSIONS), coding, 4.0, origin=origin)
            np.testing.assert_allclose(
                schedule.times, TimeAxis(origin, 3.0, 4.0).time(SESSIONS, coding))
    example = PowerDesign.reference().schedule
    assert (example.origin, example.definition) == ("first-assessment", "time = ln(session / 3)")
    np.testing.assert_allclose(example.times, np.log(SESSIONS / 3))


@pytest.mark.parametrize("coding", sorted(TIME_CODINGS))
def test_affine_map_turns_one_axis_into_another(coding: str) -> None:
    sessions = np.array([1.0, 3.0, 7.5, 12.0, 40.0])
    first = TimeAxis("first-assessment", 3.0, 10.0)
    second = TimeAxis("session-1", 3.0, 4.0)
    shift, scale = first.affine_map(second, coding)
    np.testing.assert_allclose(second.time(sessions, coding),
                               shift + scale * first.time(sessions, coding), rtol=0, atol=1e-12)
    assert first.affine_map(first, coding) == (0.0, 1.0)
