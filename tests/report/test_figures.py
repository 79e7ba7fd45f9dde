"""Figures drawn from the results dictionary."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from matplotlib.collections import QuadMesh

from alliance.report.figures import (
    THERAPIST_COLOURS,
    build_figures,
    caterpillar_figure,
    figure_bytes,
    forest_figure,
    implied_figure,
    individual_figure,
    random_effects_figure,
    residual_figure,
    scree_figure,
)
from alliance.study.figures import MAX_QQ, fitted_residual_data, normal_qq_data

KEYS = ["scree", "observed-trajectories", "implied-trajectories", "forest", "caterpillar",
        "individual-trajectories", "residual-diagnostics", "random-effects-qq"]


def test_every_figure_is_drawn_from_the_example(example_results: dict[str, Any]) -> None:
    figures = build_figures(example_results)
    assert [figure.key for figure in figures] == KEYS
    assert all(figure.figure is not None for figure in figures)
    assert all(figure.caption for figure in figures)


def test_panels_follow_raters_and_factors(example_results: dict[str, Any]) -> None:
    implied = implied_figure(example_results).figure
    assert implied is not None
    titles = [ax.get_title() for ax in implied.axes]
    assert titles == [
        "Patient-rated \u2014 Personal Satisfactions", "Patient-rated \u2014 Personal Burdens",
        "Therapist-rated \u2014 Personal Satisfactions", "Therapist-rated \u2014 Personal Burdens",
    ]
    # three lines (-1 SD, mean, +1 SD) per panel
    assert all(len(ax.get_lines()) == 3 for ax in implied.axes)
    forest = forest_figure(example_results).figure
    assert forest is not None
    assert [ax.get_title() for ax in forest.axes] == [
        "Effect on alliance level", "Effect on alliance growth"
    ]


def test_caterpillar_shows_ranks_not_identifiers(results: dict[str, Any]) -> None:
    for rows in results["figures"]["caterpillar"].values():
        for row in rows:
            row["therapist"] = f"T{row['rank']:03d}"  # an identifier the figure must not show
    figure = caterpillar_figure(results).figure
    assert figure is not None
    texts = [text.get_text() for ax in figure.axes for text in
             [*ax.get_xticklabels(), *ax.get_yticklabels(), *ax.texts]]
    assert texts and not any(text.startswith("T0") for text in texts)
    assert figure.axes[0].get_xlabel() == "Therapist (ranked)"


def test_scree_marks_the_retained_factors(example_results: dict[str, Any]) -> None:
    figure = scree_figure(example_results).figure
    assert figure is not None
    labels = figure.axes[0].get_legend_handles_labels()[1]
    assert "Retained (2)" in labels


def test_absent_sections_give_missing_figures(results: dict[str, Any]) -> None:
    del results["figures"]
    del results["efa"]
    figures = build_figures(results)
    assert [figure.key for figure in figures] == KEYS
    assert all(figure.figure is None and figure.unavailable for figure in figures)


def test_malformed_figure_data_is_reported(results: dict[str, Any]) -> None:
    results["figures"]["forest"] = [{"rater": "patient"}]
    figure = build_figures(results)[3]
    assert figure.figure is None
    assert "KeyError" in figure.unavailable


def test_files_are_reproducible(example_results: dict[str, Any]) -> None:
    """The same results give byte-identical PNG and SVG files (no dates, fixed SVG ids)."""
    saved = []
    for _ in range(2):
        figure = forest_figure(example_results).figure
        assert figure is not None
        saved.append((figure_bytes(figure, "png"), figure_bytes(figure, "svg")))
    (png, svg), again = saved
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert b"<svg" in svg[:2000]
    assert again == (png, svg)


def figure_texts(figure: Any) -> list[str]:
    return [text.get_text() for ax in figure.axes for text in
            [*ax.get_xticklabels(), *ax.get_yticklabels(), *ax.texts, ax.title]]


def test_individual_trajectories_one_line_per_patient_coloured_by_therapist(
    example_results: dict[str, Any],
) -> None:
    drawn = individual_figure(example_results)
    assert drawn.figure is not None
    data = example_results["figures"]["individual_trajectories"]
    for ax, rater in zip(drawn.figure.axes, ("patient", "therapist"), strict=True):
        lines = ax.get_lines()
        assert len(lines) == data[rater]["sampled_patients"]
        colours = {line.get_color() for line in lines}
        assert colours == set(THERAPIST_COLOURS[: data[rater]["sampled_therapists"]])
    assert [ax.get_title() for ax in drawn.figure.axes] == ["Patient-rated", "Therapist-rated"]
    assert "seed 2013" in drawn.caption and "not identified" in drawn.caption
    sampled = data["patient"]
    assert (f"{sampled['sampled_patients']} of {sampled['n_patients']} patients"
            in drawn.caption)


def large_results(results: dict[str, Any], n: int) -> dict[str, Any]:
    """``results`` with the residual diagnostics of ``n`` rows and ``n // 5`` patients."""
    rng = np.random.default_rng(2)
    for diagnostics in results["figures"]["residual_diagnostics"].values():
        diagnostics["residuals"] = fitted_residual_data(rng.normal(4, 0.4, n),
                                                        rng.normal(0, 0.3, n))
        for entry in diagnostics["qq"]:
            size = n if entry["quantity"] == "residual" else n // 5
            entry.update(normal_qq_data(rng.normal(size=size)))
    return results


