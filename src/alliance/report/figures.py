"""The report's figures, drawn with matplotlib's object API (Agg canvas, no pyplot state).

Each builder takes the results dictionary (docs/results-schema.md) and returns a
:class:`ReportFigure`; a section that is absent gives a figure with ``figure=None`` and the
reason. Colours are the Okabe-Ito palette (readable with colour-vision deficiencies); every
figure also distinguishes raters or factor levels by marker or line style, so it prints in grey.

The diagnostic figures (individual trajectories, residuals, quantile-quantile plots) draw the
bounded data of :mod:`alliance.study.figures` (a sample of patients, a 2-D histogram beyond
2,000 rows, thinned quantile-quantile points), so they stay readable and quick for 100,000
sessions and more; their notes say where data were sampled, binned or thinned.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib as mpl
import numpy as np
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from alliance.apa import integer
from alliance.report.figure_files import FigureFile
from alliance.report.labels import humanize, rater_label, time_coding_label
from alliance.report.results_reader import (
    MALFORMED,
    confidence_level,
    factor_names,
    lookup,
    raters,
)

RATER_COLOURS = {"patient": "#0072B2", "therapist": "#D55E00"}
OTHER_COLOURS = ("#009E73", "#CC79A7", "#E69F00", "#56B4E9")
RATER_MARKERS = {"patient": "o", "therapist": "s"}
#: One colour and marker per sampled therapist of the individual trajectories (Okabe-Ito, grey
#: instead of its yellow, which is unreadable on white).
THERAPIST_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9",
                     "#000000", "#999999")
THERAPIST_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
#: Random-effect quantities of the quantile-quantile figure, in order, with their labels.
RANDOM_EFFECTS = {"patient_intercept": "Patient intercept", "patient_slope": "Patient slope",
                  "therapist_intercept": "Therapist intercept",
                  "therapist_slope": "Therapist slope"}
#: The sections of the results the figures read; a study run hands just these to its figure
#: worker before the later steps (:func:`alliance.study.pipeline.run_study`).
SECTIONS = ("meta", "efa", "figures")
LEVEL_STYLES = {-1: ("--", "\u22121 SD"), 0: ("-", "Mean"), 1: (":", "+1 SD")}
WIDTH = 7.5  # inches: the width of the report's text column at 120 dpi
DPI = 120

#: rcParams of every figure (typed Any: recent matplotlib types rc keys as a Literal).
STYLE: Any = {
    "font.size": 9.0,
    "axes.titlesize": 10.0,
    "axes.labelsize": 9.0,
    "legend.fontsize": 8.0,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#e3e3e3",
    "grid.linewidth": 0.6,
    "svg.fonttype": "none",
    "svg.hashsalt": "alliance-report",
}


@dataclass(frozen=True)
class ReportFigure:
    """A numbered figure: file stem, title, caption, and the figure or why it is missing."""

    key: str
    title: str
    caption: str
    figure: Figure | None
    unavailable: str = ""


def colour(rater: str, index: int) -> str:
    """The rater's colour; other raters take the rest of the palette in order."""
    return RATER_COLOURS.get(rater, OTHER_COLOURS[index % len(OTHER_COLOURS)])


def marker(rater: str) -> str:
    return RATER_MARKERS.get(rater, "D")


def rater_order(results: Mapping[str, Any], present: Iterable[str]) -> list[str]:
    """The raters of ``present`` in the results' order of raters; ``present``'s own order when
    the results name none of them."""
    present = list(present)
    return [rater for rater in raters(results) if rater in present] or present


def new_figure(
    height: float, rows: int = 1, columns: int = 1, **kwargs: Any
) -> tuple[Figure, np.ndarray]:
    """A figure of the report's width with a ``rows x columns`` grid of axes (always 2-D)."""
    figure = Figure(figsize=(WIDTH, height), dpi=DPI, layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False, **kwargs)
    return figure, axes


