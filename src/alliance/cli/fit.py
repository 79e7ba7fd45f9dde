"""``alliance fit``: fit a nested linear mixed model to a data file; print it, write it as JSON."""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from alliance.cli.common import (
    DebugOption,
    SheetOption,
    compiling_notice,
    help_paragraphs,
    reported_errors,
    sheet_choice,
    source_name,
    stderr,
    stdout,
    write_json,
)
from alliance.errors import DataError

if TYPE_CHECKING:
    import pandas as pd
    from rich.table import Table

    from alliance.mixed import MixedResult

HELP = """Fit a linear mixed model for nested data (sessions in patients in therapists).

The formula uses lme4's syntax: RESPONSE ~ FIXED + (EFFECTS | GROUP). Fixed terms combine
with + and interact with * (main effects and interaction) or : (interaction only);
I(x^2) and log(x) transform a column. Random effects are terms in parentheses:

  (1 | g): a random intercept for each level of g;

  (time | g): correlated random intercept and slope of time;

  (x || g): the same terms, uncorrelated;

  (1 | g1/g2): g2 nested in g1, i.e. (1 | g1) + (1 | g1:g2).

Example: wai ~ time * (burdens + satisfactions) + (time | therapist/patient)

Rows with a missing value in a used column are excluded and counted. Crossed (non-nested)
grouping factors are not supported. Exit codes: 0 fitted, 3 data error, 4 specification error.
"""


def register(app: typer.Typer) -> None:
    """Add the ``fit`` subcommand to ``app``."""
    app.command("fit", help=help_paragraphs(HELP))(fit_command)


def fit_command(
    data: Annotated[
        Path,
        typer.Argument(
            help="Data file, one row per observation: .csv, .tsv, .parquet, SPSS .sav, "
            "Stata .dta or Excel .xlsx.",
            show_default=False,
        ),
    ],
    formula: Annotated[
        str,
        typer.Option(
            "--formula", "-f",
            help="Model formula in lme4 syntax, e.g. "
            "'wai ~ time * burdens + (time | therapist/patient)'.",
            show_default=False,
        ),
    ],
    ml: Annotated[
        bool, typer.Option("--ml", help="Maximum likelihood instead of REML (the default).")
    ] = False,
    df: Annotated[
        str,
        typer.Option(
            "--df",
            metavar="METHOD",
            help="Denominator df of the fixed-effect t tests: satterthwaite (as lmerTest), "
            "containment (as HLM), residual (n - p) or kenward-roger (as pbkrtest: adjusted "
            "SEs and df; REML only).",
        ),
    ] = "satterthwaite",
    robust: Annotated[
        str | None,
        typer.Option(
            "--robust",
            metavar="TYPE",
            help="Cluster-robust SEs: cr2 (as clubSandwich) with Satterthwaite "
            "(Bell-McCaffrey) df, clustered by the outermost grouping factor or --cluster.",
            show_default=False,
        ),
    ] = None,
    cluster: Annotated[
        str | None,
        typer.Option(
            "--cluster",
            help="With --robust: the column whose values are the independent clusters "
            "(each must hold whole groups of the outermost grouping factor).",
            show_default=False,
        ),
    ] = None,
    residual_groups: Annotated[
        str | None,
        typer.Option(
            "--residual-groups",
            help="Column whose levels each get their own residual variance (nlme's varIdent).",
        ),
    ] = None,
    json_path: Annotated[
        Path | None,
        typer.Option("--json", help="Write the results to this JSON file."),
    ] = None,
    sheet: Annotated[str | None, SheetOption] = None,
    debug: bool = DebugOption,
) -> None:
    with reported_errors("fit", debug):
        from alliance.io import read_table
        from alliance.io.output import check_file_output
        from alliance.mixed import build_spec, fit_spec
        from alliance.mixed.fit import check_inference_options
        from alliance.mixed.marginal import column_clustering

        check_inference_options(df, reml=not ml, robust=robust, cluster=cluster)

        if json_path is not None:
            check_file_output(json_path, [data], "--json")
        frame = read_table(data, sheet=sheet_choice(sheet))
        source = source_name(data, frame)
        with warnings.catch_warnings():
            # every warning of the fit is also in result.warnings, printed below
            warnings.simplefilter("ignore")
            try:
                # the model is checked before the notice: a mistake in the data or the
                # formula is reported at once, not after compiling the kernels
                began = time.perf_counter()
                spec = build_spec(formula, frame, residual_groups=residual_groups)
                clustering = None if cluster is None else column_clustering(spec, frame, cluster)
                with compiling_notice([level.q for level in spec.levels]):
                    result = fit_spec(spec, reml=not ml, df_method=df, began=began,
                                      robust=robust, clustering=clustering)
            except DataError as error:
                raise DataError(f"{source}: {error}") from error
            # the fixed-effects table's own warnings (Kenward-Roger at a boundary fit) are
            # in result.warnings too
            _print_result(result, source)
        if json_path is not None:
            write_json(result.to_dict(), json_path)
            stdout.print(f"Results written to {json_path}", highlight=False)
        for note in result.warnings:
            stderr.print(f"[bold yellow]Warning:[/] {_escape(note)}", highlight=False)


