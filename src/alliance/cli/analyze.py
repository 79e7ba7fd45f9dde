"""``alliance analyze``: the study pipeline on the user's files, as a TOML configuration says."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from alliance.cli.common import DebugOption, reported_errors
from alliance.cli.replicate import OutOption, OverwriteOption, print_run, with_progress
from alliance.defaults import STUDY_OUT


def register(app: typer.Typer) -> None:
    """Add the ``analyze`` subcommand to ``app``."""
    app.command("analyze")(analyze_command)


def analyze_command(
    config: Annotated[
        Path | None,
        typer.Argument(help="The study configuration (TOML); see --example-config.",
                       show_default=False),
    ] = None,
    out: Annotated[Path, OutOption] = STUDY_OUT,
    overwrite: Annotated[bool, OverwriteOption] = False,
    example: Annotated[
        bool,
        typer.Option("--example-config",
                     help="Print an example configuration, every field explained, and exit."),
    ] = False,
    debug: bool = DebugOption,
) -> None:
    """Run the whole study on your own data files (CSV, Parquet, SPSS, Stata, Excel)."""
    if example:
        from alliance.study import example_config_text

        typer.echo(example_config_text(), nl=False)
        return
    if config is None:
        raise typer.BadParameter(
            "give the study configuration file (alliance analyze study.toml); "
            "`alliance analyze --example-config > study.toml` writes one to start from.",
            param_hint="CONFIG",
        )
    with reported_errors("analyze", debug):
        from alliance.app import analyze

        run = with_progress(lambda progress: analyze(config, out, overwrite, progress))
        print_run(run)