def scree_figure(results: Mapping[str, Any]) -> ReportFigure:
    """Observed eigenvalues against those of random data (parallel analysis)."""
    key, title = "scree", "Scree Plot With Parallel Analysis"
    efa = lookup(results, "efa") or {}
    parallel = efa.get("parallel_analysis") or {}
    observed = parallel.get("observed") or efa.get("eigenvalues")
    if not observed:
        return ReportFigure(key, title, "", None, "No eigenvalues in these results.")
    figure, axes = new_figure(3.2)
    ax: Axes = axes[0, 0]
    positions = np.arange(1, len(observed) + 1)
    ax.plot(positions, observed, "-o", color="black", markersize=4, label="Observed data")
    if parallel.get("simulated_mean"):
        ax.plot(positions, parallel["simulated_mean"], "--", color="#777777",
                label="Random data, mean")
    if parallel.get("simulated_quantile"):
        ax.plot(positions, parallel["simulated_quantile"], ":", color="#777777", linewidth=1.5,
                label="Random data, 95th percentile")
    suggested = parallel.get("suggested_factors")
    if suggested:
        ax.plot(positions[:suggested], np.asarray(observed)[:suggested], "o", markersize=8,
                markerfacecolor="none", markeredgecolor=RATER_COLOURS["patient"],
                label=f"Retained ({suggested})")
    ax.axhline(0, color="#999999", linewidth=0.6)
    ax.set_xticks(positions)
    ax.set_xlabel("Factor number")
    ax.set_ylabel("Eigenvalue")
    ax.legend(loc="upper right")
    caption = (
        "Eigenvalues of the factor solution for the observed items and for random normal data of "
        "the same size; factors whose eigenvalue exceeds the 95th percentile of the random data "
        "are retained."
        if parallel
        else "Eigenvalues of the item correlation matrix (no parallel analysis recorded)."
    )
    return ReportFigure(key, title, caption, figure)


def observed_figure(results: Mapping[str, Any]) -> ReportFigure:
    """Mean alliance (plus or minus one standard error) at each assessed session, per rater."""
    key, title = "observed-trajectories", "Observed Alliance by Session"
    rows = lookup(results, "figures", "observed_trajectories")
    if not rows:
        return ReportFigure(key, title, "", None, "No observed trajectories in these results.")
    rater_of = [row["rater"] for row in rows]
    session, mean, n = (_column(rows, name) for name in ("session", "mean", "n"))
    se = _column(rows, "sd") / np.sqrt(n)  # a None SD (one rating) -> NaN: no error bar
    figure, axes = new_figure(3.2)
    ax: Axes = axes[0, 0]
    names = list(dict.fromkeys(rater_of))
    span = float(session.max() - session.min()) or 1.0
    for index, rater in enumerate(names):
        part = _rows_of(rater_of, rater, session)
        dodge = (index - (len(names) - 1) / 2) * 0.008 * span
        ax.errorbar(session[part] + dodge, mean[part], yerr=se[part], fmt="-" + marker(rater),
                    color=colour(rater, index), markersize=4, capsize=2.5, linewidth=1.2,
                    label=rater_label(rater))
    ax.set_xticks(np.unique(session))
    ax.set_xlabel("Session")
    ax.set_ylabel("Alliance (mean \u00b1 SE)")
    ax.legend(loc="lower right")
    caption = (
        "Mean alliance rating at each assessed session with one standard error either side; "
        f"administrations per point: {int(n.min())} to {int(n.max())}."
    )
    return ReportFigure(key, title, caption, figure)


