"""``alliance power``: simulation power of therapist-level effects, with progress, tables, a figure."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from alliance.cli.common import (
    DebugOption,
    compile_kernels_first,
    help_paragraphs,
    progress_bar,
    reported_errors,
    stderr,
    stdout,
    write_json,
)
from alliance.defaults import POWER_SEED
from alliance.errors import SpecificationError

if TYPE_CHECKING:
    from rich.table import Table

    from alliance.power import PowerDesign, PowerResult

HELP = """Simulation-based power for therapist-level effects on the level and growth of the alliance.

Draws studies of the design from the three-level growth model, fits
alliance ~ time * (predictors) + (time | therapist) + (time | therapist:patient) to each
by REML, and tests the effects (two-sided, Satterthwaite df by default). Reports power
with a 95% Monte Carlo CI beside the large-sample (z) power, the type I error under the
null, bias and CI coverage, and counts of singular and failed fits.

Without DESIGN the reference study is the base (70 therapists, 3.24 patients per therapist,
waves 3, 12, 20, 40; see alliance/power/example_design.toml); the options override single
values. --effect / --cohens-d replace the tested effects.

Examples:

  alliance power design.toml --replications 1000 --workers 2 --out run/

  alliance power --therapists 70 --patients-per-therapist 3.2 \\
    --waves 3,12,20,40 --effect "time:personal_burdens=-0.05" \\
    --icc-slope 0.05 --replications 500

  alliance power --grid therapists=30,50,70,100,150 --out curve/

