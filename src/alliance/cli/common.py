"""What every subcommand shares: the consoles, error reporting, exit codes, JSON output, option
types, progress bars, and the notice that the mixed-model kernels are being compiled.

Importing this module (as every command module does) loads no layer below the command line:
``alliance --help`` stays quick, and each command imports the layers it uses when it runs.
"""

from __future__ import annotations

import math
import os
import signal
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.markup import escape

from alliance.cli.interrupt import catching_signals, exit_code
from alliance.errors import DataError, SpecificationError

if TYPE_CHECKING:
    import pandas as pd
    from rich.progress import Progress

#: Exit codes that mean something to a calling script.
EXIT_UNEXPECTED = 1
EXIT_DATA_ERROR = 3
EXIT_SPECIFICATION_ERROR = 4

#: Width of a console whose stream is not a terminal: rich would use 80 columns and cut or
#: wrap a table's rows; this is wide enough that every row keeps its natural width.
UNWRAPPED_WIDTH = 10_000


def make_console(stderr: bool = False) -> Console:
    """A rich console on stdout (or stderr) that wraps only on a terminal.

    On a terminal, or when ``COLUMNS`` is set, rich's own width. Otherwise (output redirected
    to a file or a pipe, where rich assumes 80 columns) tables take their natural width and
    lines are not wrapped, so a redirected table has every row on one line.
    """
    console = Console(stderr=stderr)
    if console.is_terminal or os.environ.get("COLUMNS", "").isdigit():
        return console
    return Console(stderr=stderr, width=UNWRAPPED_WIDTH, soft_wrap=True)


stdout = make_console()
stderr = make_console(stderr=True)

#: Shown while the first fit on a machine compiles the mixed-model kernels (one line at 80
#: columns; measured on 2 cores: 17 s for a growth model's, 14 s more for those of every other
#: model, which the study pipeline compiles too).
COMPILING = "Compiling the mixed-model kernels once (15 to 30 s); later runs reuse them."
#: Shown when whether they are compiled cannot be told.
MAY_COMPILE = "Loading the mixed-model kernels; compiling them once may take 15 to 30 s."

DebugOption = typer.Option(False, "--debug", help="Show the full traceback on errors.")
SheetOption = typer.Option("--sheet", help="Excel sheet: name or 0-based position "
                           "(default: the first sheet).", show_default=False)


def help_paragraphs(text: str) -> str:
    """A command's help ``text`` with the line breaks inside its paragraphs of prose removed.

    typer's rich help keeps every line break after the first paragraph, so prose wrapped in the
    source would be wrapped again by the terminal, leaving ragged short lines. Paragraphs are
    separated by a blank line; a line indented by two spaces (an example, an item of a list)
    keeps its own line.
    """
    paragraphs = []
    for paragraph in text.strip().split("\n\n"):
        lines: list[str] = []
        for line in paragraph.splitlines():
            if lines and not line.startswith("  ") and not lines[-1].startswith("  "):
                lines[-1] += " " + line.strip()
            else:
                lines.append(line)
        paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)