def test_residual_figure_draws_points_for_small_studies(example_results: dict[str, Any]) -> None:
    drawn = residual_figure(example_results)
    assert drawn.figure is not None
    scatter, qq = drawn.figure.axes[:2]
    assert not [artist for artist in scatter.collections if isinstance(artist, QuadMesh)]
    n = example_results["figures"]["residual_diagnostics"]["patient"]["n_obs"]
    assert len(scatter.collections[0].get_offsets()) == n
    assert len(qq.get_lines()[0].get_xdata()) == n
    assert "histogram" not in drawn.caption and "thinned" not in drawn.caption


def test_residual_figures_stay_small_and_quick_for_large_studies(
    results: dict[str, Any],
) -> None:
    results = large_results(results, 200_000)
    began = time.perf_counter()
    drawn = residual_figure(results)
    modes = random_effects_figure(results)
    assert drawn.figure is not None and modes.figure is not None
    svg = figure_bytes(drawn.figure, "svg") + figure_bytes(modes.figure, "svg")
    # generous bound on a shared machine; the point is it does not grow with n
    assert time.perf_counter() - began < 30
    assert len(svg) < 2_000_000
    scatter, qq = drawn.figure.axes[:2]
    assert [artist for artist in scatter.collections if isinstance(artist, QuadMesh)]
    assert len(qq.get_lines()[0].get_xdata()) == MAX_QQ
    assert "2-D histogram of all rows" in drawn.caption
    assert "thinned" in drawn.caption and "thinned" in modes.caption


def test_random_effects_figure_has_a_panel_per_effect_and_rater(
    results: dict[str, Any],
) -> None:
    entry = results["figures"]["residual_diagnostics"]["therapist"]["qq"][4]
    assert entry["quantity"] == "therapist_slope"
    entry.update(normal_qq_data(np.zeros(70)), variance=0.0)
    drawn = random_effects_figure(results)
    assert drawn.figure is not None
    assert [ax.get_title() for ax in drawn.figure.axes] == [
        f"{rater}\n{effect}" for rater in ("Patient-rated", "Therapist-rated")
        for effect in ("Patient intercept", "Patient slope", "Therapist intercept",
                       "Therapist slope")
    ]
    assert "variance estimated as 0" in figure_texts(drawn.figure)
    assert "Variances estimated as 0 (therapist-rated therapist slope)" in drawn.caption