def implied_figure(results: Mapping[str, Any]) -> ReportFigure:
    """Model-implied alliance at -1 SD, the mean and +1 SD of each factor, per rater."""
    key, title = "implied-trajectories", "Model-Implied Alliance Trajectories by Therapist Factor"
    rows = lookup(results, "figures", "implied_trajectories")
    if not rows:
        return ReportFigure(key, title, "", None, "No model-implied trajectories in these results.")
    keys = [(row["rater"], row["factor"], row["factor_level"]) for row in rows]
    session, alliance = _column(rows, "session"), _column(rows, "alliance")
    names = rater_order(results, dict.fromkeys(key[0] for key in keys))
    listed = list(dict.fromkeys(key[1] for key in keys))
    factors = [name for name in factor_names(results) if name in listed] or listed
    figure, axes = new_figure(2.6 * len(names) + 0.3, len(names), len(factors), sharex=True,
                              sharey=True)
    for row, rater in enumerate(names):
        for column, factor in enumerate(factors):
            ax: Axes = axes[row, column]
            for level, (style, label) in LEVEL_STYLES.items():
                line = _rows_of(keys, (rater, factor, level), session)
                if len(line):
                    ax.plot(session[line], alliance[line], style, color=colour(rater, row),
                            linewidth=1.6, label=label)
            ax.set_title(f"{rater_label(rater)} \u2014 {humanize(factor)}")
            if row == len(names) - 1:
                ax.set_xlabel("Session")
            if column == 0:
                ax.set_ylabel("Alliance")
    axes[0, 0].legend(loc="lower right", title="Factor score")
    caption = (
        "Alliance implied by each rater's growth model for a therapist 1 SD below the mean, at "
        "the mean and 1 SD above the mean of one factor, the other factor held at its mean; "
        f"{time_coding_label(lookup(results, 'meta', 'time_coding'))}."
    )
    return ReportFigure(key, title, caption, figure)


def forest_figure(results: Mapping[str, Any]) -> ReportFigure:
    """Effects of each therapist factor on alliance level and growth with their confidence
    intervals (at ``[models] confidence``), per rater."""
    key, title = "forest", "Therapist-Factor Effects on Alliance Level and Growth"
    rows = lookup(results, "figures", "forest")
    if not rows:
        return ReportFigure(key, title, "", None, "No factor effects in these results.")
    outcomes = [name for name in ("level", "growth") if any(row["outcome"] == name
                                                           for row in rows)]
    names = list(dict.fromkeys(row["rater"] for row in rows))
    listed = list(dict.fromkeys(row["factor"] for row in rows))
    factors = [name for name in factor_names(results) if name in listed] or listed
    figure, axes = new_figure(1.0 + 0.55 * len(factors) * len(outcomes) + 0.6 * len(outcomes),
                              len(outcomes), 1, sharey=True)
    positions = np.arange(len(factors))[::-1].astype(float)
    for row, outcome in enumerate(outcomes):
        ax: Axes = axes[row, 0]
        for index, rater in enumerate(names):
            # the last row of each factor, NaN where a factor has none
            found = {row["factor"]: row for row in rows
                     if row["outcome"] == outcome and row["rater"] == rater}
            part = [found.get(factor, {}) for factor in factors]
            offset = (index - (len(names) - 1) / 2) * 0.22
            estimate, low, high = (_column(part, name) for name in ("estimate", "ci_low",
                                                                    "ci_high"))
            error = np.vstack([estimate - low, high - estimate])
            ax.errorbar(estimate, positions + offset, xerr=error, fmt=marker(rater),
                        color=colour(rater, index), capsize=3, markersize=5,
                        label=rater_label(rater))
        ax.axvline(0, color="#555555", linewidth=0.8, linestyle="--")
        ax.set_yticks(positions, [humanize(name) for name in factors])
        ax.set_title("Effect on alliance " + outcome)
        ax.set_xlabel("Estimate per SD of the factor" + (" per unit of time" if outcome == "growth"
                                                          else ""))
        ax.grid(axis="y", visible=False)
    axes[0, 0].legend(loc="best")
    level = confidence_level(results)
    caption = (
        f"Estimates with {100 * (level or 0.95):g}% confidence intervals from each rater's growth "
        "model: effects on the alliance level (at time 0) and on its growth; the dashed line "
        "marks no effect."
    )
    return ReportFigure(key, title, caption, figure)