def progress_bar(unit: str, console: Console, remaining: bool = False) -> Progress:
    """A transient progress bar: description, bar, ``completed/total unit`` (e.g. ``120/1000
    replications``; ``?`` while the total is not known), and the elapsed time (``remaining``:
    the estimated time left instead).

    rich's progress module is imported here, by the commands that show a bar, not by ``--help``.
    """
    from rich.progress import (
        BarColumn,
        Progress,
        ProgressColumn,
        Task,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class CountColumn(ProgressColumn):
        def render(self, task: Task) -> Text:
            total = "?" if task.total is None else f"{int(task.total)}"
            return Text(f"{int(task.completed)}/{total} {unit}")

    clock = TimeRemainingColumn() if remaining else TimeElapsedColumn()
    return Progress(TextColumn("{task.description}"), BarColumn(), CountColumn(), clock,
                    console=console, transient=True)


def sheet_choice(sheet: str | None) -> str | int | None:
    """The ``--sheet`` value as read_table takes it: a position when it is a number."""
    return int(sheet) if sheet is not None and sheet.isdigit() else sheet


def source_name(data: Path, frame: pd.DataFrame) -> str:
    """The data file, with the Excel sheet that was read."""
    sheet = frame.attrs.get("sheet")
    return str(data) if sheet is None else f"{data} (sheet {sheet!r})"


@contextmanager
def reported_errors(
    command: str, debug: bool, interrupted: str = "nothing was written"
) -> Iterator[None]:
    """Run a command's body: errors become one line on stderr and a meaningful exit code.

    ``alliance`` errors print their message (exit 3 or 4). SIGINT and SIGTERM stop the body
    where it is, print ``interrupted`` (what was kept and how to resume) and exit with 130 or
    143 (:mod:`alliance.cli.interrupt`). Any other error prints one line naming ``command``
    and the error, and how to see the traceback (exit 1); ``debug`` shows the traceback of
    every error instead.
    """
    with catching_signals() as received:
        try:
            yield
        except (typer.Exit, typer.Abort, typer.exceptions.TyperException):
            raise
        except BaseException as error:
            if received or isinstance(error, KeyboardInterrupt):
                signum = received[0] if received else signal.SIGINT
                stderr.print(f"Interrupted ({signal.Signals(signum).name}); {interrupted}.",
                             highlight=False)
                raise typer.Exit(exit_code(signum)) from None
            if debug or not isinstance(error, Exception):
                raise
            stderr.print(_error_line(command, error), highlight=False)
            raise typer.Exit(_exit_code(error)) from None


@contextmanager
def compiling_notice(q_per_level: Sequence[int]) -> Iterator[bool]:
    """Around a command's first fit: say so on stderr if it compiles the mixed-model kernels.

    Unless numba's disk cache holds the kernels of a model with ``q_per_level`` random effects
    per level (:func:`alliance.mixed.compile_cache.kernels_cached`), the fit compiles them, which
    takes tens of seconds once per machine. The block then runs under a one-line notice with
    a spinner (:data:`COMPILING`, or :data:`MAY_COMPILE` when the cache cannot be read); on
    a stderr that is not a terminal the notice is printed as a plain line. Yields whether the
    kernels are to be compiled.
    """
    from alliance.mixed.compile_cache import kernels_cached

    cached = kernels_cached(q_per_level)
    if cached:
        yield False
        return
    notice = COMPILING if cached is False else MAY_COMPILE
    if not stderr.is_terminal:
        stderr.print(notice, highlight=False)
        yield True
        return
    with stderr.status(notice, spinner="dots"):
        yield True


def compile_kernels_first(q_per_level: Sequence[int]) -> None:
    """Compile the kernels of a model with ``q_per_level`` random effects per level now, under
    :func:`compiling_notice`, unless cached.

    For commands whose fits run in worker processes (power), where the notice could not be
    shown at the first fit itself. (The study pipeline compiles them at its first model-fitting
    step instead: :func:`alliance.cli.replicate.with_progress`.)
    """
    with compiling_notice(q_per_level) as compiling:
        if compiling:
            from alliance.mixed.compile_cache import compile_kernels

            compile_kernels(q_per_level)


def _exit_code(error: Exception) -> int:
    if isinstance(error, DataError):
        return EXIT_DATA_ERROR
    if isinstance(error, SpecificationError):
        return EXIT_SPECIFICATION_ERROR
    return EXIT_UNEXPECTED


def _error_line(command: str, error: Exception) -> str:
    if isinstance(error, DataError):
        return f"[bold red]Data error:[/] {escape(str(error))}"
    if isinstance(error, SpecificationError):
        return f"[bold red]Specification error:[/] {escape(str(error))}"
    if isinstance(error, OSError) and error.strerror:
        cause = error.strerror + (f": {error.filename}" if error.filename else "")
    else:
        cause = f"{type(error).__name__}: {error}"
    return (f"[bold red]Error:[/] alliance {command} failed ({escape(cause)}). "
            "Run it again with --debug to see the details.")


def _json_default(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _finite_or_none(value: Any) -> Any:
    """JSON has no NaN or infinity: write them as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite_or_none(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite_or_none(item) for item in value]
    return value


def write_json(payload: dict[str, Any], path: Path, option: str = "--json") -> None:
    """Write ``payload`` as JSON to ``path`` (NaN as null), atomically (:mod:`alliance.io.output`)."""
    import json

    from alliance.io.output import write_text

    text = json.dumps(_finite_or_none(payload), indent=2, default=_json_default)
    write_text(path, text + "\n", option)
