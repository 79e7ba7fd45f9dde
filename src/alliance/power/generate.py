"""Draw one simulated study of a :class:`PowerDesign` from the model itself (vectorised numpy).

A replicate is drawn in two steps from its own generator, always in the same order, so that
the same seed gives the same study whatever the effect sizes (the null and the alternative of
a replicate share caseloads, predictors, dropout and random effects: common random numbers):

1. :func:`draw_layout`: caseloads, predictor scores, treatment lengths and dropout, hence
   which patient is measured at which wave;
2. :func:`draw_response`: therapist and patient random effects and residuals, and the
   outcome ``y = X beta + Z_therapist v + Z_patient u + e`` (alliance.power.variance).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from alliance.power.design import PowerDesign


@dataclass(frozen=True)
class Layout:
    """Who is measured when, in one simulated study (rows sorted by therapist, patient, wave).

    Attributes
    ----------
    therapist, patient : numpy.ndarray
        Therapist (0..J-1) and patient (0..P-1, numbered therapist by therapist) of each row.
    time : numpy.ndarray
        Coded time of each row.
    predictors : numpy.ndarray
        ``J x K`` predictor scores, columns in ``design.predictor_names`` order.
    caseloads : numpy.ndarray
        Patients of each therapist.
    """

    therapist: np.ndarray
    patient: np.ndarray
    time: np.ndarray
    predictors: np.ndarray
    caseloads: np.ndarray

    @property
    def n_obs(self) -> int:
        return int(self.time.shape[0])

    @property
    def n_therapists(self) -> int:
        return int(self.caseloads.shape[0])

    @property
    def n_patients(self) -> int:
        return int(self.caseloads.sum())

    @property
    def therapist_of_patient(self) -> np.ndarray:
        return np.repeat(np.arange(self.n_therapists), self.caseloads)


def draw_predictors(design: PowerDesign, rng: np.random.Generator) -> np.ndarray:
    """``J x K`` therapist predictor scores.

    All predictors come from latent standard normal scores with ``predictor_correlation``.
    A normal predictor is its latent score; a binary one is 1 for the ``round(proportion * J)``
    therapists with the highest latent scores (an exact allocation in every replicate).
    """
    n, k = design.therapists, len(design.predictors)
    latent = rng.standard_normal((n, k))
    if design.predictor_correlation:
        latent = latent @ np.linalg.cholesky(np.asarray(design.predictor_correlation)).T
    scores = latent.copy()
    for column, predictor in enumerate(design.predictors):
        if predictor.distribution == "binary":
            ones = int(round(predictor.proportion * n))
            scores[:, column] = 0.0
            scores[np.argsort(latent[:, column])[n - ones:], column] = 1.0
    return scores


def draw_layout(design: PowerDesign, rng: np.random.Generator) -> Layout:
    """Caseloads, predictors and the waves at which each patient is measured."""
    caseloads = design.caseload.draw(design.therapists, rng)
    predictors = draw_predictors(design, rng)
    n_patients = int(caseloads.sum())
    schedule = design.schedule
    measured = schedule.last_waves(n_patients, rng)
    if design.treatment is not None:
        sessions = design.treatment.sessions(n_patients, rng)
        reached = np.searchsorted(np.asarray(schedule.waves), sessions, side="right")
        measured = np.minimum(measured, reached)
    patient = np.repeat(np.arange(n_patients), measured)
    starts = np.cumsum(measured) - measured
    wave = np.arange(patient.shape[0]) - np.repeat(starts, measured)
    therapist_of_patient = np.repeat(np.arange(design.therapists), caseloads)
    return Layout(
        therapist=therapist_of_patient[patient],
        patient=patient,
        time=schedule.times[wave],
        predictors=predictors,
        caseloads=caseloads,
    )


def _pair(sd: tuple[float, float], correlation: float, draws: np.ndarray) -> np.ndarray:
    """Correlated (intercept, slope) effects from standard normal ``draws`` (n x 2).

    Written out rather than through a Cholesky factor so that a zero SD is allowed.
    """
    intercept = sd[0] * draws[:, 0]
    slope = sd[1] * (correlation * draws[:, 0] + np.sqrt(1.0 - correlation**2) * draws[:, 1])
    return np.column_stack([intercept, slope])


def fixed_part(design: PowerDesign, layout: Layout, fixed: dict[str, float]) -> np.ndarray:
    """``X beta`` for the rows of ``layout`` with true fixed effects ``fixed`` (lme4 names)."""
    x = layout.predictors[layout.therapist]
    level = fixed["(Intercept)"] + x @ np.array([fixed[n] for n in design.predictor_names])
    growth = fixed["time"] + x @ np.array([fixed[f"time:{n}"] for n in design.predictor_names])
    return level + growth * layout.time


def draw_response(
    design: PowerDesign, layout: Layout, fixed: dict[str, float], rng: np.random.Generator
) -> np.ndarray:
    """The outcome of every row: fixed part, random effects and residual."""
    variance = design.variance
    therapist = _pair(variance.therapist_sd, variance.therapist_correlation,
                      rng.standard_normal((layout.n_therapists, 2)))
    patient = _pair(variance.patient_sd, variance.patient_correlation,
                    rng.standard_normal((layout.n_patients, 2)))
    residual = variance.residual_sd * rng.standard_normal(layout.n_obs)
    intercepts = therapist[layout.therapist, 0] + patient[layout.patient, 0]
    slopes = therapist[layout.therapist, 1] + patient[layout.patient, 1]
    return fixed_part(design, layout, fixed) + intercepts + slopes * layout.time + residual
