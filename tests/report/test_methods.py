"""The methods section: equations in HTML and the analysis in words."""

from __future__ import annotations

from typing import Any

from alliance.report.methods import (
    analysis_paragraph,
    covariates,
    growth_equations,
    model_formulas,
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
    for entry in results["models"]["null"].values():
        del entry["icc_intervals"]
    assert "Intervals for the variance components" not in analysis_paragraph(results)
