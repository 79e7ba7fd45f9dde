"""The methods section: equations in HTML and the analysis in words."""

from __future__ import annotations

from typing import Any

from alliance.report.html import render_html
from alliance.report.methods import (
    analysis_paragraph,
    covariates,
    data_paragraph,
    growth_equations,
    instrument_references,
    model_formulas,
    predictor_levels,
    random_structure,
    short_citation,
)


def test_three_levels_with_one_coefficient_per_factor_and_outcome() -> None:
    equations = growth_equations(["personal_satisfactions", "personal_burdens"])
    assert [equation.level for equation in equations] == [
        "Level 1 (sessions)", "Level 2 (patients)", "Level 3 (therapists)"
    ]
    assert str(equations[0].lines[0]) == (
        "Y<sub>tij</sub> = \u03c0<sub>0ij</sub> + \u03c0<sub>1ij</sub>\u00b7time<sub>tij</sub>"
        " + e<sub>tij</sub>"
    )
    level3 = [str(line) for line in equations[2].lines]
    assert "\u03b3<sub>001</sub>\u00b7Personal Satisfactions<sub>j</sub>" in level3[0]
    assert "\u03b3<sub>102</sub>\u00b7Personal Burdens<sub>j</sub>" in level3[1]


def test_factor_names_are_escaped() -> None:
    (level3,) = [e for e in growth_equations(["<b>x</b>"]) if e.level.startswith("Level 3")]
    assert "&lt;b&gt;x&lt;/b&gt;" in str(level3.lines[0])


def test_formulas_and_estimation(example_results: dict[str, Any]) -> None:
    formulas = dict(model_formulas(example_results))
    assert formulas["Conditional growth model (patient-rated)"] == (
        example_results["models"]["growth"]["patient"]["formula"]
    )
    assert len(formulas) == 5
    text = analysis_paragraph(example_results)
    assert "REML" in text and "Satterthwaite" in text and "ln(session)" in text


def test_covariates_are_the_other_main_effects(results: dict[str, Any]) -> None:
    fit = results["models"]["growth"]["patient"]["fit"]
    fit["fixed_effects"] = [
        {"term": term} for term in
        ["(Intercept)", "time", "personal_burdens", "severity", "time:severity", "experience"]
    ]
    del results["models"]["growth"]["therapist"]
    assert covariates(results) == ["severity", "experience"]


def test_the_analysis_says_how_the_variance_intervals_were_computed(
    results: dict[str, Any],
) -> None:
    sentence = (
        "Intervals for the variance components and the variance shares (ICCs) of the "
        "unconditional growth models are parametric bootstrap percentile intervals (1,000 "
        "samples per model), one-sided where an estimate lies on or next to the boundary (a "
        "variance at or near 0)."
    )
    assert sentence in analysis_paragraph(results)
    for entry in results["models"]["null"].values():  # a large design's intervals
        entry["icc_intervals"].update(
            method="delta method (variances on the log scale, shares on the logit scale)",
            n_boot=None, seed=None)
    large = analysis_paragraph(results)
    assert ("are delta method (variances on the log scale, shares on the logit scale), from "
            "the Hessian of the deviance") in large
    assert "percentile" not in large.split("Intervals for the variance components")[1]
    for entry in results["models"]["null"].values():
        del entry["icc_intervals"]
    assert "Intervals for the variance components" not in analysis_paragraph(results)


def test_patient_covariates_enter_the_patient_equations_only() -> None:
    level1, level2, level3 = growth_equations(["personal_burdens"], ["experience"], ["severity"])
    patient = " ".join(str(line) for line in level2.lines)
    therapist = " ".join(str(line) for line in level3.lines)
    assert "\u03b2<sub>01j</sub>\u00b7Severity<sub>ij</sub>" in patient
    assert "\u03b2<sub>11j</sub>\u00b7Severity<sub>ij</sub>" in patient
    assert "Severity" not in therapist and "Experience" not in patient
    assert "\u03b3<sub>002</sub>\u00b7Experience<sub>j</sub>" in therapist
    # the patient covariate's coefficients are fixed at level 3
    assert ("\u03b2<sub>01j</sub> = \u03b3<sub>010</sub>, \u03b2<sub>11j</sub> = "
            "\u03b3<sub>110</sub>") in therapist


