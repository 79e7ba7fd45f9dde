"""``alliance replicate``: the whole study on the embedded simulated study, into a new folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from alliance.cli.common import DebugOption, reported_errors, stdout
from alliance.defaults import SIMULATION_SEED, STUDY_OUT

if TYPE_CHECKING:
    from alliance.app import StudyRun

OutOption = typer.Option(
    "--out", "-o",
    help="New folder for report.html, results.json, figures/, tables/ (and data/); an "
    "existing non-empty folder is refused unless --overwrite.",
)
OverwriteOption = typer.Option(
    "--overwrite", help="Replace an earlier output folder of alliance (never any other folder, "
    "never one that holds input files)."
)


def register(app: typer.Typer) -> None:
    """Add the ``replicate`` subcommand to ``app``."""
    app.command("replicate")(replicate_command)


def replicate_command(
    out: Annotated[Path, OutOption] = STUDY_OUT,
    seed: Annotated[
        int, typer.Option("--seed", min=0, help="Seed of the simulated study and of the analysis.")
    ] = SIMULATION_SEED,
    overwrite: Annotated[bool, OverwriteOption] = False,
    debug: bool = DebugOption,
) -> None:
    """Replicate Nissen-Lie et al. (2013) on a simulated study with known truth."""
    with reported_errors("replicate", debug):
        from alliance.app import replicate

        run = with_progress(lambda progress: replicate(out, seed, overwrite, progress))
        print_run(run)


def with_progress(task: Callable[[Callable[[str, int, int], None]], StudyRun]) -> StudyRun:
    """Run ``task`` with a rich progress bar fed by the pipeline's progress callback: the step,
    and how many of the pipeline's steps are done (``3/9 steps``).

    Where the mixed-model kernels are not yet compiled on this machine, they are compiled when
    the pipeline reaches its first model-fitting step, after every check of the configuration
    and the data, with the notice as the bar's description (its clock keeps running). Freed
    large arrays go back to the system at once, and the objects alive at each step leave the
    garbage collector's rounds (:mod:`alliance.app.memory`).
    """
    from alliance.app.memory import freeze_survivors, return_large_blocks_promptly
    from alliance.cli.common import COMPILING, MAY_COMPILE, progress_bar
    from alliance.mixed.compile_cache import GROWTH_MODEL_Q, compile_kernels, kernels_cached
    from alliance.study.pipeline import FIRST_FITTING_STEP, STEPS

    return_large_blocks_promptly()
    with progress_bar("steps", stdout) as bar:
        handle = bar.add_task("Starting", total=len(STEPS))

        def update(description: str, completed: int, total: int) -> None:
            freeze_survivors()
            if description == FIRST_FITTING_STEP:
                # the growth models' kernels, and those of every other model (null models
                # with random intercepts, the joint model)
                for q_per_level in (GROWTH_MODEL_Q, (1, 1)):
                    cached = kernels_cached(q_per_level)
                    if not cached:
                        notice = COMPILING if cached is False else MAY_COMPILE
                        bar.update(handle, description=notice, completed=completed,
                                   total=total)
                        compile_kernels(q_per_level)
            bar.update(handle, description=description, completed=completed, total=total)

        return task(update)


def print_run(run: StudyRun) -> None:
    """Where the results are, and the findings."""
    folder = run.folder
    stdout.print(f"[bold]Study written to {folder}[/]", highlight=False)
    stdout.print(f"Report: {folder / 'report.html'}; its tables for Word: "
                 f"{folder / 'report.docx'}", highlight=False)
    stdout.print(f"Data the models used: {folder / 'data' / 'analysis.csv'}", highlight=False)
    stdout.print("[bold]Findings[/]")
    for sentence in run.results.findings:
        stdout.print(f"• {sentence}", highlight=False)
