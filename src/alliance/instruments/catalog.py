"""Find and load instrument definitions: shipped ones by name, the user's by path."""

from __future__ import annotations

import difflib
import os
import tomllib
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from alliance.errors import SpecificationError
from alliance.instruments.instrument import Instrument, instrument_from_dict


def _definitions() -> Traversable:
    """The folder of shipped definitions (package data of ``alliance.instruments``)."""
    return resources.files("alliance.instruments").joinpath("definitions")


def list_instruments() -> list[str]:
    """Names of the instrument definitions shipped with ``alliance``, sorted."""
    folder = _definitions()
    return sorted(
        entry.name.removesuffix(".toml")
        for entry in folder.iterdir()
        if entry.is_file() and entry.name.endswith(".toml")
    )


def load_instrument(name_or_path: str | os.PathLike[str]) -> Instrument:
    """Load a shipped instrument by name (``"wai-s-client"``) or a definition file by path.

    A value that ends in ``.toml`` or names an existing file is read as a path; anything
    else is looked up among :func:`list_instruments`. Templates (``template = true``) load
    so that they can be inspected and copied, but :func:`alliance.instruments.score`
    refuses them until their key is complete.

    Raises
    ------
    SpecificationError
        If the name is unknown (with the close matches and the full list), the file is
        missing or is not valid TOML, the definition is malformed, a shipped definition's
        ``name`` differs from its file name, or a definition not marked as a template has
        an incomplete key.
    """
    text = os.fspath(name_or_path)
    path = Path(text)
    if text.lower().endswith(".toml") or path.is_file():
        if not path.is_file():
            raise SpecificationError(
                f"instrument definition {text}: file not found. Check the path, or give the "
                f"name of a shipped instrument: {', '.join(list_instruments())}."
            )
        instrument = _parse(path.read_bytes(), source=str(path))
    else:
        instrument = _load_shipped(text)
    problems = instrument.key_problems()
    if problems and not instrument.template:
        raise SpecificationError(
            f"instrument definition {instrument.source}: the scoring key is incomplete: "
            + "; ".join(problems)
            + ". Complete the key, or mark the definition as a template (template = true)."
        )
    return instrument


def _load_shipped(name: str) -> Instrument:
    names = list_instruments()
    if name not in names:
        close = difflib.get_close_matches(name.lower(), names, n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise SpecificationError(
            f"unknown instrument {name!r}.{hint} Shipped instruments: {', '.join(names)}; "
            "or give the path of a .toml definition file."
        )
    resource = _definitions().joinpath(f"{name}.toml")
    instrument = _parse(resource.read_bytes(), source=str(resource))
    if instrument.name != name:
        raise SpecificationError(
            f"instrument definition {instrument.source}: name {instrument.name!r} differs "
            "from the file name."
        )
    return instrument


def _parse(content: bytes, *, source: str) -> Instrument:
    try:
        data = tomllib.loads(content.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise SpecificationError(
            f"instrument definition {source}: not valid TOML ({error}). Fix the syntax; "
            "the shipped definitions show the format."
        ) from error
    return instrument_from_dict(data, source=source)
