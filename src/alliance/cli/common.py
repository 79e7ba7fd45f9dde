"""What every subcommand shares: error reporting, exit codes, JSON output, option types."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import typer
from rich.console import Console
from rich.markup import escape

from alliance.errors import DataError, SpecificationError

#: Exit codes that mean something to a calling script.
EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_DATA_ERROR = 3
EXIT_SPECIFICATION_ERROR = 4

stdout = Console()
stderr = Console(stderr=True)

DebugOption = typer.Option(False, "--debug", help="Show the full traceback on errors.")


@contextmanager
def reported_errors(debug: bool) -> Iterator[None]:
    """Turn ``alliance`` errors into a message on stderr and a meaningful exit code."""
    try:
        yield
    except DataError as error:
        if debug:
            raise
        stderr.print(f"[bold red]Data error:[/] {escape(str(error))}", highlight=False)
        raise typer.Exit(EXIT_DATA_ERROR) from None
    except SpecificationError as error:
        if debug:
            raise
        stderr.print(f"[bold red]Specification error:[/] {escape(str(error))}", highlight=False)
        raise typer.Exit(EXIT_SPECIFICATION_ERROR) from None


def _json_default(value: Any) -> Any:
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


def write_json(payload: dict[str, Any], path: Path) -> None:
    """Write ``payload`` as JSON to ``path`` (NaN as null), all at once."""
    text = json.dumps(_finite_or_none(payload), indent=2, default=_json_default)
    temporary = path.with_name(path.name + ".partial")
    temporary.write_text(text + "\n", encoding="utf-8")
    temporary.replace(path)


def echo_error(message: str) -> None:
    """Print an error message to stderr."""
    print(message, file=sys.stderr)


CommandFunction = Callable[..., None]
