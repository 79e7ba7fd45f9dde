"""Latent alliance trajectories of every patient, as rated by the patient and by the therapist.

Implements the growth model of :mod:`alliance.simulate.design_alliance` at the scheduled
administrations of each treatment.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from alliance.simulate.design_alliance import RATERS, AllianceModel
from alliance.simulate.design_sample import ScheduleDesign


@dataclass(frozen=True)
class LatentAlliance:
    """Latent alliance at every scheduled administration, and the random effects behind it.

    Attributes
    ----------
    patient_index, session, time
        One entry per scheduled administration (both raters share them).
    alliance
        administrations x 2: patient-rated, therapist-rated latent alliance (WAI mean-score
        metric, before item noise and discretisation).
    therapist_effects, patient_effects
        therapists x 4 and patients x 4 random effects, in ``RANDOM_TERMS`` order.
    """

    patient_index: np.ndarray
    session: np.ndarray
    time: np.ndarray
    alliance: np.ndarray
    therapist_effects: np.ndarray
    patient_effects: np.ndarray


def scheduled_administrations(
    schedule: ScheduleDesign, n_sessions: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Patient index and session of every administration due before each treatment ends."""
    longest = int(n_sessions.max()) if n_sessions.size else 0
    due = schedule.sessions_until(longest)
    given = due[None, :] <= n_sessions[:, None]
    patient_index, wave = np.nonzero(given)
    return patient_index.astype(np.int64), due[wave]


def simulate_latent_alliance(
    model: AllianceModel,
    predictors: tuple[str, ...],
    patient_predictors: np.ndarray,
    therapist_of_patient: np.ndarray,
    n_therapists: int,
    schedule: ScheduleDesign,
    n_sessions: np.ndarray,
    streams: dict[str, np.random.Generator],
) -> LatentAlliance:
    """Draw random effects and residuals and evaluate the growth model.

    Parameters
    ----------
    patient_predictors
        patients x predictors: the true factor scores of each patient's therapist and the
        centred covariates, in the order of ``predictors``.
    streams
        Generators ``therapist_effects``, ``patient_effects`` and ``residuals``.
    """
    n_patients = patient_predictors.shape[0]
    therapist_effects = model.between_therapists.draw(streams["therapist_effects"], n_therapists)
    patient_effects = model.between_patients.draw(streams["patient_effects"], n_patients)
    patient_index, session = scheduled_administrations(schedule, n_sessions)
    time = model.time_of(session)
    therapist_index = therapist_of_patient[patient_index]
    x = patient_predictors[patient_index]

    standard = streams["residuals"].standard_normal((patient_index.size, 2))
    rho = model.residual_correlation
    correlated = np.column_stack(
        [standard[:, 0], rho * standard[:, 0] + np.sqrt(1.0 - rho**2) * standard[:, 1]]
    )

    alliance = np.empty((patient_index.size, len(RATERS)))
    raters = model.raters
    for column, rater in enumerate(RATERS):
        fixed = raters[rater]
        level = np.array([fixed.level_effect(name) for name in predictors])
        growth = np.array([fixed.growth_effect(name) for name in predictors])
        intercept_col, slope_col = 2 * column, 2 * column + 1
        alliance[:, column] = (
            fixed.intercept
            + fixed.time * time
            + x @ level
            + time * (x @ growth)
            + therapist_effects[therapist_index, intercept_col]
            + therapist_effects[therapist_index, slope_col] * time
            + patient_effects[patient_index, intercept_col]
            + patient_effects[patient_index, slope_col] * time
            + fixed.residual_sd * correlated[:, column]
        )
    return LatentAlliance(
        patient_index=patient_index,
        session=session,
        time=time,
        alliance=alliance,
        therapist_effects=therapist_effects,
        patient_effects=patient_effects,
    )
