"""Simulated three-level growth data (sessions in patients in therapists) for the benchmarks.

The model is the one of the alliance growth analyses: the outcome of patient ``j`` of therapist
``k`` at session ``s`` is

    y = (b0 + u0k + v0jk) + (b1 + u1k + v1jk) * time
        + b2 * x1k + b3 * x2k + b4 * time * x1k + b5 * time * x2k + e

with ``time = log(s)`` for sessions ``s = 1, ..., sessions_per_patient``, therapist-level
predictors ``x1``, ``x2`` (standard normal, correlation ``X_CORRELATION``), a correlated random
intercept and slope at the therapist level ``(u0k, u1k)`` and at the patient level ``(v0jk, v1jk)``,
and a normal residual ``e``. The values of all parameters are the module constants below; the
lme4 formula that fits exactly this model is :data:`FORMULA`.

Caseloads are unbalanced: every therapist treats at least one patient and the other patients are
spread over therapists with multinomial probabilities drawn from a Gamma(``CASELOAD_SHAPE``)
distribution, so some therapists treat many patients and some only one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FORMULA = "y ~ time * (x1 + x2) + (time | therapist/patient)"
"""lme4 formula of the simulated model (six fixed effects, 2x2 covariances at both levels)."""

FIXED_EFFECTS = {
    "(Intercept)": 5.0,
    "time": 0.25,
    "x1": 0.10,
    "x2": -0.10,
    "time:x1": 0.05,
    "time:x2": -0.08,
}
"""True fixed effects, named as lme4 names them."""

THERAPIST_SD = (0.30, 0.10)
"""Standard deviations of the therapist random intercept and slope."""
THERAPIST_CORRELATION = -0.30
"""Correlation of the therapist random intercept and slope."""
PATIENT_SD = (0.60, 0.25)
"""Standard deviations of the patient random intercept and slope."""
PATIENT_CORRELATION = -0.20
"""Correlation of the patient random intercept and slope."""
RESIDUAL_SD = 0.50
"""Standard deviation of the session-level residual."""
X_CORRELATION = -0.30
"""Correlation of the two therapist-level predictors x1 and x2."""
CASELOAD_SHAPE = 2.0
"""Gamma shape of the therapists' caseload weights (smaller = more unequal caseloads)."""


def _covariance(sd: tuple[float, float], correlation: float) -> np.ndarray:
    """2x2 covariance matrix from two standard deviations and their correlation."""
    s0, s1 = sd
    return np.array([[s0 * s0, correlation * s0 * s1], [correlation * s0 * s1, s1 * s1]])


def caseloads(n_therapists: int, n_patients: int, rng: np.random.Generator) -> np.ndarray:
    """Number of patients of each therapist: at least one each, the rest multinomial.

    Parameters
    ----------
    n_therapists, n_patients : int
        Numbers of therapists and patients; ``n_patients >= n_therapists``.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    numpy.ndarray
        Integer caseloads of length ``n_therapists`` summing to ``n_patients``.
    """
    if n_patients < n_therapists:
        raise ValueError(
            f"n_patients ({n_patients}) is smaller than n_therapists ({n_therapists}); "
            "every therapist needs at least one patient: raise n_patients"
        )
    weights = rng.gamma(CASELOAD_SHAPE, size=n_therapists)
    extra = rng.multinomial(n_patients - n_therapists, weights / weights.sum())
    return (1 + extra).astype(np.int64)


def make_growth_data(
    n_therapists: int, n_patients: int, sessions_per_patient: int, seed: int
) -> pd.DataFrame:
    """Simulate the three-level growth data described in the module docstring.

    Parameters
    ----------
    n_therapists : int
        Number of therapists (level 3).
    n_patients : int
        Number of patients (level 2), at least ``n_therapists``.
    sessions_per_patient : int
        Sessions observed for every patient (level 1), at least 2; session ``s`` has
        ``time = log(s)``.
    seed : int
        Seed of :func:`numpy.random.default_rng`; the same arguments give the same data.

    Returns
    -------
    pandas.DataFrame
        One row per session, sorted by therapist, patient and time, with columns
        ``therapist`` (``"t01"``..., zero-padded), ``patient`` (``"p001"``..., unique across
        therapists), ``time``, ``x1``, ``x2`` and ``y``.
    """
    if sessions_per_patient < 2:
        raise ValueError(
            f"sessions_per_patient is {sessions_per_patient}; a random slope needs at least 2"
        )
    rng = np.random.default_rng(seed)
    load = caseloads(n_therapists, n_patients, rng)
    therapist_of_patient = np.repeat(np.arange(n_therapists), load)

    x_cov = np.array([[1.0, X_CORRELATION], [X_CORRELATION, 1.0]])
    x = rng.multivariate_normal(np.zeros(2), x_cov, size=n_therapists)
    u = rng.multivariate_normal(
        np.zeros(2), _covariance(THERAPIST_SD, THERAPIST_CORRELATION), size=n_therapists
    )
    v = rng.multivariate_normal(
        np.zeros(2), _covariance(PATIENT_SD, PATIENT_CORRELATION), size=n_patients
    )

    patient = np.repeat(np.arange(n_patients), sessions_per_patient)
    therapist = therapist_of_patient[patient]
    time = np.tile(np.log(np.arange(1, sessions_per_patient + 1, dtype=float)), n_patients)
    x1 = x[therapist, 0]
    x2 = x[therapist, 1]
    b = FIXED_EFFECTS
    intercept = b["(Intercept)"] + u[therapist, 0] + v[patient, 0]
    slope = b["time"] + u[therapist, 1] + v[patient, 1]
    y = (
        intercept
        + slope * time
        + b["x1"] * x1
        + b["x2"] * x2
        + b["time:x1"] * time * x1
        + b["time:x2"] * time * x2
        + rng.normal(0.0, RESIDUAL_SD, size=patient.size)
    )
    t_width = len(str(n_therapists))
    p_width = len(str(n_patients))
    return pd.DataFrame(
        {
            "therapist": np.char.add("t", np.char.zfill((therapist + 1).astype(str), t_width)),
            "patient": np.char.add("p", np.char.zfill((patient + 1).astype(str), p_width)),
            "time": time,
            "x1": x1,
            "x2": x2,
            "y": y,
        }
    )
