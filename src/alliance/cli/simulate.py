"""``alliance simulate``: write a synthetic study with known truth to a new folder."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from alliance.cli.common import DebugOption, reported_errors, stdout
from alliance.defaults import SIMULATION_SEED

if TYPE_CHECKING:
    from rich.table import Table

    from alliance.simulate import SimulatedStudy


def register(app: typer.Typer) -> None:
    """Add the ``simulate`` subcommand to ``app``."""
    app.command("simulate")(simulate_command)


def simulate_command(
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="New folder for the data (CSV), truth.json and design.toml; "
            "an existing non-empty folder is never overwritten.",
            show_default=False,
        ),
    ],
    seed: Annotated[
        int, typer.Option("--seed", min=0,
                          help="Seed of the random numbers (same seed, same data).")
    ] = SIMULATION_SEED,
    design: Annotated[
        Path | None,
        typer.Option(
            "--design",
            help="TOML design file with the values that differ from the default "
            "(the reference study of Nissen-Lie et al., 2013).",
        ),
    ] = None,
    debug: bool = DebugOption,
) -> None:
    """Simulate a therapist-alliance study: QPL and WAI item data plus the true values."""
    with reported_errors("simulate", debug):
        from alliance.simulate import StudyDesign, simulate_study
        from alliance.simulate.write import write_study

        study_design = StudyDesign.default() if design is None else StudyDesign.from_toml(design)
        study = simulate_study(study_design, seed=seed)
        folder = write_study(study, out)
        _print_summary(study, folder, seed)


def _print_summary(study: SimulatedStudy, folder: Path, seed: int) -> None:
    import numpy as np

    from alliance.simulate.write import DESIGN_FILE, TABLE_FILES, TRUTH_FILE

    design = study.design
    caseloads = study.patients.groupby("therapist").size().to_numpy()
    sessions = study.patients["n_sessions"].to_numpy()
    stdout.print(f"[bold]Simulated study[/] (seed {seed}) written to {folder}", highlight=False)
    middle = np.mean((sessions >= 20) & (sessions <= 40))
    stdout.print(
        f"{len(study.reference_items)} reference therapists answered {design.qpl.n_items} QPL "
        f"items; {len(study.therapists)} study therapists treated {len(study.patients)} "
        f"patients (caseloads {caseloads.min()}–{caseloads.max()}, median "
        f"{np.median(caseloads):g}); treatments of {sessions.min()}–{sessions.max()} sessions, "
        f"{np.mean(sessions < 20):.0%} under 20, {middle:.0%} 20–40, "
        f"{np.mean(sessions > 40):.0%} over 40.",
        highlight=False,
    )
    stdout.print(_wai_table(study))
    stdout.print(_truth_table(study))
    files = [*TABLE_FILES.values(), TRUTH_FILE, DESIGN_FILE]
    stdout.print(f"Files: {', '.join(files)}", highlight=False)


def _wai_table(study: SimulatedStudy) -> Table:
    """Mean WAI item score per rater at each listed session (observed, completed forms)."""
    import numpy as np
    from rich.table import Table

    from alliance.simulate import RATERS

    wai = study.wai
    items = list(study.design.wai.items)
    scores = wai[items].to_numpy(dtype=float, na_value=np.nan)
    answered = ~np.all(np.isnan(scores), axis=1)
    means = np.full(len(wai), np.nan)
    means[answered] = np.nanmean(scores[answered], axis=1)
    listed = list(study.design.schedule.sessions)
    table = Table(title="WAI: mean item score at each listed session", title_justify="left")
    for heading in ("rater", "given", "missing", *(f"s{s}" for s in listed)):
        table.add_column(heading, justify="left" if heading == "rater" else "right")
    for rater in RATERS:
        mine = (wai["rater"] == rater).to_numpy()
        cells = []
        for session in listed:
            chosen = mine & answered & (wai["session"] == session).to_numpy()
            cells.append(f"{means[chosen].mean():.2f}" if chosen.any() else "–")
        table.add_row(
            rater, str(int((mine & answered).sum())), str(int((mine & ~answered).sum())), *cells
        )
    return table


def _truth_table(study: SimulatedStudy) -> Table:
    """True fixed effects of ``alliance ~ time * (factors)``, WAI mean-score metric."""
    from rich.table import Table

    from alliance.simulate import RATERS

    truth = study.truth
    table = Table(
        title=f"True fixed effects ({truth['time']['definition']}; mean-score metric)",
        title_justify="left",
    )
    table.add_column("term")
    for rater in RATERS:
        table.add_column(f"{rater}-rated", justify="right")
    for term in truth["model_terms"]:
        table.add_row(term, *(f"{truth['fixed_effects'][rater][term]:+.3f}" for rater in RATERS))
    return table
