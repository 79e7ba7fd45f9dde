"""Read a TOML settings file (a study configuration, a simulation or power design)."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from alliance.errors import SpecificationError


def read_toml(path: str | os.PathLike[str], *, kind: str, remedy: str) -> dict[str, Any]:
    """Parse the TOML file at ``path``; the file is never modified.

    Parameters
    ----------
    path : str or path-like
        The file.
    kind : str
        What the file is, for messages ("design file", "configuration file").
    remedy : str
        What to do when the file does not exist.

    Raises
    ------
    SpecificationError
        The file is missing, unreadable or not valid TOML; the message names the file.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise SpecificationError(f"{kind} {file} does not exist; {remedy}") from error
    except (OSError, UnicodeDecodeError) as error:
        raise SpecificationError(f"{kind} {file} cannot be read: {error}.") from error
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise SpecificationError(f"{kind} {file} is not valid TOML: {error}; fix the syntax.") from error