def caterpillar_figure(results: Mapping[str, Any]) -> ReportFigure:
    """Therapist random intercepts, ranked, with 95% intervals, per rater (no identifiers)."""
    key, title = "caterpillar", "Therapist Random Intercepts"
    data = lookup(results, "figures", "caterpillar")
    if not data:
        return ReportFigure(key, title, "", None, "No therapist random effects in these results.")
    names = rater_order(results, data)
    figure, axes = new_figure(3.0, 1, len(names), sharey=True)
    for index, rater in enumerate(names):
        ax: Axes = axes[0, index]
        rank = _column(data[rater], "rank")
        order = np.argsort(rank, kind="stable")
        estimate, low, high = (_column(data[rater], name)[order]
                               for name in ("estimate", "ci_low", "ci_high"))
        error = np.vstack([estimate - low, high - estimate])
        ax.errorbar(rank[order], estimate, yerr=error, fmt=marker(rater),
                    color=colour(rater, index), markersize=2.5, elinewidth=0.7, capsize=0)
        ax.axhline(0, color="#555555", linewidth=0.8, linestyle="--")
        ax.set_title(rater_label(rater))
        ax.set_xlabel("Therapist (ranked)")
        if index == 0:
            ax.set_ylabel("Deviation in alliance intercept")
    caption = (
        "Each therapist's random intercept (conditional mode: the therapist's deviation from the "
        "average alliance level) with its interval, per rater, ranked from lowest to highest; "
        "therapists are not identified."
    )
    return ReportFigure(key, title, caption, figure)


def individual_figure(results: Mapping[str, Any]) -> ReportFigure:
    """Observed trajectories of a random sample of patients per rater, coloured by therapist."""
    key, title = "individual-trajectories", "Individual Alliance Trajectories"
    data = lookup(results, "figures", "individual_trajectories")
    if not data:
        return ReportFigure(key, title, "", None,
                            "No individual trajectories in these results.")
    names = rater_order(results, data)
    figure, axes = new_figure(3.2, 1, len(names), sharey=True)
    for index, rater in enumerate(names):
        ax: Axes = axes[0, index]
        points = data[rater]["points"]
        therapist, patient, session, alliance = (
            _column(points, name) for name in ("therapist", "patient", "session", "alliance"))
        # one line per patient, patients in the order of (therapist, patient)
        order = np.lexsort((session, patient, therapist))
        pairs = np.column_stack([therapist[order], patient[order]])
        starts = np.flatnonzero(np.r_[True, np.any(pairs[1:] != pairs[:-1], axis=1)])
        for line in np.split(order, starts[1:]):
            position = (int(therapist[line[0]]) - 1) % len(THERAPIST_COLOURS)
            ax.plot(session[line], alliance[line], "-",
                    marker=THERAPIST_MARKERS[position], color=THERAPIST_COLOURS[position],
                    markersize=3, linewidth=0.9, alpha=0.85)
        ax.set_title(rater_label(rater))
        ax.set_xlabel("Session")
        if index == 0:
            ax.set_ylabel("Alliance")
    counts = "; ".join(
        f"{rater_label(rater).lower()}: {integer(data[rater]['sampled_patients'])} of "
        f"{integer(data[rater]['n_patients'])} patients, of "
        f"{integer(data[rater]['sampled_therapists'])} of "
        f"{integer(data[rater]['n_therapists'])} therapists"
        for rater in names
    )
    seed = data[names[0]].get("seed")
    caption = (
        "Observed alliance of a random sample of patients, one line per patient, one colour and "
        "marker per therapist (therapists and patients are not identified). Therapists were "
        "drawn at random, then patients among theirs"
        + (f" (seed {seed}, reproducible)" if seed is not None else "") + f"; {counts}."
    )
    return ReportFigure(key, title, caption, figure)


