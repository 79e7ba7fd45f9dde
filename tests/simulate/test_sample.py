"""Caseloads, treatment lengths, Gamma covariates and the WAI schedule."""

from __future__ import annotations

import numpy as np
import pytest

from alliance.simulate import SampleDesign, ScheduleDesign, TreatmentDesign
from alliance.simulate.sample import allocate_caseloads, draw_gamma, draw_treatment_lengths


def _sample(n_therapists: int, n_patients: int, low: int, high: int, shape: float) -> SampleDesign:
    return SampleDesign(
        n_reference=10,
        n_therapists=n_therapists,
        n_patients=n_patients,
        min_caseload=low,
        max_caseload=high,
        caseload_shape=shape,
    )


@pytest.mark.parametrize(
    ("n_therapists", "n_patients", "low", "high", "shape"),
    [
        (70, 227, 1, 9, 1.5),
        (70, 70, 1, 9, 1.5),
        (70, 630, 1, 9, 1.5),
        (20, 60, 2, 4, 0.05),
        (20, 60, 1, 9, 1e-4),  # propensities underflow to 0: equal shares
    ],
)
def test_caseloads_add_up_and_respect_the_bounds(
    n_therapists: int, n_patients: int, low: int, high: int, shape: float
) -> None:
    design = _sample(n_therapists, n_patients, low, high, shape)
    for seed in range(50):
        counts = allocate_caseloads(design, np.random.default_rng(seed))
        assert counts.sum() == n_patients
        assert counts.min() >= low and counts.max() <= high


def test_caseloads_are_right_skewed_on_average() -> None:
    design = _sample(70, 227, 1, 9, 1.5)
    counts = np.concatenate(
        [allocate_caseloads(design, np.random.default_rng(seed)) for seed in range(100)]
    )
    frequency = np.bincount(counts, minlength=10)[1:]
    assert frequency.argmax() <= 1  # mode at 1 or 2 patients
    assert np.mean((counts - counts.mean()) ** 3) > 0


def test_treatment_lengths_are_clipped_log_normal() -> None:
    design = TreatmentDesign(median_sessions=28.0, log_sd=0.55, min_sessions=4, max_sessions=150)
    lengths = draw_treatment_lengths(design, np.random.default_rng(1), 20000)
    assert lengths.dtype.kind == "i"
    assert lengths.min() >= 4 and lengths.max() <= 150
    assert np.median(lengths) == pytest.approx(28, abs=1)
    assert 0.44 < np.mean((lengths >= 20) & (lengths <= 40)) < 0.52
    fixed = TreatmentDesign(median_sessions=30.0, log_sd=0.0, min_sessions=4, max_sessions=150)
    assert set(draw_treatment_lengths(fixed, np.random.default_rng(1), 10)) == {30}


def test_gamma_draws_have_the_requested_mean_and_sd() -> None:
    draws = draw_gamma(12.0, 8.0, np.random.default_rng(2), 200_000)
    assert draws.mean() == pytest.approx(12.0, rel=0.01)
    assert draws.std() == pytest.approx(8.0, rel=0.02)
    assert draws.min() > 0
    assert np.all(draw_gamma(3.0, 0.0, np.random.default_rng(2), 5) == 3.0)


def test_schedule_repeats_after_the_listed_sessions() -> None:
    schedule = ScheduleDesign(sessions=(3, 12, 20, 40), repeat_every=20)
    assert schedule.sessions_until(2).tolist() == []
    assert schedule.sessions_until(3).tolist() == [3]
    assert schedule.sessions_until(39).tolist() == [3, 12, 20]
    assert schedule.sessions_until(100).tolist() == [3, 12, 20, 40, 60, 80, 100]
    once = ScheduleDesign(sessions=(3, 12), repeat_every=0)
    assert once.sessions_until(150).tolist() == [3, 12]
