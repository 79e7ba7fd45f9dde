"""Write outputs safely: never onto an input, atomically, and replace only what alliance wrote.

Three rules every command follows through this module:

- an output never replaces one of the command's inputs, also not through a symbolic link
  (:func:`refuse_inputs`);
- a file appears complete or not at all: it is written under a temporary name, unique to
  the process, in its destination folder and renamed into place (:func:`atomic_file`); a
  folder is assembled beside its destination and renamed when complete (:func:`staged_folder`);
- ``--overwrite`` replaces only a folder that alliance wrote, recognised by the marker file
  :data:`MARKER_FILE` it leaves in every output folder (:func:`write_marker`).

Every refusal is a :class:`~alliance.errors.SpecificationError` naming the path and the remedy.
"""

from __future__ import annotations

import errno
import json
import os
import secrets
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import alliance
from alliance.errors import SpecificationError

#: The file that marks a folder as written by alliance (JSON: command, version, time).
MARKER_FILE = ".alliance-output"


def temporary_name(path: Path) -> Path:
    """A hidden name beside ``path``, unique to this process and call."""
    return path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")


def refuse_inputs(targets: Iterable[Path], inputs: Iterable[Path], option: str) -> None:
    """Refuse an output that is one of ``inputs`` or a folder holding one (links resolved).

    Raises
    ------
    SpecificationError
        Naming the output, the input and the option to change.
    """
    sources = [Path(path) for path in inputs]
    for target in map(Path, targets):
        resolved = target.resolve()
        for source in sources:
            if _same_file(target, source) or resolved in source.resolve().parents:
                raise SpecificationError(
                    f"{option} {target} would overwrite the input {source}; outputs never "
                    f"replace inputs. Choose another {option}."
                )


def _same_file(first: Path, second: Path) -> bool:
    if first.exists() and second.exists():
        return first.samefile(second)
    return first.resolve() == second.resolve()


def check_file_target(path: Path, option: str) -> None:
    """Refuse a file output whose folder is missing or not a folder, or that names a folder."""
    if path.is_dir():
        raise SpecificationError(
            f"{option} {path} is a folder; give the name of a file, e.g. {path / 'results.json'}."
        )
    folder = path.parent
    if folder.is_dir() and not os.access(folder, os.W_OK):
        raise SpecificationError(
            f"{option} {path}: the folder {folder} is not writable; choose another place."
        )
    if not folder.exists():
        raise SpecificationError(
            f"{option} {path}: the folder {folder} does not exist; create it first or choose "
            "another place."
        )
    if not folder.is_dir():
        raise SpecificationError(
            f"{option} {path}: {folder} is a file, not a folder; choose another place."
        )


@contextmanager
def atomic_file(path: Path, option: str) -> Iterator[Path]:
    """A temporary path in ``path``'s folder that replaces ``path`` when the block succeeds.

    On any error (also an interruption) the temporary file is removed and ``path`` is left as
    it was.
    """
    check_file_target(path, option)
    temporary = temporary_name(path)
    try:
        yield temporary
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str, option: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_file(path, option) as temporary:
        temporary.write_text(text, encoding="utf-8")


def write_marker(folder: Path, command: str) -> None:
    """Mark ``folder`` as the output of ``alliance COMMAND`` (so --overwrite may replace it)."""
    record = {"command": command, "alliance_version": alliance.__version__,
              "written": datetime.now(UTC).isoformat(timespec="seconds")}
    (folder / MARKER_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


def is_alliance_output(folder: Path) -> bool:
    """Whether ``folder`` holds the marker of an alliance output folder."""
    return (folder / MARKER_FILE).is_file()


def check_folder_target(out: Path, overwrite: bool, inputs: Iterable[Path] = ()) -> None:
    """Refuse a folder output that is a file, holds an input, or is a non-empty folder that
    ``--overwrite`` may not replace (not given, or not a folder alliance wrote).

    Raises
    ------
    SpecificationError
        Naming the folder and the remedy.
    """
    if not out.exists():
        return
    if not out.is_dir():
        raise SpecificationError(f"output path {out} is a file; give the name of a new folder.")
    resolved = out.resolve()
    for path in inputs:
        if resolved == path.resolve() or resolved in path.resolve().parents:
            raise SpecificationError(
                f"output folder {out} contains the input {path}; outputs never replace inputs. "
                "Choose another --out folder."
            )
    entries = sorted(entry.name for entry in out.iterdir())
    if not entries:
        return
    shown = ", ".join(entries[:5]) + (", ..." if len(entries) > 5 else "")
    if not overwrite:
        raise SpecificationError(
            f"output folder {out} exists and is not empty ({shown}); choose a new folder, or "
            "pass --overwrite to replace an earlier alliance output."
        )
    if not is_alliance_output(out):
        raise SpecificationError(
            f"output folder {out} was not written by alliance (it has no {MARKER_FILE} file) "
            f"and is not empty ({shown}); --overwrite replaces only alliance's own output "
            "folders. Choose a new folder, or move its contents away yourself."
        )


@contextmanager
def staged_folder(
    out: Path, command: str, overwrite: bool = False, inputs: Iterable[Path] = ()
) -> Iterator[Path]:
    """A temporary folder beside ``out`` that becomes ``out`` when the block succeeds.

    The folder gets the marker of ``command`` first. On any error (also an interruption) it
    is removed and an existing ``out`` is left as it was. A folder that appeared at ``out``
    meanwhile (another run) is checked again and, unless it may be replaced, refused.
    """
    inputs = list(inputs)
    check_folder_target(out, overwrite, inputs)
    token = f"{os.getpid()}-{secrets.token_hex(4)}"
    staging = out.with_name(f".{out.name}.partial-{token}")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging.mkdir()
    except OSError as error:
        raise SpecificationError(
            f"output folder {out} cannot be created ({error.strerror}: {error.filename}); "
            "choose a place you can write to."
        ) from error
    try:
        write_marker(staging, command)
        yield staging
        check_folder_target(out, overwrite, inputs)
        if out.exists() and any(out.iterdir()):
            retired = out.with_name(f".{out.name}.replaced-{token}")
            out.rename(retired)
            staging.rename(out)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            _rename_into_empty(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _rename_into_empty(staging: Path, out: Path) -> None:
    """Rename ``staging`` to ``out``, which is missing or an empty folder, atomically."""
    try:
        os.rename(staging, out)
    except OSError as error:
        if error.errno not in (errno.ENOTEMPTY, errno.EEXIST):
            raise
        raise SpecificationError(
            f"output folder {out} was filled by another run while this one worked; nothing "
            "was replaced. Choose a new folder."
        ) from error


def check_file_output(path: Path, inputs: Iterable[Path], option: str) -> None:
    """Refuse, before any work, a file output that would replace an input or cannot be written."""
    refuse_inputs([path], inputs, option)
    check_file_target(path, option)