def residual_figure(results: Mapping[str, Any]) -> ReportFigure:
    """Residuals against fitted values and a normal Q-Q plot of the residuals, per rater."""
    key, title = "residual-diagnostics", "Residual Diagnostics of the Growth Models"
    data = lookup(results, "figures", "residual_diagnostics")
    if not data:
        return ReportFigure(key, title, "", None, "No residual diagnostics in these results.")
    names = rater_order(results, data)
    figure, axes = new_figure(2.9 * len(names) + 0.3, len(names), 2)
    binned, thinned = [], []
    for row, rater in enumerate(names):
        diagnostics = data[rater]
        scatter = diagnostics["residuals"]
        ax: Axes = axes[row, 0]
        if scatter["kind"] == "histogram":
            counts = np.asarray(scatter["counts"], dtype=float).T
            ax.pcolormesh(scatter["fitted_edges"], scatter["residual_edges"],
                          np.ma.masked_equal(counts, 0), cmap="Greys",
                          norm=mpl.colors.LogNorm(vmin=1, vmax=max(float(counts.max()), 2.0)),
                          rasterized=True)
            binned.append(rater)
        else:
            ax.scatter(scatter["fitted"], scatter["residual"], s=5, color=colour(rater, row),
                       alpha=0.35, linewidths=0, marker=marker(rater), rasterized=True)
        trend = scatter["trend"]
        ax.plot(trend["fitted"], trend["residual"], "-", color="black", linewidth=1.3,
                label="Mean residual (binned)",
                path_effects=[patheffects.withStroke(linewidth=3.0, foreground="white")])
        ax.axhline(0, color="#555555", linewidth=0.8, linestyle="--")
        ax.set_title(f"{rater_label(rater)}\nResiduals against fitted values")
        ax.set_xlabel("Fitted value")
        ax.set_ylabel("Residual")
        residual = next(entry for entry in diagnostics["qq"] if entry["quantity"] == "residual")
        _qq_panel(axes[row, 1], residual, colour(rater, row), marker(rater))
        axes[row, 1].set_title(f"{rater_label(rater)}\nNormal Q\u2013Q plot of the residuals")
        if residual["thinned"]:
            thinned.append(rater)
    axes[0, 0].legend(loc="upper right")
    caption = (
        "Conditional residuals (observed minus fitted, the fitted values including the "
        "patient's and therapist's random effects) of each rater's growth model: against the "
        "fitted values with the mean residual in bins of the fitted values (a flat line at 0: no "
        "misfit of the mean), and their quantiles against those of a normal distribution with "
        "the line through the quartiles (points on the line: normal residuals)."
        + _sampling_note(binned, "rows", "drawn as a 2-D histogram of all rows (grey: count, "
                                 "logarithmic) instead of points")
        + _sampling_note(thinned, "residuals", "thinned to the 100 smallest, the 100 largest and "
                                  "evenly spaced ranks between them, all on the full plot's "
                                  "curve")
    )
    return ReportFigure(key, title, caption, figure)


def random_effects_figure(results: Mapping[str, Any]) -> ReportFigure:
    """Normal Q-Q plots of the conditional modes of every random effect, per rater."""
    key, title = "random-effects-qq", "Normal Q\u2013Q Plots of the Random Effects"
    data = lookup(results, "figures", "residual_diagnostics")
    if not data:
        return ReportFigure(key, title, "", None, "No residual diagnostics in these results.")
    names = rater_order(results, data)
    quantities = [name for name in RANDOM_EFFECTS
                  if any(entry["quantity"] == name for rater in names
                         for entry in data[rater]["qq"])]
    if not quantities:
        return ReportFigure(key, title, "", None, "No random effects in these diagnostics.")
    figure, axes = new_figure(2.0 * len(names) + 0.4, len(names), len(quantities))
    thinned, zero = [], []
    for row, rater in enumerate(names):
        entries = {entry["quantity"]: entry for entry in data[rater]["qq"]}
        for column, quantity in enumerate(quantities):
            ax: Axes = axes[row, column]
            ax.set_title(f"{rater_label(rater)}\n{RANDOM_EFFECTS[quantity]}")
            entry = entries.get(quantity)
            if entry is None:
                ax.set_axis_off()
                continue
            _qq_panel(ax, entry, colour(rater, row), marker(rater))
            if entry["thinned"]:
                thinned.append(f"{rater_label(rater).lower()} {RANDOM_EFFECTS[quantity].lower()}")
            if not entry["variance"]:
                ax.text(0.5, 0.5, "variance estimated as 0", transform=ax.transAxes,
                        ha="center", va="center", fontsize=8, color="#555555")
                zero.append(f"{rater_label(rater).lower()} {RANDOM_EFFECTS[quantity].lower()}")
            if column > 0:
                ax.set_ylabel("")
    caption = (
        "Conditional modes of the random intercepts and time slopes of patients (within "
        "therapists) and of therapists in each rater's growth model, one point per patient or "
        "therapist, against the quantiles of a normal distribution, with the line through the "
        "quartiles. The modes are shrunk towards 0, so their spread is smaller than the "
        "estimated variance; a normal random effect gives points along the line."
        + (f" Variances estimated as 0 ({', '.join(zero)}): every mode is 0." if zero else "")
        + _sampling_note(thinned, "modes", "thinned to the 100 smallest, the 100 largest and "
                                  "evenly spaced ranks between them")
    )
    return ReportFigure(key, title, caption, figure)


