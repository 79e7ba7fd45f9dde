"""Tables built from the results dictionary, and how they degrade when sections are missing."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from alliance import apa
from alliance.report.apa_table import Table
from alliance.report.methods import analysis_paragraph
from alliance.report.model_tables import (
    MIXTURE_MARK,
    ONE_SIDED_MARK,
    ONE_SIDED_NOTE,
    fixed_effects_table,
    icc_table,
    joint_table,
    model_comparison_table,
    recovery_table,
    time_coding_table,
    variance_table,
)
from alliance.report.scale_tables import loadings_table, therapist_factor_table
from alliance.report.score_scales import ALLIANCE_SCALE, FACTOR_SCALES, factor_scale
from alliance.report.table_catalog import build_tables

KEYS = ["loadings", "reliability", "therapist-factors", "variance-components", "icc",
        "time-coding", "model-comparison", "fixed-effects", "joint", "recovery", "models"]


def texts(table: Table) -> list[list[str]]:
    return [[cell.text for cell in row.cells] for row in table.body_rows() if not row.heading]


def test_the_loadings_table_shows_the_evidence_for_each_name(results: dict[str, Any]) -> None:
    results["efa"]["naming"] = {
        "evidence": "factors.satisfaction_items and factors.burden_items", "min_congruence": 0.85,
        "factors": [
            {"factor": "personal_satisfactions", "efa_factor": 2, "sign": -1, "congruence": 0.97,
             "markers": [{"item": "qpl1", "target": 1.0, "personal_satisfactions": 0.71,
                          "personal_burdens": -0.04}]},
            {"factor": "personal_burdens", "efa_factor": 1, "sign": 1, "congruence": 0.96,
             "markers": [{"item": "qpl2", "target": 1.0, "personal_satisfactions": 0.12,
                          "personal_burdens": 0.66}]},
        ],
    }
    table = loadings_table(results)
    assert "Personal Satisfactions is rotated factor 2 (Tucker congruence with its target .97; " \
        "its 1 marker item(s) load .71 to .71 on it and at most .04 on the other factor)" \
        in table.note
    assert "Marker of" in table.frame.columns
    marked = dict(zip(table.frame["Item"], table.frame["Marker of"], strict=True))
    assert marked["qpl2"] == "Personal Burdens" and marked["qpl3"] == ""


def test_every_table_states_the_scale_of_its_scores_as_the_methods_do(
    example_results: dict[str, Any],
) -> None:
    factors = therapist_factor_table(example_results)
    reference_sd = factors.frame["Reference|SD"].tolist()
    assert reference_sd == [1.0, 1.0]
    scale = factor_scale(example_results)
    assert scale == FACTOR_SCALES["none"] and scale in factors.note
    assert "the factor scores had SD Personal Satisfactions 0.92" in factors.note
    assert scale in analysis_paragraph(example_results)
    for table in (fixed_effects_table(example_results), joint_table(example_results)):
        assert scale in table.note and ALLIANCE_SCALE in table.note
    assert ALLIANCE_SCALE in variance_table(example_results).note


def test_croon_corrected_scores_are_described_as_such(results: dict[str, Any]) -> None:
    results["therapist_factors"]["correction"] = "croon"
    assert factor_scale(results) == FACTOR_SCALES["croon"]
    assert FACTOR_SCALES["croon"] in fixed_effects_table(results).note


def test_every_table_is_built_from_the_example(example_results: dict[str, Any]) -> None:
    tables = build_tables(example_results)
    assert [table.key for table in tables] == KEYS
    assert all(table.available for table in tables), [t.unavailable for t in tables]


def test_loadings_of_at_least_30_are_bold(example_results: dict[str, Any]) -> None:
    table = loadings_table(example_results)
    for row in table.body_rows():
        for cell in row.cells[1:3]:
            magnitude = float(cell.text.replace("\u2212", "-"))
            assert cell.bold == (abs(magnitude) >= 0.30)
    assert sum(cell.bold for row in table.body_rows() for cell in row.cells) == 16
    assert "h\u00b2" in table.printed_columns()
    assert "Parallel analysis suggested 2 factor(s)" in table.note


def test_fixed_effects_match_the_fits(example_results: dict[str, Any]) -> None:
    table = fixed_effects_table(example_results)
    fit = example_results["models"]["growth"]["patient"]["fit"]
    burdens = next(row for row in fit["fixed_effects"] if row["term"] == "time:personal_burdens")
    row = next(r for r in texts(table) if r[0] == "Time \u00d7 Personal Burdens")
    assert row[1] == f"{burdens['estimate']:.3f}".replace("-", "\u2212")
    assert row[5] == "< .001"
    assert [row.heading for row in table.body_rows() if row.heading] == [
        "Patient-rated", "Therapist-rated"
    ]


def test_variance_components_put_correlations_on_the_slope_row(
    example_results: dict[str, Any],
) -> None:
    table = variance_table(example_results)
    assert table.printed_columns() == ["Level", "Term", "Variance", "95% CI|LL", "95% CI|UL",
                                       "SD", "r", "Conditional", "PRV"]
    rows = texts(table)
    intercepts = [row for row in rows if row[1] == "Intercept"]
    slopes = [row for row in rows if row[1].startswith("Time")]
    assert all(row[6] == "\u2014" for row in intercepts)
    assert all(row[6] != "\u2014" for row in slopes)
    assert any(row[0] == "Occasions (residual)" for row in rows)


def test_variance_components_have_bootstrap_intervals(example_results: dict[str, Any]) -> None:
    table = variance_table(example_results)
    assert table.frame is not None
    intervals = example_results["models"]["null"]["therapist"]["icc_intervals"]
    residual = next(c for c in intervals["components"] if c["group"] == "Residual")
    frame = table.frame.loc[table.frame["Rater"] == "Therapist-rated"]
    row = frame.loc[frame["Level"] == "Occasions (residual)"].iloc[0]
    assert (row["95% CI|LL"], row["95% CI|UL"]) == (residual["ci_low"], residual["ci_high"])
    assert "parametric bootstrap percentile interval (1,000 samples per model, seeds 2013, " \
        "2014; 0 failed refits left out)" in table.note
    # the patient-rated slope variance of the example is next to 0: one-sided, marked
    patient = texts(table)[:5]
    assert [row[1] for row in patient if row[1].endswith(ONE_SIDED_MARK)] == [
        "Time" + ONE_SIDED_MARK]
    assert ONE_SIDED_NOTE in table.note


def test_icc_table_lists_iccs_with_intervals_then_reliabilities(
    example_results: dict[str, Any],
) -> None:
    table = icc_table(example_results)
    assert table.printed_columns() == ["Statistic", "Estimate", "95% CI|LL", "95% CI|UL"]
    rows = texts(table)
    null = example_results["models"]["null"]
    names = [row[0] for row in rows]
    assert names[:3] == ["Therapist ICC", "Patient ICC",
                         "Therapist share of slope variance" + ONE_SIDED_MARK]
    assert names[3:7] == [
        "Reliability: " + name.replace("_", " ") for name in null["patient"]["reliability"]
    ]
    therapist = rows[7:]
    therapist_icc = null["therapist"]["icc"]["therapist_intercept"]
    share = null["therapist"]["icc_intervals"]["shares"][0]
    assert therapist[0] == ["Therapist ICC", f"{therapist_icc:.2f}".lstrip("0"),
                            f"{share['ci_low']:.2f}".lstrip("0"),
                            f"{share['ci_high']:.2f}".lstrip("0")]
    assert rows[3][2:] == ["\u2014", "\u2014"]  # reliabilities have no interval
    assert rows[2][3] == "1.00"
    assert ONE_SIDED_NOTE in table.note and "seeds 2013, 2014" in table.note


def test_tables_without_recorded_intervals_say_so(results: dict[str, Any]) -> None:
    for entry in results["models"]["null"].values():
        del entry["icc_intervals"]
    for table in (icc_table(results), variance_table(results)):
        assert "No intervals are recorded in these results." in table.note
        assert ONE_SIDED_NOTE not in table.note
        assert table.frame is not None and table.frame["95% CI|LL"].isna().all()


def test_icc_table_notes_values_that_are_not_proportions(results: dict[str, Any]) -> None:
    results["models"]["null"]["patient"]["reliability"] = {"mean_caseload": 3.2286,
                                                           "therapist_means": float("nan")}
    table = icc_table(results)
    assert "Mean Caseload, patient-rated: 3.23" in table.note
    assert ["Reliability: therapist means", "\u2014", "\u2014", "\u2014"] in texts(table)


def test_time_coding_delta_aic_is_zero_for_the_best(example_results: dict[str, Any]) -> None:
    rows = texts(time_coding_table(example_results))
    assert [row[3] for row in rows if row[5] == "Yes"] == ["0.00", "0.00"]


def test_recovery_counts_coverage_among_intervals(example_results: dict[str, Any]) -> None:
    table = recovery_table(example_results)
    flags = [entry["covered"] for entry in example_results["recovery"]]
    intervals = [flag for flag in flags if flag is not None]
    assert None in flags, "the example has parameters without an interval"
    assert f"({sum(intervals)} of {len(intervals)} parameters with an interval)" in table.note
    headings = [row.heading for row in table.body_rows() if row.heading]
    assert headings == ["Conditional growth (patient-rated)",
                        "Conditional growth (therapist-rated)", "Joint (both raters)"]
    parameters = [row[0] for row in texts(table)]
    assert "Patient-rated \u00d7 Time \u00d7 Personal Burdens" in parameters
    assert "var(therapist:Intercept)" in parameters


def test_absent_recovery_is_explained(results: dict[str, Any]) -> None:
    del results["recovery"]
    table = recovery_table(results)
    assert not table.available
    assert "simulated data only" in table.unavailable


def test_a_failed_growth_model_is_noted_and_the_other_kept(results: dict[str, Any]) -> None:
    results["models"]["growth"]["therapist"] = {"formula": "alliance ~ time", "fit": None,
                                                "error": "optimizer diverged"}
    table = fixed_effects_table(results)
    assert [row.heading for row in table.body_rows() if row.heading] == ["Patient-rated"]
    assert "Therapist-rated: the model could not be fitted (optimizer diverged)." in table.note


def test_a_failed_joint_model_is_unavailable(results: dict[str, Any]) -> None:
    results["models"]["joint"] = {"formula": "f", "fit": None, "difference_tests": []}
    table = joint_table(results)
    assert not table.available
    assert "could not be fitted" in table.unavailable


@pytest.mark.parametrize("section", ["efa", "models", "therapist_factors", "figures"])
def test_missing_sections_give_unavailable_tables(results: dict[str, Any], section: str) -> None:
    del results[section]
    tables = build_tables(results)
    assert [table.key for table in tables] == KEYS
    assert all(table.available or table.unavailable for table in tables)


def test_a_malformed_section_is_reported_not_raised(results: dict[str, Any]) -> None:
    results["efa"]["loadings"] = [{"no_item": 1}]
    table = build_tables(results)[0]
    assert not table.available
    assert "KeyError" in table.unavailable and "results-schema" in table.unavailable


def test_variance_components_show_the_conditional_variances_and_their_reduction(
    results: dict[str, Any],
) -> None:
    table = variance_table(results)
    assert table.frame is not None
    frame = table.frame.loc[table.frame["Rater"] == "Therapist-rated"]
    growth = results["models"]["growth"]["therapist"]
    slope = next(row for row in growth["variance_reduction"]
                 if row["group"] == "therapist" and row["term"] == "time")
    row = frame.loc[(frame["Level"] == "Therapists") & frame["Term"].str.startswith("Time")]
    assert row["Conditional"].iloc[0] == slope["conditional"]
    assert row["PRV"].iloc[0] == pytest.approx(
        (slope["unconditional"] - slope["conditional"]) / slope["unconditional"], rel=1e-12)
    assert "proportional reduction in variance" in table.note
    assert "can be negative" in table.note
    del growth["variance_reduction"]
    note = variance_table(results).note
    assert "No conditional model variances are recorded for therapist-rated ratings." in note


def test_model_comparison_table(example_results: dict[str, Any]) -> None:
    table = model_comparison_table(example_results)
    assert table.printed_columns() == ["Model", "Parameters", "Deviance", "AIC", "BIC",
                                       "\u03c7\u00b2", "df", "p"]
    assert table.frame is not None
    comparison = example_results["models"]["model_comparison"]["patient"]
    frame = table.frame.loc[table.frame["Rater"] == "Patient-rated"].reset_index(drop=True)
    assert len(frame) == len(comparison["models"]) == 5
    assert frame["Deviance"].tolist() == [m["deviance"] for m in comparison["models"]]
    assert pd.isna(frame["\u03c7\u00b2"].iloc[0])
    assert frame["\u03c7\u00b2"].iloc[1:].tolist() == [t["chi_square"] for t in comparison["tests"]]
    # random-slope rows are marked and explained; fixed-effect rows are not
    marked = [model.endswith(MIXTURE_MARK) for model in frame["Model"]]
    assert marked == [False, False, True, True, False]
    assert "50:50 mixture" in table.note and "Self & Liang, 1987" in table.note
    assert "refitted by ML" in table.note and "anova()" in table.note


def test_absent_model_comparison_is_unavailable(results: dict[str, Any]) -> None:
    del results["models"]["model_comparison"]
    table = model_comparison_table(results)
    assert not table.available
    assert "No model comparison" in (table.unavailable or "")


def test_fixed_effects_note_gives_the_r_squared(example_results: dict[str, Any]) -> None:
    note = fixed_effects_table(example_results).note
    r2 = example_results["models"]["growth"]["patient"]["r2"]
    assert (f"patient-rated, marginal R\u00b2 = {apa.bounded(r2['marginal'], 3)}, "
            f"conditional R\u00b2 = {apa.bounded(r2['conditional'], 3)}") in note
    assert "Nakagawa & Schielzeth, 2013" in note


def test_the_rmsea_interval_is_labelled_with_its_level(results: dict[str, Any]) -> None:
    note = loadings_table(results).note
    assert "RMSEA = .005, 90% CI [.000, .010]" in note
    del results["efa"]["fit"]["rmsea_level"]
    assert "CI (level not recorded)" in loadings_table(results).note


@pytest.mark.parametrize("level, heading", [(0.95, "95% CI"), (0.9, "90% CI"), (0.99, "99% CI")])
def test_interval_headings_say_the_level_the_models_used(
    example_results: dict[str, Any], level: float, heading: str
) -> None:
    """The fixed effects and recovery tables and the forest plot's caption name the level of
    ``[models] confidence``, not always 95%."""
    import copy

    from alliance.report.figures import forest_figure

    results = copy.deepcopy(example_results)
    results["meta"]["config"]["models"]["confidence"] = level
    for table in (fixed_effects_table(results), recovery_table(results)):
        headings = [cell.text for row in table.header_rows() for cell in row]
        assert heading in headings
        assert all(text == heading or "CI" not in text for text in headings)
    assert f"{heading[:-3]} confidence intervals" in forest_figure(results).caption