With --out the replicates stream to DIR/replicates/ (Parquet); running the same command again
resumes an interrupted run; one run at a time writes to a folder. A run expected to take more
than a day, or more memory than half the machine's, is refused unless --allow-large.
Exit codes: 0 done, 4 invalid design, 130 interrupted (Ctrl-C), 143 stopped (SIGTERM).
"""

#: Files written to --out besides the replicates.
TABLE_FILE, JSON_FILE, FIGURE_FILE = "power.csv", "power.json", "power_curve.png"


def register(app: typer.Typer) -> None:
    """Add the ``power`` subcommand to ``app``."""
    app.command("power", help=help_paragraphs(HELP))(power_command)


def _assignments(values: list[str], option: str) -> dict[str, float]:
    out = {}
    for text in values:
        term, sep, number = text.partition("=")
        try:
            value = float(number)
        except ValueError:
            value = math.nan
        if not sep or not term.strip() or not math.isfinite(value):
            raise SpecificationError(
                f"{option} {text!r} is not TERM=VALUE; write e.g. "
                f"{option} \"time:personal_burdens=-0.05\"."
            )
        out[term.strip()] = value
    return out


def _numbers(text: str, option: str) -> list[float]:
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError as error:
        raise SpecificationError(
            f"{option} {text!r} is not a comma-separated list of numbers, e.g. 3,12,20,40."
        ) from error
    return [int(v) if v.is_integer() else v for v in values]


def _with_effects(base: PowerDesign, effects: dict[str, float], ds: dict[str, float]) -> PowerDesign:
    """``base`` testing only the given effects; predictors not named by them are removed."""
    import numpy as np

    from alliance.power import PowerDesign
    from alliance.power.effects import parse_term

    data = base.to_dict()
    names: list[str] = []
    for term in [*effects, *ds]:
        name = parse_term(term, f"--effect {term}")[0]
        if name not in names:
            names.append(name)
    declared = [p.name for p in base.predictors]
    kept = [n for n in declared if n in names] + [n for n in names if n not in declared]
    predictors: dict[str, Any] = {n: data["predictors"].get(n, {}) for n in kept}
    if base.predictor_correlation:
        old = np.asarray(base.predictor_correlation)
        new = np.eye(len(kept))
        for i, a in enumerate(kept):
            for j, b in enumerate(kept):
                if a in declared and b in declared:
                    new[i, j] = old[declared.index(a), declared.index(b)]
        if len(kept) > 1:
            predictors["correlation"] = new.tolist()
    data.update(predictors=predictors, effects=effects, cohens_d=ds)
    return PowerDesign.from_dict(data)


def build_design(design_file: Path | None, overrides: dict[str, Any],
                 effects: dict[str, float], ds: dict[str, float]) -> PowerDesign:
    """The design file (or the reference design) with the command-line values applied."""
    from alliance.power import PowerDesign

    base = PowerDesign.reference() if design_file is None else PowerDesign.from_toml(design_file)
    if effects or ds:
        base = _with_effects(base, effects, ds)
    overrides = {key: value for key, value in overrides.items() if value not in (None, {})}
    return base.updated(overrides) if overrides else base


def power_command(
    design: Annotated[Path | None, typer.Argument(
        help="TOML design file (see alliance/power/example_design.toml); default: the reference "
        "study.", show_default=False)] = None,
    replications: Annotated[int, typer.Option(
        "--replications", "-r", help="Simulated studies per grid point.")] = 1000,
    null_replications: Annotated[int, typer.Option(
        "--null-replications", help="Also simulate and fit this many studies with the effects "
        "set to 0 (a check: the type I error is exact from the replications already, through "
        "the invariance of REML to the fixed effects).")] = 0,
    workers: Annotated[int | None, typer.Option(
        "--workers", "-w", help="Local worker processes (default: all cores).",
        show_default=False)] = None,
    scheduler: Annotated[str | None, typer.Option(
        "--scheduler", help="Dask scheduler address, e.g. tcp://host:8786 (instead of local "
        "processes).", show_default=False)] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Run folder: replicates (Parquet, resumable), power.csv, power.json "
        "and, with --grid, power_curve.png.", show_default=False)] = None,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of every random number.")] = POWER_SEED,
    therapists: Annotated[int | None, typer.Option("--therapists", show_default=False,
                                                   help="Number of therapists.")] = None,
    patients: Annotated[float | None, typer.Option(
        "--patients-per-therapist", show_default=False,
        help="Mean patients per therapist (a whole number for a fixed caseload).")] = None,
    caseload: Annotated[str | None, typer.Option(
        "--caseload", show_default=False,
        help="fixed, poisson or negative_binomial (zero-truncated).")] = None,
    dispersion: Annotated[float | None, typer.Option(
        "--dispersion", show_default=False, help="Size of the negative binomial.")] = None,
    waves: Annotated[str | None, typer.Option(
        "--waves", show_default=False, help="Sessions with a measurement, e.g. 3,12,20,40.")] = None,
    time_coding: Annotated[str | None, typer.Option(
        "--time", show_default=False, help="Time coding: log or linear.")] = None,
    dropout: Annotated[float | None, typer.Option(
        "--dropout", show_default=False, help="Dropout probability per wave.")] = None,
    effect: Annotated[list[str] | None, typer.Option(
        "--effect", "-e", show_default=False,
        help="Tested effect, raw: TERM=VALUE, e.g. time:personal_burdens=-0.05 (repeatable).")] = None,
    cohens_d: Annotated[list[str] | None, typer.Option(
        "--cohens-d", "-d", show_default=False,
        help="Tested effect as Cohen's d at the last wave (powerlmm), e.g. "
        "time:personal_burdens=-0.3 (repeatable).")] = None,
    icc_pre_subject: Annotated[float | None, typer.Option("--icc-pre-subject",
                                                          show_default=False)] = None,
    icc_pre_cluster: Annotated[float | None, typer.Option("--icc-pre-cluster",
                                                          show_default=False)] = None,
    icc_slope: Annotated[float | None, typer.Option("--icc-slope", show_default=False)] = None,
    var_ratio: Annotated[float | None, typer.Option("--var-ratio", show_default=False)] = None,
    alpha: Annotated[float | None, typer.Option("--alpha", show_default=False,
                                                help="Significance level.")] = None,
    df_method: Annotated[str | None, typer.Option(
        "--df-method", show_default=False, help="satterthwaite, containment, residual, kenward-roger or z.")] = None,
    grid: Annotated[str | None, typer.Option(
        "--grid", show_default=False,
        help="Power curve: PARAMETER=V1,V2,..., e.g. therapists=30,50,70,100,150.")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size",
                                            help="Replicates per scheduled task.")] = 25,
    json_path: Annotated[Path | None, typer.Option(
        "--json", help="Also write the results as JSON to this file.", show_default=False)] = None,
    allow_large: Annotated[bool, typer.Option(
        "--allow-large", help="Run even when the estimated time (over a day) or memory (over "
        "half the machine's) is too large; otherwise such a run is refused before it starts.")
    ] = False,
    debug: bool = DebugOption,
) -> None:
    interrupted = ("nothing was written" if out is None else
                   f"the finished batches are in {out}: run the same command to resume")
    with reported_errors("power", debug, interrupted):
        from alliance.io.output import check_file_output, refuse_inputs
        from alliance.power import Grid, power_analysis
        from alliance.power.model import random_effects_per_level
        from alliance.power.store import LOCK_FILE, REPLICATE_FOLDER, RUN_FILE

        if workers is not None and scheduler is not None:
            raise SpecificationError("give either --workers or --scheduler, not both.")
        inputs = [] if design is None else [design]
        if json_path is not None:
            check_file_output(json_path, inputs, "--json")
        if out is not None:
            # every file of a run folder: none of them may be an input
            out_files = (TABLE_FILE, JSON_FILE, FIGURE_FILE, RUN_FILE, LOCK_FILE, REPLICATE_FOLDER)
            refuse_inputs([out / name for name in out_files], inputs, "--out")
            if out.exists() and not out.is_dir():
                raise SpecificationError(f"--out {out} is a file; give the name of a folder.")
        sample = {"therapists": therapists, "patients_per_therapist": patients,
                  "caseload": caseload, "dispersion": dispersion}
        schedule = {"waves": _numbers(waves, "--waves") if waves else None, "time": time_coding,
                    "dropout": dropout}
        variance = {"icc_pre_subject": icc_pre_subject, "icc_pre_cluster": icc_pre_cluster,
                    "icc_slope": icc_slope, "var_ratio": var_ratio}
        overrides = {
            "sample": {k: v for k, v in sample.items() if v is not None},
            "schedule": {k: v for k, v in schedule.items() if v is not None},
            "variance": {k: v for k, v in variance.items() if v is not None},
            "alpha": alpha, "df_method": df_method,
        }
        chosen = build_design(design, overrides, _assignments(effect or [], "--effect"),
                              _assignments(cohens_d or [], "--cohens-d"))
        power_grid = None
        if grid:
            parameter, sep, values = grid.partition("=")
            if not sep:
                raise SpecificationError(
                    f"--grid {grid!r} is not PARAMETER=V1,V2,...; e.g. therapists=30,50,70."
                )
            power_grid = Grid(parameter.strip().replace("-", "_"), tuple(_numbers(values, "--grid")))
        _print_design(chosen, replications, null_replications, seed, workers, scheduler)
        compile_kernels_first(random_effects_per_level(chosen))
        with progress_bar("replications", stderr, remaining=True) as bar:
            job = bar.add_task("simulating", total=None)
            result = power_analysis(
                chosen, replicates=replications, null_replicates=null_replications,
                seed=seed, grid=power_grid, workers=workers, scheduler=scheduler,
                batch_size=batch_size, out=out, allow_large=allow_large,
                progress=lambda done, total: bar.update(job, completed=done, total=total),
            )
        _print_result(result)
        if out is not None:
            _write_outputs(result, out)
        if json_path is not None:
            write_json(result.to_dict(), json_path)


def _print_design(design: PowerDesign, replications: int, null: int, seed: int,
                  workers: int | None, scheduler: str | None) -> None:
    from alliance.power.model import model_formula

    caseload = design.caseload
    load = (f"{caseload.mean:g} patients each" if caseload.distribution == "fixed" else
            f"{caseload.mean:g} patients per therapist on average "
            f"({caseload.distribution.replace('_', ' ')}, truncated at 1)")
    schedule = design.schedule
    waves = ", ".join(f"{w:g}" for w in schedule.waves)
    lines = [
        f"[bold]Design[/]: {design.therapists} therapists, {load}; waves at sessions {waves} "
        f"(time {schedule.time}); dropout per wave "
        f"{', '.join(f'{p:.0%}' for p in schedule.dropout)}"
        + ("" if design.treatment is None else
           f"; treatments of median {design.treatment.median_sessions:g} sessions"),
        f"[bold]Model[/]: {model_formula(design)}; REML; tests: {design.df_method}, alpha "
        f"{design.alpha:g}",
        f"[bold]Run[/]: {replications} replicates"
        + (f" + {null} simulated under the null" if null else "") + f", seed {seed}, "
        + (f"Dask scheduler {scheduler}" if scheduler else
           f"{workers or 'all'} local worker(s)"),
    ]
    for line in lines:
        stdout.print(line, highlight=False)


def _with_ci(value: float, low: float, high: float) -> str:
    import numpy as np

    if not np.isfinite(value):
        return "–"
    return f"{value:.3f}" if not np.isfinite(low) else f"{value:.3f} ({low:.3f}–{high:.3f})"


def _table(title: str, columns: list[str], grid: str | None) -> Table:
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, title=title, title_justify="left")
    if grid is not None:
        columns = [grid.rpartition(".")[2], *columns]
    for name in columns:
        # the effects and the intervals have no space to wrap at: keep them whole
        table.add_column(name, justify="left" if name == "effect" else "right",
                         no_wrap=name == "effect" or "CI" in name)
    return table


def _print_result(result: PowerResult) -> None:
    import numpy as np

    grid = result.grid_parameter
    power = _table("Power (95% Monte Carlo CI) and large-sample z power",
                   ["effect", "true", "d", "power (95% CI)", "z power"], grid)
    checks = _table("Type I error, bias and coverage of the estimates",
                    ["effect", "type I (95% CI)", "bias", "coverage", "singular", "failed"], grid)
    disagree = []
    for row in result.table.to_dict(orient="records"):
        lead = [] if grid is None else [f"{row['grid_value']:g}"]
        power.add_row(
            *lead, row["term"], f"{row['true_value']:.4g}", f"{row['cohens_d']:+.2f}",
            _with_ci(row["power"], row["power_ci_low"], row["power_ci_high"]),
            f"{row['analytic_power']:.3f}",
        )
        checks.add_row(
            *lead, row["term"],
            _with_ci(row["type_i_error"], row["type_i_ci_low"], row["type_i_ci_high"]),
            f"{row['relative_bias']:+.1%}" if np.isfinite(row["relative_bias"])
            else f"{row['bias']:+.3g}",
            f"{row['coverage']:.3f}", f"{row['singular']}/{row['replicates']}",
            str(row["failed"]),
        )
        if not row["power_ci_low"] <= row["analytic_power"] <= row["power_ci_high"]:
            disagree.append(row)
    stdout.print(power)
    stdout.print(checks)
    for row in disagree:
        where = ("" if row['grid_value'] is None
                 else f" at {result.grid_parameter} = {row['grid_value']:g}")
        stdout.print(
            f"Note: for {row['term']}{where} the large-sample power "
            f"({row['analytic_power']:.3f}) is outside the simulated power's CI; with few "
            "therapists the z test's variance components and df are not yet reliable: trust "
            "the simulated power.",
            highlight=False,
        )
    stdout.print(
        f"Analytic power: {result.table['analytic_method'].iloc[0]}; type I error: "
        f"{result.table['type_i_method'].iloc[0]}. "
        f"{result.settings['resumed_replicates']} replicates resumed; {result.seconds:.1f} s.",
        highlight=False,
    )


def _write_outputs(result: PowerResult, out: Path) -> None:
    from alliance.io.output import atomic_file

    with atomic_file(out / TABLE_FILE, "--out") as temporary:
        result.table.to_csv(temporary, index=False)
    write_json(result.to_dict(), out / JSON_FILE, "--out")
    written = [TABLE_FILE, JSON_FILE]
    if result.grid_parameter is not None:
        with atomic_file(out / FIGURE_FILE, "--out") as temporary:
            _power_curve_figure(result, temporary)
        written.append(FIGURE_FILE)
    stdout.print(f"Written to {out}: replicates/ (Parquet), {', '.join(written)}",
                 highlight=False)


def _power_curve_figure(result: PowerResult, path: Path) -> None:
    """Simulated power (with 95% CI) and analytic power along the grid, one line per effect."""
    import matplotlib
    import pandas as pd

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6.5, 4.2))
    for index, term in enumerate(dict.fromkeys(result.table["term"])):
        curve = result.curve(term)
        x = pd.to_numeric(curve["grid_value"]).to_numpy(float)
        colour = f"C{index}"
        axes.errorbar(x, curve["power"], yerr=[curve["power"] - curve["power_ci_low"],
                                               curve["power_ci_high"] - curve["power"]],
                      marker="o", color=colour, capsize=3, label=f"{term} (simulated)")
        axes.plot(x, curve["analytic_power"], linestyle="--", color=colour,
                  label=f"{term} (large-sample z)")
    axes.axhline(0.8, color="grey", linewidth=0.8, linestyle=":")
    axes.set_xlabel(result.grid_parameter or "")
    axes.set_ylabel("power")
    axes.set_ylim(0, 1.02)
    axes.legend(fontsize=8, frameon=False)
    axes.set_title("Power curve", loc="left")
    figure.tight_layout()
    figure.savefig(path, dpi=150, format="png")
    plt.close(figure)

