"""The model-based generator: layout (caseloads, predictors, dropout, treatments) and outcome."""

from __future__ import annotations

import numpy as np
import pytest

from alliance.power import PowerDesign, draw_layout, draw_response


@pytest.fixture(scope="module")
def reference() -> PowerDesign:
    return PowerDesign.reference()


def _balanced(reference: PowerDesign, **sample: object) -> PowerDesign:
    data = reference.to_dict()
    data.pop("treatment")
    data["sample"] = {"therapists": 200, "caseload": "fixed", "patients_per_therapist": 4,
                      **sample}
    data["schedule"]["dropout"] = 0.0
    return PowerDesign.from_dict(data)


def test_layout_is_nested_and_sorted(reference: PowerDesign) -> None:
    layout = draw_layout(reference, np.random.default_rng(3))
    assert layout.caseloads.min() >= 1 and layout.caseloads.size == 70
    owner = layout.therapist_of_patient
    np.testing.assert_array_equal(layout.therapist, owner[layout.patient])
    assert np.all(np.diff(layout.patient) >= 0)
    assert np.all(np.bincount(layout.patient) >= 1)  # every patient measured at least once
    first = np.r_[True, np.diff(layout.patient) > 0]
    assert np.all(layout.time[first] == 0.0)  # everyone is measured at the first wave


def test_dropout_and_treatment_lengths_thin_the_later_waves(reference: PowerDesign) -> None:
    rng = np.random.default_rng(4)
    design = reference.updated({"sample": {"therapists": 3000}})
    layout = draw_layout(design, rng)
    times = design.schedule.times
    share = np.array([np.sum(layout.time == t) for t in times]) / layout.n_patients
    # P(session count >= wave) for lengths round(28 exp(0.55 z)), times the dropout retention
    z = (np.log(np.array([3, 12, 20, 40]) - 0.5) - np.log(28)) / 0.55
    from scipy import special

    retention = np.concatenate([[1.0], np.cumprod(1.0 - np.asarray(design.schedule.dropout))])
    expected = special.ndtr(-z) * retention
    expected[0] = 1.0
    assert share == pytest.approx(expected, abs=0.02)


def test_binary_predictor_has_an_exact_allocation(reference: PowerDesign) -> None:
    design = reference.updated({"predictors": {"personal_burdens": {
        "distribution": "binary", "proportion": 0.3}}})
    for seed in range(3):
        scores = draw_layout(design, np.random.default_rng(seed)).predictors
        assert scores[:, 0].sum() == 21 and set(np.unique(scores[:, 0])) == {0.0, 1.0}


def test_predictor_correlation(reference: PowerDesign) -> None:
    design = reference.updated({"sample": {"therapists": 20000}})
    scores = draw_layout(design, np.random.default_rng(5)).predictors
    assert np.corrcoef(scores.T)[0, 1] == pytest.approx(-0.25, abs=0.03)


def test_response_has_the_model_moments(reference: PowerDesign) -> None:
    design = _balanced(reference, therapists=4000)
    rng = np.random.default_rng(6)
    layout = draw_layout(design, rng)
    y = draw_response(design, layout, design.fixed_effects(), rng)
    n_waves = design.schedule.n_waves
    wide = y.reshape(-1, n_waves)
    x = layout.predictors[layout.therapist].reshape(-1, n_waves, 2)[:, 0, :]
    times = design.schedule.times
    mean_first = design.intercept
    residual = wide[:, 0] - mean_first
    assert residual.mean() == pytest.approx(0.0, abs=0.02)
    assert residual.var() == pytest.approx(design.variance.pretest_variance, rel=0.05)
    slopes = np.polyfit(times, wide.T, 1)[0]
    fitted = np.linalg.lstsq(np.column_stack([np.ones(len(x)), x]), slopes, rcond=None)[0]
    assert fitted[0] == pytest.approx(design.growth, abs=0.01)
    assert fitted[1] == pytest.approx(-0.05, abs=0.01)
    assert fitted[2] == pytest.approx(design.tested[1].value, abs=0.01)


def test_zero_standard_deviations_are_allowed(reference: PowerDesign) -> None:
    design = reference.updated({"variance": {"icc_pre_cluster": 0.0, "icc_slope": 0.0}})
    rng = np.random.default_rng(7)
    layout = draw_layout(design, rng)
    assert np.isfinite(draw_response(design, layout, design.fixed_effects(), rng)).all()
