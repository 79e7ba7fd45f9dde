"""Latent alliance trajectories: the schedule, the fixed part and the random effects."""

from __future__ import annotations

import numpy as np
import pytest

from alliance.simulate import RandomEffects, ScheduleDesign, StudyDesign
from alliance.simulate.trajectories import scheduled_administrations, simulate_latent_alliance


def _streams(seed: int) -> dict[str, np.random.Generator]:
    names = ("therapist_effects", "patient_effects", "residuals")
    return {name: np.random.default_rng([seed, index]) for index, name in enumerate(names)}


def test_administrations_are_due_while_the_treatment_lasts() -> None:
    schedule = ScheduleDesign(sessions=(3, 12, 20, 40), repeat_every=20)
    patient, session = scheduled_administrations(schedule, np.array([2, 12, 65]))
    assert patient.tolist() == [1, 1, 2, 2, 2, 2, 2]
    assert session.tolist() == [3, 12, 3, 12, 20, 40, 60]


def test_without_random_parts_the_alliance_is_the_fixed_part() -> None:
    zero = {"sd": [0.0, 0.0, 0.0, 0.0]}
    design = StudyDesign.default().updated(
        {
            "alliance": {
                "between_therapists": zero,
                "between_patients": zero,
                "patient_rated": {"residual_sd": 0.0, "level": {"experience": 0.01}},
                "therapist_rated": {"residual_sd": 0.0},
            }
        }
    )
    predictors = np.array([[1.0, -0.5, 3.0, 0.2], [0.0, 2.0, -4.0, -0.1]])
    latent = simulate_latent_alliance(
        design.alliance,
        design.predictors,
        predictors,
        therapist_of_patient=np.array([0, 1]),
        n_therapists=2,
        schedule=design.schedule,
        n_sessions=np.array([20, 45]),
        streams=_streams(0),
    )
    time = np.log(latent.session)
    x = predictors[latent.patient_index]
    patient = 3.70 + 0.10 * time + 0.01 * x[:, 2] - 0.09 * time * x[:, 1]
    therapist = 3.40 + 0.12 * time + 0.09 * time * x[:, 0]
    assert latent.alliance[:, 0] == pytest.approx(patient, abs=1e-12)
    assert latent.alliance[:, 1] == pytest.approx(therapist, abs=1e-12)
    assert latent.session.tolist() == [3, 12, 20, 3, 12, 20, 40]


def test_random_effects_have_the_design_covariance() -> None:
    effects = StudyDesign.default().alliance.between_patients
    draws = effects.draw(np.random.default_rng(3), 200_000)
    assert np.cov(draws.T) == pytest.approx(effects.covariance, abs=2e-3)
    degenerate = RandomEffects(sd=(0.3, 0.0, 0.2, 0.0), correlation=effects.correlation)
    assert np.all(degenerate.draw(np.random.default_rng(3), 10)[:, [1, 3]] == 0.0)


def test_occasion_residuals_are_correlated_across_raters() -> None:
    zero = {"sd": [0.0, 0.0, 0.0, 0.0]}
    design = StudyDesign.default().updated(
        {
            "alliance": {
                "between_therapists": zero,
                "between_patients": zero,
                "residual_correlation": 0.6,
                "patient_rated": {"growth": {}},
                "therapist_rated": {"growth": {}},
            }
        }
    )
    latent = simulate_latent_alliance(
        design.alliance,
        design.predictors,
        np.zeros((5000, 4)),
        therapist_of_patient=np.zeros(5000, dtype=int),
        n_therapists=1,
        schedule=design.schedule,
        n_sessions=np.full(5000, 3),
        streams=_streams(1),
    )
    residual = latent.alliance - latent.alliance.mean(axis=0)
    assert residual.std(axis=0) == pytest.approx([0.22, 0.18], rel=0.05)
    assert np.corrcoef(residual.T)[0, 1] == pytest.approx(0.6, abs=0.03)
