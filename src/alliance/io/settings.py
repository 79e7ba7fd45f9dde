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
        The file is missing, unreadable, not UTF-8 text or not valid TOML; the message names
        the file. A UTF-8 byte-order mark (which some Windows editors write) is accepted.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8-sig")
    except FileNotFoundError as error:
        raise SpecificationError(f"{kind} {file} does not exist; {remedy}") from error
    except UnicodeDecodeError as error:
        line = error.object[:error.start].count(b"\n") + 1
        raise SpecificationError(
            f"{kind} {file} is not UTF-8 text (byte 0x{error.object[error.start]:02x} on line "
            f"{line}; the file was probably saved as Latin-1 or Windows-1252). Save it as "
            "UTF-8 in your editor and run again."
        ) from error
    except OSError as error:
        raise SpecificationError(f"{kind} {file} cannot be read: {error}.") from error
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise SpecificationError(f"{kind} {file} is not valid TOML: {error}; fix the syntax.") from error