def _column(rows: Iterable[Mapping[str, Any]], name: str) -> np.ndarray:
    """``name`` of each row as floats; NaN where it is missing or None."""
    return np.array([np.nan if row.get(name) is None else float(row[name]) for row in rows],
                    dtype=float)


def _rows_of(keys: list[Any], wanted: Any, order_by: np.ndarray) -> np.ndarray:
    """Indices of the rows whose key is ``wanted``, in the order of ``order_by``."""
    rows = np.array([index for index, key in enumerate(keys) if key == wanted], dtype=np.int64)
    return rows[np.argsort(order_by[rows], kind="stable")]


def _qq_panel(ax: Axes, entry: Mapping[str, Any], color: str, symbol: str) -> None:
    """Sample against normal quantiles, with the reference line through the quartiles."""
    theoretical = np.asarray(entry["theoretical"], dtype=float)
    ax.plot(theoretical, entry["sample"], symbol, color=color, markersize=2.5, alpha=0.6,
            markeredgewidth=0, rasterized=len(theoretical) > 500)
    line = entry["line"]
    ends = np.array([theoretical.min(), theoretical.max()]) if len(theoretical) else np.zeros(2)
    ax.plot(ends, line["intercept"] + line["slope"] * ends, "-", color="#555555",
            linewidth=0.9)
    ax.set_xlabel("Normal quantile")
    ax.set_ylabel("Sample quantile")


def _sampling_note(where: list[str], what: str, how: str) -> str:
    """`` With more than ... : ...`` naming where data were binned or thinned, or ''."""
    if not where:
        return ""
    return f" Where there are too many {what} to draw ({', '.join(where)}), they are {how}."


#: The figures of the report, in order of appearance.
BUILDERS: tuple[Callable[[Mapping[str, Any]], ReportFigure], ...] = (
    scree_figure,
    observed_figure,
    implied_figure,
    forest_figure,
    caterpillar_figure,
    individual_figure,
    residual_figure,
    random_effects_figure,
)


def build_figures(results: Mapping[str, Any]) -> list[ReportFigure]:
    """All figures in order; a malformed section gives a missing figure naming the error."""
    figures = []
    with mpl.rc_context(STYLE):
        for builder in BUILDERS:
            try:
                figures.append(builder(results))
            except MALFORMED as error:
                name = builder.__name__.removesuffix("_figure")
                figures.append(ReportFigure(
                    name, humanize(name), "", None,
                    f"This figure could not be drawn from the results ({type(error).__name__}: "
                    f"{error}); check that section against docs/results-schema.md.",
                ))
    return figures


def figure_bytes(figure: Figure, file_format: str) -> bytes:
    """The figure as PNG or SVG bytes, without creation dates (identical input, identical file).

    The first rendering places the axes (constrained layout); later renderings of the same
    figure keep those positions instead of solving the layout again, which took about 40% of
    the time of each further rendering (a figure is written as PNG and SVG).
    """
    buffer = io.BytesIO()
    metadata: dict[str, Any] = {"Software": None} if file_format == "png" else {"Date": None}
    with mpl.rc_context(STYLE):
        figure.savefig(buffer, format=file_format, dpi=DPI, metadata=metadata)
    figure.set_layout_engine("none")
    return buffer.getvalue()


def write_figures(results: Mapping[str, Any], folder: Path) -> list[FigureFile]:
    """Draw every figure of ``results`` into ``folder`` (created if missing) as PNG and SVG.

    Returns the figures in the report's order; an unavailable one has no files.
    """
    folder.mkdir(exist_ok=True)
    written = []
    for figure in build_figures(results):
        if figure.figure is None:
            written.append(FigureFile(figure.key, figure.title, figure.caption, b"",
                                      figure.unavailable))
            continue
        png = figure_bytes(figure.figure, "png")
        (folder / f"{figure.key}.png").write_bytes(png)
        (folder / f"{figure.key}.svg").write_bytes(figure_bytes(figure.figure, "svg"))
        written.append(FigureFile(figure.key, figure.title, figure.caption, png))
    return written
