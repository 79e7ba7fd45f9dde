"""Figures drawn from the results dictionary."""

from __future__ import annotations

from typing import Any

from alliance.report.figures import (
    build_figures,
    caterpillar_figure,
    figure_bytes,
    forest_figure,
    implied_figure,
    scree_figure,
)

KEYS = ["scree", "observed-trajectories", "implied-trajectories", "forest", "caterpillar"]


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