def _escape(text: str) -> str:
    return text.replace("[", r"\[")


def _print_result(result: MixedResult, data: str) -> None:
    from alliance.mixed.display import r_squared_line

    method = "REML" if result.reml else "maximum likelihood"
    criterion = "REML criterion" if result.reml else "deviance"
    groups = ", ".join(f"{name} {count}" for name, count in result.groups.items())
    lines = [
        f"[bold]Linear mixed model[/] fit by {method} ({result.df_method} df)",
        f"Formula: {_escape(result.spec.formula.formula)}",
        f"Data: {_escape(data)}: {result.n_obs} observations; groups: {_escape(groups)}",
        f"{criterion} {result.deviance:.4f}, logLik {result.loglik:.4f}, "
        f"AIC {result.aic:.4f}, BIC {result.bic:.4f}",
        f"Fixed-effect tests: {_escape(result.inference_method)}",
        r_squared_line(result),
    ]
    if result.n_dropped:
        lines.append(f"Excluded for missing values: {result.n_dropped} rows")
    for line in lines:
        stdout.print(line, highlight=False)
    stdout.print(_random_table(result.random_effects))
    ratios = _residual_ratios(result)
    if ratios:
        stdout.print(ratios, highlight=False)
    stdout.print(_fixed_table(result.fixed_effects))
    status = "converged" if result.converged else "[bold red]did not converge[/]"
    stdout.print(
        f"Optimizer {status} after {result.fit_info.n_evaluations} evaluations "
        f"in {result.fit_seconds:.2f} s",
        highlight=False,
    )


def _residual_ratios(result: MixedResult) -> str:
    """The residual SD of each ``--residual-groups`` stratum relative to the first, or ''."""
    from alliance.mixed.display import number

    ratios = result.residual_sd_ratios
    if len(ratios) < 2:
        return ""
    reference = next(iter(ratios))
    values = ", ".join(f"{_escape(name)} {number(ratio)}" for name, ratio in ratios.items())
    return (f"Residual SD ratios by {_escape(str(result.spec.strata_column))} "
            f"(varIdent, relative to {_escape(reference)}): {values}")


def _random_table(random: pd.DataFrame) -> Table:
    import pandas as pd
    from rich import box
    from rich.table import Table

    from alliance.mixed.display import number

    table = Table(title="Random effects", title_justify="left", box=box.SIMPLE)
    for heading in ("group", "term", "variance", "sd / correlation"):
        table.add_column(heading, justify="left" if heading in ("group", "term") else "right",
                         no_wrap=True)
    for row in random.to_dict(orient="records"):
        term1, term2 = row["term1"], row["term2"]
        if pd.isna(term2):
            name = "" if pd.isna(term1) else str(term1)
            table.add_row(str(row["group"]), name, number(row["vcov"]), number(row["sdcor"]))
        else:
            table.add_row(str(row["group"]), f"corr({term1}, {term2})", "",
                          number(row["sdcor"], 3))
    return table


def _fixed_table(fixed: pd.DataFrame) -> Table:
    from rich import box
    from rich.table import Table

    from alliance.mixed.display import number, p_value, statistic

    table = Table(title="Fixed effects", title_justify="left", box=box.SIMPLE)
    for heading in ("term", "estimate", "SE", "df", "t", "p"):
        table.add_column(heading, justify="left" if heading == "term" else "right",
                         no_wrap=True)
    table.add_column("95% CI", justify="right")
    for row in fixed.to_dict(orient="records"):
        table.add_row(
            str(row["term"]), number(row["estimate"]), number(row["std_error"]),
            number(row["df"], 2), statistic(row["t"]), p_value(float(row["p"])),
            f"[{number(row['ci_low'])}, {number(row['ci_high'])}]",
        )
    return table