def test_predictor_levels_come_from_the_results(results: dict[str, Any]) -> None:
    assert predictor_levels(results) == (["experience"], ["severity"], [])
    del results["models"]["predictors"]
    assert predictor_levels(results) == ([], [], ["experience", "severity"])


def test_the_report_equations_place_each_covariate_at_its_level(
    example_results: dict[str, Any],
) -> None:
    html = render_html(example_results, [], [])
    level3 = html[html.index("<dt>Level 3 (therapists)</dt>"):html.index("</dl>")]
    level2 = html[html.index("<dt>Level 2 (patients)</dt>"):html.index("<dt>Level 3")]
    assert "Severity<sub>ij</sub>" in level2 and "Severity" not in level3
    assert "Experience<sub>j</sub>" in level3
    assert "enter the model in the same way" not in html


def test_random_structure_is_read_from_the_formula() -> None:
    assert random_structure("alliance ~ time + (time | therapist/patient)") == (
        "correlated random intercepts and time slopes for therapists and for patients within "
        "therapists")
    assert random_structure("y ~ time + (1 | therapist) + (time || patient:therapist)") == (
        "random intercepts for therapists; uncorrelated random intercepts and time slopes for "
        "patients within therapists")
    assert random_structure("y ~ x") == "none recorded"


def test_instruments_are_named_and_cited(results: dict[str, Any]) -> None:
    text = data_paragraph(results)
    assert ("patient-rated alliance: Working Alliance Inventory - Short Revised, client form "
            "(WAI-SR) (Hatcher & Gillaspy, 2006)") in text
    assert "(Orlinsky & Ronnestad, 2005)" in text
    assert "wai-sr-client" not in text
    assert instrument_references(results)[0].startswith("Hatcher, R. L., & Gillaspy, J. A. (2006)")
    del results["instruments"]
    assert "titles and citations not recorded" in data_paragraph(results)


def test_short_citations() -> None:
    assert short_citation("Tracey, T. J., & Kokotovic, A. M. (1989). Factor structure.") == (
        "Tracey & Kokotovic, 1989")
    assert short_citation("Horvath, A. O. (1989). One author.") == "Horvath, 1989"
    assert short_citation("Hatcher, R. L., Lindqvist, K., & Falkenstrom, F. (2020). T.") == (
        "Hatcher et al., 2020")
    assert short_citation("no year here") == "no year here"


def test_missing_data_and_exclusions_are_stated(results: dict[str, Any]) -> None:
    text = data_paragraph(results)
    assert "missing at random (MAR)" in text and "no rating was imputed" in text
    assert ("57 patient-rated WAI administrations without a total score (more than 2 of 12 "
            "items missing, or not completed)") in text
    assert "prorated: 87 patient-rated, 63 therapist-rated" in text
    results["data_summary"]["excluded"] = []
    assert "No administration was excluded." in data_paragraph(results)


def test_centring_comparison_and_interval_levels_are_stated(
    example_results: dict[str, Any],
) -> None:
    text = analysis_paragraph(example_results)
    assert ("Predictors were grand-mean centred (Personal Satisfactions, Personal Burdens, "
            "Experience over the therapists analysed; Severity over the patients analysed)") in text
    assert ("random effects as fitted: correlated random intercepts and time slopes for "
            "therapists and for patients within therapists") in text
    assert "likelihood-ratio tests of maximum-likelihood fits" in text
    assert ("Interval levels: fixed effects: 95% confidence intervals (t distribution with the "
            "degrees of freedom of the t tests); variance components and shares: 95% "
            "parametric-bootstrap intervals; Cronbach's \u03b1: 95% intervals (Feldt, 1965); "
            "RMSEA: 90% interval.") in text
