"""``alliance efa``: exploratory factor analysis of questionnaire items from a data file."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from alliance.cli.common import (
    DebugOption,
    SheetOption,
    reported_errors,
    sheet_choice,
    source_name,
    stdout,
    write_json,
)
from alliance.defaults import FACTOR_ANALYSIS_SEED
from alliance.errors import DataError

if TYPE_CHECKING:
    from rich.table import Table

    from alliance.scales import EFAResult

#: Loadings at least this large (in absolute value) are shown in bold.
SALIENT = 0.3


class Method(StrEnum):
    minres = "minres"
    ml = "ml"
    pa = "pa"


class RotationChoice(StrEnum):
    none = "none"
    varimax = "varimax"
    quartimax = "quartimax"
    promax = "promax"
    oblimin = "oblimin"
    geomin = "geomin"


class MissingRule(StrEnum):
    pairwise = "pairwise"
    listwise = "listwise"


class CorrelationChoice(StrEnum):
    pearson = "pearson"
    polychoric = "polychoric"


def register(app: typer.Typer) -> None:
    """Add the ``efa`` subcommand to ``app``."""
    app.command("efa")(efa_command)


def efa_command(
    data: Annotated[
        Path,
        typer.Argument(
            help="Item responses, one row per respondent: .csv, .tsv, .parquet, .sav, .dta, .xlsx.",
            show_default=False,
        ),
    ],
    factors: Annotated[
        int, typer.Option("--factors", "-k", help="Number of factors.", show_default=False)
    ],
    method: Annotated[
        Method, typer.Option("--method", help="Extraction: minres, ml or pa (principal axis).")
    ] = Method.minres,
    rotation: Annotated[
        RotationChoice,
        typer.Option("--rotation", help="Rotation (oblique: promax, oblimin, geomin)."),
    ] = RotationChoice.oblimin,
    items: Annotated[
        str | None,
        typer.Option("--items", help="Comma-separated item columns (default: every column)."),
    ] = None,
    gamma: Annotated[float, typer.Option("--gamma", help="Oblimin gamma (0 = quartimin).")] = 0.0,
    missing: Annotated[
        MissingRule,
        typer.Option("--missing", help="pairwise: every available pair; listwise: complete rows."),
    ] = MissingRule.pairwise,
    correlation: Annotated[
        CorrelationChoice,
        typer.Option("--correlation", help="pearson, or polychoric for ordinal items."),
    ] = CorrelationChoice.pearson,
    starts: Annotated[
        int, typer.Option("--starts", help="Rotation starts: the identity plus random ones.")
    ] = 10,
    seed: Annotated[
        int, typer.Option("--seed", min=0,
                          help="Seed of the random starts and of parallel analysis.")
    ] = FACTOR_ANALYSIS_SEED,
    parallel_iter: Annotated[
        int,
        typer.Option(
            "--parallel-iter", help="Simulated data sets for parallel analysis (0: skip)."
        ),
    ] = 20,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Write the full result as JSON to this file.")
    ] = None,
    sheet: Annotated[str | None, SheetOption] = None,
    debug: bool = DebugOption,
) -> None:
    """Exploratory factor analysis: loadings, factor correlations, fit, parallel analysis."""
    with reported_errors("efa", debug):
        from alliance.io import read_table
        from alliance.io.output import check_file_output
        from alliance.scales import efa

        if json_path is not None:
            check_file_output(json_path, [data], "--json")
        chosen = None if items is None else [i.strip() for i in items.split(",") if i.strip()]
        frame = read_table(data, columns=chosen, sheet=sheet_choice(sheet))
        source = source_name(data, frame)
        try:
            result = efa(
                frame,
                factors,
                method=method.value,
                rotation=rotation.value,
                gamma=gamma,
                n_starts=starts,
                seed=seed,
                missing=missing.value,
                correlation=correlation.value,
                items=chosen,
                parallel=parallel_iter > 0,
                parallel_iter=max(parallel_iter, 1),
            )
        except DataError as error:
            raise DataError(f"{source}: {error}") from error
        if json_path is not None:
            write_json({"data": str(data), "sheet": frame.attrs.get("sheet"),
                        **result.to_dict()}, json_path)
        _print_result(result, source, json_path)


def _print_result(result: EFAResult, data: str, json_path: Path | None) -> None:
    rotation = result.rotation + (f" (gamma {result.gamma:g})" if result.gamma else "")
    stdout.print(
        f"[bold]Exploratory factor analysis[/] of {len(result.items)} items from {data}: "
        f"{result.method}, {rotation}, {result.correlation_kind} correlations",
        highlight=False,
    )
    stdout.print(
        f"Rows analysed: {result.n_obs}; excluded ({result.missing} missing-data rule): "
        f"{result.n_excluded}",
        highlight=False,
    )
    stdout.print(_loadings_table(result))
    if not result.fit_info.rotation_converged or not result.fit_info.extraction_converged:
        stdout.print("[bold yellow]Warning:[/] the solution did not converge.", highlight=False)
    if len(result.factors) > 1 and result.rotation in ("promax", "oblimin", "geomin"):
        stdout.print(_matrix_table("Factor correlations", result))
    stdout.print(_variance_table(result))
    fit = result.fit
    stdout.print(
        f"Fit: chi-square {fit.chi_square:.2f} on {fit.df:.0f} df (p = {fit.p:.3g}), "
        f"RMSEA {fit.rmsea:.3f} [{fit.rmsea_ci_low:.3f}, {fit.rmsea_ci_high:.3f}] "
        f"({fit.rmsea_level:.0%}), TLI {fit.tli:.3f}, BIC {fit.bic:.1f}, RMSR {fit.rms:.3f}",
        highlight=False,
    )
    if result.parallel is not None:
        pa = result.parallel
        stdout.print(
            f"Parallel analysis ({pa.n_iter} simulated data sets, {pa.quantile:.0%} quantile, "
            f"seed {pa.seed}): {pa.suggested_factors} factors, "
            f"{pa.suggested_components} components",
            highlight=False,
        )
    if json_path is not None:
        stdout.print(f"Result written to {json_path}", highlight=False)


def _loadings_table(result: EFAResult) -> Table:
    from rich.table import Table

    table = Table(title="Loadings (pattern matrix)", title_justify="left")
    table.add_column("item")
    for factor in result.factors:
        table.add_column(factor, justify="right")
    table.add_column("h2", justify="right")
    table.add_column("u2", justify="right")
    for i, item in enumerate(result.items):
        cells = [
            f"[bold]{value:.2f}[/]" if abs(value) >= SALIENT else f"[dim]{value:.2f}[/]"
            for value in result.pattern[i]
        ]
        table.add_row(item, *cells, f"{result.communality[i]:.2f}", f"{result.uniqueness[i]:.2f}")
    return table


def _matrix_table(title: str, result: EFAResult) -> Table:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    table.add_column("")
    for factor in result.factors:
        table.add_column(factor, justify="right")
    for i, factor in enumerate(result.factors):
        table.add_row(factor, *(f"{value:.2f}" for value in result.phi[i]))
    return table


def _variance_table(result: EFAResult) -> Table:
    from rich.table import Table

    frame = result.variance_explained
    table = Table(title="Variance accounted for", title_justify="left")
    table.add_column("factor")
    for heading in ("SS loadings", "proportion", "cumulative"):
        table.add_column(heading, justify="right")
    for factor, row in frame.iterrows():
        table.add_row(
            str(factor),
            f"{row['ss_loadings']:.2f}",
            f"{row['proportion_var']:.3f}",
            f"{row['cumulative_var']:.3f}",
        )
    return table
