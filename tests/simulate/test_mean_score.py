"""True fixed effects on the mean-score metric: closed form, linear limit, large-sample fits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alliance.mixed import fit
from alliance.simulate import StudyDesign, simulate_study
from alliance.simulate.mean_score import expected_mean_score, mean_score_effects
from alliance.simulate.ordinal import discretise
from alliance.simulate.truth import latent_fixed_effects

GROWTH = "alliance ~ time * (personal_satisfactions + personal_burdens) + (time | therapist/patient)"


def test_the_closed_form_is_the_expected_mean_of_the_items() -> None:
    wai = StudyDesign.default().wai
    rng = np.random.default_rng(1)
    alliance = 4.3 + np.sqrt(0.3) * rng.standard_normal(400_000)
    latent = (np.asarray(wai.intercepts) + np.outer(alliance, wai.loadings)
              + np.asarray(wai.residual_sd) * rng.standard_normal((alliance.size, wai.n_items)))
    observed = discretise(latent, wai.thresholds, wai.scale_min).mean()
    assert float(expected_mean_score(wai, np.array(4.3), np.array(0.3))) == pytest.approx(
        observed, abs=0.003)


def test_far_from_the_ends_of_the_scale_the_effects_are_the_latent_ones() -> None:
    # a 1-41 scale with thresholds halfway: rounding without a ceiling in reach
    wide = StudyDesign.default().updated({"wai": {
        "scale_max": 41, "thresholds": [k + 0.5 for k in range(1, 41)],
        "intercepts": [17.0] * 12, "loadings": [1.0] * 12}})
    exact = mean_score_effects(wide)
    latent = latent_fixed_effects(wide)
    for rater, effects in latent.items():
        for term, value in effects.items():
            expected = value + (17.0 if term == "(Intercept)" else 0.0)
            assert exact[rater][term] == pytest.approx(expected, abs=1e-3), (rater, term)


@pytest.mark.filterwarnings("ignore")
def test_a_large_study_recovers_the_mean_score_effects_not_the_latent_ones() -> None:
    """Growth models fitted with the true factor scores, so that only the metric matters."""
    design = StudyDesign.default().updated({
        "sample": {"n_reference": 10, "n_therapists": 1000, "n_patients": 20000,
                   "max_caseload": 40},
        "missing": {"patient_administration": 0.0, "therapist_administration": 0.0, "item": 0.0},
    })
    study = simulate_study(design, seed=3)
    wai = study.wai.assign(
        alliance=study.wai[list(design.wai.items)].to_numpy(dtype=float).mean(axis=1),
        time=np.log(study.wai["session"].to_numpy(dtype=float)),
    ).merge(pd.DataFrame(study.truth["therapist_factor_scores"]), on="therapist")
    exact, latent = study.truth["fixed_effects"], study.truth["latent_fixed_effects"]
    for rater in ("patient", "therapist"):
        table = fit(GROWTH, wai[wai["rater"] == rater].reset_index(drop=True)).fixed_effects
        table = table.set_index("term")
        low, high = table["ci_low"], table["ci_high"]
        inside = [(low[t] <= exact[rater][t] <= high[t]) for t in table.index]
        assert sum(inside) >= len(inside) - 1, table.assign(true=pd.Series(exact[rater]))
        # the latent growth lies outside: the metric, not the models, made the old misses
        assert not low["time"] <= latent[rater]["time"] <= high["time"]
