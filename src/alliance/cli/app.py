"""The ``alliance`` command: a thin typer layer over the Python API.

Each subcommand lives in its own module and registers itself here.
"""

from __future__ import annotations

import typer

from alliance.cli import analyze as analyze_command
from alliance.cli import efa as efa_command
from alliance.cli import fit as fit_command
from alliance.cli import power as power_command
from alliance.cli import replicate as replicate_command
from alliance.cli import score as score_command
from alliance.cli import simulate as simulate_command

app = typer.Typer(
    name="alliance",
    help="Therapist effects on the working alliance: scoring, factor analysis, "
    "nested mixed models, simulation, power and reports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

analyze_command.register(app)
efa_command.register(app)
fit_command.register(app)
power_command.register(app)
replicate_command.register(app)
score_command.register(app)
simulate_command.register(app)


def main() -> None:
    """Entry point of the ``alliance`` console script."""
    app()
