"""results.json: exactly the structure of docs/results-schema.md, and no patient identifiers."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pandas as pd

from alliance.study import StudyResults, load_config, run_study
from alliance.study.figures import caterpillar
from alliance.study.output import results_payload

SCHEMA = {
    "meta": {"alliance_version", "created", "seed", "simulated", "config", "python", "packages",
             "time_coding", "time_definition", "raters", "warnings"},
    "data_summary": {"n_reference_therapists", "n_therapists", "n_patients",
                     "n_administrations", "sessions", "excluded"},
    "scoring": {"wai", "qpl"},
    "instruments": None,
    "efa": {"n_obs", "items", "factor_names", "naming", "method", "rotation", "loadings",
            "communalities",
            "factor_correlations", "variance_explained", "eigenvalues", "parallel_analysis",
            "fit", "reliability"},
    "therapist_factors": {"correction", "scale", "reference", "study", "correlation"},
    "models": {"null", "time_coding", "predictors", "growth", "model_comparison", "joint"},
    "recovery": None,
    "findings": None,
    "figures": {"observed_trajectories", "implied_trajectories", "forest", "caterpillar",
                "individual_trajectories", "residual_diagnostics"},
}
FIT_KEYS = {"method", "n_obs", "groups", "loglik", "deviance", "aic", "bic", "converged",
            "singular", "fixed_effects", "random_effects", "residual_variance"}


def test_top_level_sections_follow_the_schema(small_results: StudyResults) -> None:
    payload = results_payload(small_results)
    assert set(payload) == set(SCHEMA)
    for section, keys in SCHEMA.items():
        if keys is not None:
            assert set(payload[section]) == keys, section


def test_sections_hold_the_documented_records(small_results: StudyResults) -> None:
    payload = results_payload(small_results)
    scoring = payload["scoring"]
    assert set(scoring["wai"]) == {"instrument", "n_scored", "n_prorated", "n_missing_score"}
    assert scoring["wai"]["instrument"] == {"patient": "wai-sr-client",
                                            "therapist": "wai-sr-therapist"}
    assert set(scoring["qpl"]) == {"instrument", "n_reference", "n_study", "n_cells_missing"}
    efa = payload["efa"]
    assert efa["factor_names"] == ["personal_satisfactions", "personal_burdens"]
    assert set(efa["loadings"][0]) == {"item", "personal_satisfactions", "personal_burdens"}
    assert set(efa["variance_explained"][0]) == {"factor", "ss_loadings", "proportion",
                                                 "cumulative"}
    assert set(efa["parallel_analysis"]) == {"suggested_factors", "observed", "simulated_mean",
                                             "simulated_quantile"}
    assert set(efa["fit"]) == {"chi_square", "df", "p", "rmsea", "rmsea_ci_low",
                               "rmsea_ci_high", "rmsea_level", "tli", "bic"}
    assert efa["fit"]["rmsea_level"] == 0.9
    assert [(entry["name"], entry["measures"]) for entry in payload["instruments"]] == [
        ("wai-sr-client", "patient-rated alliance"), ("wai-sr-therapist", "therapist-rated alliance"),
        ("dpccq-qpl", "therapist factors")]
    assert payload["instruments"][0]["citation"].startswith("Hatcher, R. L., & Gillaspy")
    assert set(efa["reliability"]["personal_burdens"]) == {
        "alpha", "alpha_ci_low", "alpha_ci_high", "omega_total", "n_items", "items"}
    factors = payload["therapist_factors"]
    assert set(factors["study"]["personal_burdens"]) == {"mean", "sd", "min", "max"}
    models = payload["models"]
    for rater in ("patient", "therapist"):
        null = models["null"][rater]
        assert set(null) == {"formula", "fit", "icc", "icc_intervals", "reliability"}
        assert set(null["icc"]) == {"therapist_intercept", "patient_intercept",
                                    "therapist_slope_share"}
        intervals = null["icc_intervals"]
        assert {key: intervals[key] for key in ("method", "level", "n_boot")} == {
            "method": "parametric bootstrap", "level": 0.95, "n_boot": 1000}
        assert [row["quantity"] for row in intervals["shares"]] == list(null["icc"])
        assert set(intervals["shares"][0]) == {"quantity", "estimate", "ci_low", "ci_high",
                                               "boundary", "n_used", "note"}
        assert len(intervals["components"]) == 5
        assert FIT_KEYS <= set(null["fit"])
        growth = models["growth"][rater]
        assert set(growth) == {"formula", "fit", "r2", "variance_reduction"}
        assert growth["r2"] == growth["fit"]["r2"]
        assert 0 < growth["r2"]["marginal"] < growth["r2"]["conditional"] < 1
        reduction = {(row["group"], row["term"]): row for row in growth["variance_reduction"]}
        assert set(reduction) == {("patient:therapist", "(Intercept)"), ("patient:therapist", "time"),
                                  ("therapist", "(Intercept)"), ("therapist", "time"),
                                  ("Residual", None)}
        for row in reduction.values():
            assert row["proportional_reduction"] == (
                None if row["unconditional"] == 0
                else (row["unconditional"] - row["conditional"]) / row["unconditional"])
        comparison = models["model_comparison"][rater]
        assert comparison["method"] == "ML"
        assert [test["larger"] for test in comparison["tests"]] == [
            "fixed time", "patient slopes", "unconditional growth", "conditional growth"]
        assert set(comparison["tests"][0]) == {
            "smaller", "larger", "kind", "reference", "chi_square", "df", "p",
            "smaller_deviance", "smaller_aic", "smaller_bic", "larger_deviance", "larger_aic",
            "larger_bic"}
    assert [(p["name"], p["level"]) for p in models["predictors"]] == [
        ("personal_satisfactions", "therapist"), ("personal_burdens", "therapist"),
        *[(name, "therapist") for name in small_results.analysis.predictors[2:]
          if name not in small_results.analysis.patient_predictors],
        *[(name, "patient") for name in small_results.analysis.patient_predictors]]
    assert set(models["time_coding"][0]) == {"rater", "coding", "deviance", "aic", "bic",
                                             "chosen"}
    joint = models["joint"]
    assert set(joint) == {"formula", "fit", "difference_tests"}
    assert set(joint["difference_tests"][0]) == {"effect", "patient", "therapist", "difference",
                                                 "std_error", "statistic", "df", "p"}
    assert set(payload["recovery"][0]) == {"model", "parameter", "true", "exact", "estimate",
                                           "ci_low",
                                           "ci_high", "covered"}
    figures = payload["figures"]
    assert set(figures["observed_trajectories"][0]) == {"rater", "session", "mean", "sd", "n"}
    assert set(figures["implied_trajectories"][0]) == {"rater", "factor", "factor_level",
                                                       "session", "alliance"}
    assert set(figures["forest"][0]) == {"rater", "outcome", "factor", "estimate", "ci_low",
                                         "ci_high"}
    assert set(figures["caterpillar"]["patient"][0]) == {"rank", "estimate", "ci_low", "ci_high"}
    individual = figures["individual_trajectories"]["therapist"]
    assert set(individual) == {"seed", "n_therapists", "n_patients", "sampled_therapists",
                               "sampled_patients", "points"}
    assert set(individual["points"][0]) == {"therapist", "patient", "session", "alliance"}
    diagnostics = figures["residual_diagnostics"]["patient"]
    assert set(diagnostics) == {"model", "n_obs", "sigma", "residuals", "qq"}
    assert [entry["quantity"] for entry in diagnostics["qq"]] == [
        "residual", "patient_intercept", "patient_slope", "therapist_intercept",
        "therapist_slope"]
    assert set(diagnostics["qq"][0]) == {"quantity", "level", "term", "variance", "n",
                                         "thinned", "theoretical", "sample", "line"}
    assert set(diagnostics["residuals"]) == {"kind", "n", "fitted", "residual", "trend"}
    assert all(isinstance(sentence, str) for sentence in payload["findings"])
    assert payload["data_summary"]["n_administrations"] == {
        rater: int((small_results.analysis.frame["rater"] == rater).sum())
        for rater in ("patient", "therapist")
    }


def test_no_identifiers_in_results(small_results: StudyResults, small_study: Path) -> None:
    text = json.dumps(results_payload(small_results))
    patients = pd.read_csv(small_study.parent / "patients.csv")["patient"]
    therapists = pd.read_csv(small_study.parent / "therapists.csv")["therapist"]
    for identifier in (*patients, *therapists):
        assert f'"{identifier}' not in text and f"{identifier}:" not in text
    for table in small_results.tables().values():
        csv = table.to_csv(index=False)
        assert not any(identifier in csv for identifier in (*patients, *therapists))


def test_show_identifiers_adds_therapist_ids_to_the_caterpillar_only(
    small_results: StudyResults,
) -> None:
    shown = caterpillar(small_results.null, 0.95, show_identifiers=True)
    ranked = shown["therapist"]
    assert all(entry["therapist"].startswith("T") for entry in ranked)
    estimates = [entry["estimate"] for entry in ranked]
    assert estimates == sorted(estimates)
    assert [entry["rank"] for entry in ranked] == list(range(1, len(ranked) + 1))


def test_show_identifiers_from_the_config(study_copy: Path) -> None:
    text = study_copy.read_text(encoding="utf-8")
    study_copy.write_text(text.replace("show_identifiers = false", "show_identifiers = true"),
                          encoding="utf-8")
    config = load_config(study_copy)
    config = replace(config, truth=None)
    results = run_study(config)
    payload = results_payload(results)
    assert "therapist" in payload["figures"]["caterpillar"]["patient"][0]
    assert payload["recovery"] is None and payload["meta"]["simulated"] is False
    patients = pd.read_csv(study_copy.parent / "patients.csv")["patient"]
    assert not any(f'"{p}"' in json.dumps(payload) for p in patients)
