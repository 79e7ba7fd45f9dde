"""True values on the WAI mean-score metric, checked against large simulated studies."""

from __future__ import annotations

import numpy as np
import pytest

from alliance.simulate import SimulatedStudy, StudyDesign, simulate_study
from alliance.simulate.truth import latent_variance, model_terms, residual_variances


def test_approximate_variances_scale_with_the_mean_item_loading() -> None:
    design = StudyDesign.default().updated(
        {"wai": {"loadings": [0.8] * 6 + [1.0] * 6, "intercepts": [0.5] * 12}}
    )
    assert residual_variances(design)["therapist"] == pytest.approx(
        0.81 * 0.18**2 + np.sum(np.square(design.wai.residual_sd)) / 144
    )
    assert model_terms(("a", "b")) == ("(Intercept)", "time", "a", "b", "time:a", "time:b")


@pytest.fixture(scope="module")
def large() -> SimulatedStudy:
    design = StudyDesign.default().updated(
        {
            "sample": {"n_reference": 10, "n_therapists": 4000, "n_patients": 16000},
            "missing": {
                "patient_administration": 0.0,
                "therapist_administration": 0.0,
                "item": 0.0,
            },
            "alliance": {"patient_rated": {"level": {"experience": 0.02}}},
        }
    )
    return simulate_study(design, seed=7)


def _mean_scores(study: SimulatedStudy, rater: str, session: int) -> np.ndarray:
    rows = study.wai[(study.wai["rater"] == rater) & (study.wai["session"] == session)]
    return rows[list(study.design.wai.items)].to_numpy(dtype=float).mean(axis=1)


def _discretised_mean(design: StudyDesign, mean: float, variance: float) -> float:
    """Expected mean item score when the latent alliance is N(mean, variance) (quadrature)."""
    from scipy.stats import norm

    wai = design.wai
    nodes, weights = np.polynomial.hermite_e.hermegauss(60)
    alliance = mean + np.sqrt(variance) * nodes
    latent = np.asarray(wai.intercepts) + np.outer(alliance, wai.loadings)
    above = norm.sf(
        (np.asarray(wai.thresholds)[:, None, None] - latent) / np.asarray(wai.residual_sd)
    )
    expected_items = wai.scale_min + above.sum(axis=0)
    return float(weights @ expected_items.mean(axis=1) / weights.sum())


@pytest.mark.parametrize(("index", "rater"), [(0, "patient"), (1, "therapist")])
def test_expected_mean_scores_match_large_samples(
    large: SimulatedStudy, index: int, rater: str
) -> None:
    design = large.design
    expected = large.truth["expected_mean_score"][rater]
    model = design.alliance.raters[rater]
    for session in (3, 12, 20):
        observed = _mean_scores(large, rater, session).mean()
        time = float(np.log(session))
        variance = latent_variance(design, index, time)
        latent = model.intercept + model.time * time
        # the closed form equals quadrature over the latent alliance
        assert expected[str(session)] == pytest.approx(
            _discretised_mean(design, latent, variance), abs=1e-9)
        # the ceiling pulls the mean score below the latent mean
        assert expected[str(session)] < latent
        assert observed == pytest.approx(expected[str(session)], abs=0.015)


@pytest.mark.parametrize(("index", "rater"), [(0, "patient"), (1, "therapist")])
def test_latent_variance_matches_the_spread_of_mean_scores(
    large: SimulatedStudy, index: int, rater: str
) -> None:
    design = large.design
    wai = design.wai
    # Mean score = latent alliance + mean item noise + mean rounding error (about 1/12 each).
    predicted = (
        latent_variance(design, index, float(np.log(3)))
        + np.sum(np.square(wai.residual_sd)) / wai.n_items**2
        + 1 / 12 / wai.n_items
    )
    observed = _mean_scores(large, rater, 3).var()
    assert observed == pytest.approx(predicted, rel=0.06)


def test_item_loadings_are_high(large: SimulatedStudy) -> None:
    for loadings in large.truth["latent_item_loadings"].values():
        assert len(loadings) == 12
        assert 0.6 < min(loadings) and max(loadings) < 0.85
