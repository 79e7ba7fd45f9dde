"""Across 20 simulated studies the published pattern is recovered and intervals cover the truth.

Only what the check needs is fitted: scoring, factors and the two growth models (log time,
the simulation's scale) of each study; the joint model and the time-coding comparison are
left out for speed.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from alliance.simulate import simulate_study, write_study
from alliance.study import example_config, load_study
from alliance.study.factors import therapist_factors
from alliance.study.models import analysis_data, fit_growth
from alliance.study.scoring import score_study

SEEDS = range(1, 21)


def growth_estimates(folder: Path, seed: int) -> pd.DataFrame:
    study = simulate_study(seed=seed)
    write_study(study, folder)
    config = example_config(folder).with_seed(seed)
    data = load_study(config)
    scored = score_study(data)
    factors = therapist_factors(data.reference, data.therapists, data.qpl, config.factors,
                                config.seed, "reference")
    time = study.truth["time"]  # the truth's origin and unit: its level effects are there
    analysis = analysis_data(data, scored, factors, config.therapist_covariates,
                             config.patient_covariates).timed(time["origin"], time["unit"])
    frames = []
    for rater in ("patient", "therapist"):
        table = fit_growth(analysis, rater, "log", config.models).fit.fixed_effects
        truth = {**study.truth["fixed_effects"][rater], **study.truth["covariate_effects"][rater]}
        frames.append(table.assign(rater=rater, seed=seed, true=table["term"].map(truth)))
    return pd.concat(frames, ignore_index=True)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore")
def test_pattern_and_coverage_over_seeds(tmp_path: Path) -> None:
    table = pd.concat([growth_estimates(tmp_path / f"seed{seed}", seed) for seed in SEEDS],
                      ignore_index=True)
    table = table.set_index(["seed", "rater", "term"])
    burdens = table.xs(("patient", "time:personal_burdens"), level=("rater", "term"))
    satisfactions = table.xs(("therapist", "time:personal_satisfactions"),
                             level=("rater", "term"))
    assert (burdens["ci_high"] < 0).sum() >= 16
    assert (satisfactions["ci_low"] > 0).sum() >= 16
    for rater, term in (("patient", "time:personal_satisfactions"),
                        ("therapist", "time:personal_burdens")):
        null = table.xs((rater, term), level=("rater", "term"))
        assert ((null["ci_low"] > 0) | (null["ci_high"] < 0)).sum() <= 4
    covered = (table["ci_low"] <= table["true"]) & (table["true"] <= table["ci_high"])
    assert table["true"].notna().all()
    assert 0.90 <= covered.mean() <= 0.99, covered.groupby(level="term").mean()
