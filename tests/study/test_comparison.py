"""Likelihood-ratio comparison of the model sequence against lme4's ``anova``.

Reference: tests/reference/model_comparison.json (tests/reference/model_comparison.R), ML fits
of the same five models on tests/reference/data/alliance_sim.csv and ``anova(m0, m1)`` of each
consecutive pair; the variance-component p values there are the 50:50 chi-square mixture.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pandas as pd
import pytest
from scipy import stats

from alliance.errors import SpecificationError
from alliance.mixed import fit
from alliance.study.comparison import (
    FIXED,
    VARIANCE,
    compare_models,
    compare_sequence,
    mixture_p,
)

REFERENCE = Path(__file__).parents[1] / "reference"
LME4 = json.loads((REFERENCE / "model_comparison.json").read_text())


@pytest.fixture(scope="module")
def sequence() -> tuple[list[dict], list[dict]]:
    data = pd.read_csv(REFERENCE / LME4["data"])
    models = []
    for index, entry in enumerate(LME4["models"]):
        # the two growth models as REML fits: compare_sequence refits them by ML (as anova)
        reml = index >= 3
        models.append((entry["name"], fit(entry["formula"], data, reml=reml,
                                          df_method="residual")))
    kinds = [test["kind"] for test in LME4["tests"]]
    return compare_sequence(models, kinds)


def test_models_match_lme4_ml_fits(sequence: tuple[list[dict], list[dict]]) -> None:
    models, _ = sequence
    for ours, theirs in zip(models, LME4["models"], strict=True):
        assert ours["name"] == theirs["name"]
        assert ours["n_params"] == theirs["n_params"]
        for key in ("deviance", "aic", "bic"):
            # lme4 stops its optimizer earlier on the conditional model (max|grad| 3e-3)
            assert ours[key] == pytest.approx(theirs[key], abs=1e-4)


def test_chi_square_and_p_match_anova(sequence: tuple[list[dict], list[dict]]) -> None:
    _, tests = sequence
    for ours, theirs in zip(tests, LME4["tests"], strict=True):
        assert (ours["smaller"], ours["larger"], ours["kind"]) == (
            theirs["smaller"], theirs["larger"], theirs["kind"])
        assert ours["df"] == theirs["df"]
        assert ours["chi_square"] == pytest.approx(theirs["chi_square"], abs=1e-4)
        assert ours["p"] == pytest.approx(theirs["p"], rel=1e-4, abs=1e-12)
        assert ours["larger_deviance"] == pytest.approx(
            ours["smaller_deviance"] - ours["chi_square"])


def test_variance_tests_use_the_mixture(sequence: tuple[list[dict], list[dict]]) -> None:
    _, tests = sequence
    for test in tests:
        plain = float(stats.chi2.sf(test["chi_square"], test["df"]))
        if test["kind"] == VARIANCE:
            assert test["p"] < plain
            assert "mixture" in test["reference"]
        else:
            assert test["p"] == pytest.approx(plain, rel=1e-12)


def test_mixture_p() -> None:
    # 0.5 chi2(1) + 0.5 chi2(2) at 3: 0.5 * 0.0832645 + 0.5 * 0.2231302
    assert mixture_p(3.0, 2) == pytest.approx(
        0.5 * stats.chi2.sf(3.0, 1) + 0.5 * stats.chi2.sf(3.0, 2), rel=1e-12)
    # one variance alone: half the chi2(1) tail; at 0 the p value is 1
    assert mixture_p(2.71, 1) == pytest.approx(0.5 * stats.chi2.sf(2.71, 1), rel=1e-12)
    assert mixture_p(0.0, 1) == 1.0
    with pytest.raises(SpecificationError, match="df >= 1"):
        mixture_p(1.0, 0)


def test_refuses_bad_sequences() -> None:
    data = pd.read_csv(REFERENCE / LME4["data"])
    small = fit("wai ~ 1 + (1 | therapist/patient)", data, reml=False, df_method="residual")
    large = fit("wai ~ time + (1 | therapist/patient)", data, reml=False, df_method="residual")
    with pytest.raises(SpecificationError, match="test kinds"):
        compare_sequence([("a", small), ("b", large)], [])
    with pytest.raises(SpecificationError, match="unknown test kind"):
        compare_sequence([("a", small), ("b", large)], ["random"])
    with pytest.raises(SpecificationError, match="smallest first"):
        compare_sequence([("b", large), ("a", small)], [FIXED])


def test_study_comparison(small_results) -> None:  # type: ignore[no-untyped-def]
    for rater, comparison in small_results.model_comparison.items():
        names = [model["name"] for model in comparison.models]
        assert names == ["null", "fixed time", "patient slopes", "unconditional growth",
                         "conditional growth"]
        assert [test["kind"] for test in comparison.tests] == [
            FIXED, VARIANCE, VARIANCE, FIXED]
        growth = small_results.growth[rater]
        assert comparison.models[-1]["formula"] == growth.formula
        # the conditional growth model adds level and growth effects of every predictor
        assert comparison.tests[-1]["df"] == 2 * len(small_results.analysis.predictors)


def test_compare_models_requires_the_unconditional_model(small_results) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace
    null = replace(small_results.null["patient"], formula="alliance ~ 1 + (1 | therapist)")
    with pytest.raises(SpecificationError, match="unconditional growth model must be"):
        compare_models(small_results.analysis, "patient", small_results.meta["time_coding"],
                       null, small_results.growth["patient"])


@pytest.mark.parametrize("structure", ["intercepts", "uncorrelated"])
def test_other_random_structures_run_and_say_what_was_compared(study_copy, structure):
    from alliance.study import load_config, run_study

    text = study_copy.read_text(encoding="utf-8")
    kept = [line for line in text.splitlines() if not line.startswith("random_effects =")]
    study_copy.write_text("\n".join(kept).replace(
        "[models]\n", f'[models]\nrandom_effects = "{structure}"\n', 1) + "\n", encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = run_study(load_config(study_copy))
    growth = results.growth["patient"].fit.spec.formula.formula
    joint = results.joint.fit.spec.formula.formula
    if structure == "intercepts":
        assert "(1 | therapist/patient)" in growth and "rater:time |" not in joint
    else:
        assert "(time || therapist/patient)" in growth and "||" in joint
    comparison = results.model_comparison["patient"]
    assert comparison.note.startswith("Models compared:")
    assert len(comparison.tests) >= 1
    for test in comparison.tests:
        assert test["chi_square"] >= 0 and 0 <= test["p"] <= 1
