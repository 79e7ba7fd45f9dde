"""The ``alliance`` command: a thin typer layer over the Python API.

Each subcommand lives in its own module and registers itself here. Importing them loads no
layer below the command line (each command imports what it uses when it runs), so that
``alliance --help`` and every ``alliance COMMAND --help`` answer at once.
"""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING

import typer
from typer.core import TyperGroup, TyperOption

from alliance.cli import analyze as analyze_command
from alliance.cli import efa as efa_command
from alliance.cli import fit as fit_command
from alliance.cli import power as power_command
from alliance.cli import replicate as replicate_command
from alliance.cli import score as score_command
from alliance.cli import simulate as simulate_command

if TYPE_CHECKING:
    # typer's own copy of click, whose Context the group's methods take
    from typer._click import Context


class AllianceGroup(TyperGroup):
    """The ``alliance`` group, whose own ``--help`` flag defaults to ``False``.

    typer (0.29) gives the help flag no default and coerces every value that is not already a
    ``bool`` through a pydantic ``TypeAdapter``, which it builds, importing pydantic (about
    0.1 s), at the first such value. In ``alliance COMMAND --help`` the group's own ``--help``
    is absent, so its ``None`` would import pydantic only to be passed through unchanged. A
    ``False`` default is a ``bool``, which typer passes through as it is, and means the same:
    no help was asked for.
    """

    def get_help_option(self, ctx: Context) -> TyperOption | None:
        option = super().get_help_option(ctx)
        if option is not None:
            option.default = False
        return option


app = typer.Typer(
    name="alliance",
    cls=AllianceGroup,
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
    """Entry point of the ``alliance`` console script.

    When the command is done the interpreter exits, and its last garbage collections walked
    every object the libraries had created (numba's type registries, pandas, scipy): about
    0.25 s of every command, a fifth of a small fit, to reclaim memory the operating system
    reclaims at exit anyway. ``gc.freeze`` leaves those objects out of the final collections;
    they are still released by reference counting, and every ``atexit`` handler still runs.
    """
    try:
        app()
    finally:
        gc.freeze()
