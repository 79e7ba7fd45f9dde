"""The result writer of a power analysis: replicate rows streamed to Parquet, resumable.

A run folder holds ``run.json`` (what was simulated: the design of every grid point and the
seed) and ``replicates/``, a Parquet dataset with one file per finished batch (one row per
replicate per effect, :data:`~alliance.power.replicate.REPLICATE_COLUMNS`). A single Parquet
file cannot be appended to, and one cut off mid-write has no footer and cannot be read at all;
a file per batch, written under a temporary name and renamed when complete, means that an
interrupted run loses at most the batches in flight. ``pandas.read_parquet(folder /
"replicates")`` reads the whole dataset.

On restart with the same design and seed, :meth:`ReplicateStore.completed` lists the replicates
already done and the analysis skips them; because every replicate's random numbers depend
only on (seed, grid point, replicate id), the resumed result is identical to an uninterrupted
one, and more replicates can be added later the same way. A batch file that cannot be read
(cut off by a crash of the machine, damaged) is removed and its replicates computed again. A
folder that holds a different design or seed is refused rather than mixed.

One run writes to a folder at a time: the store holds an exclusive lock (``flock``) on
``run.lock``, which names the holding process and host for the message given to a second run.
The operating system releases the lock when its process ends, however it ends, so that a lock
left by a dead process never blocks a new run. Temporary names are unique per process.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from pathlib import Path
from typing import IO, Any

import pandas as pd
import pyarrow

from alliance.errors import SpecificationError
from alliance.io.output import temporary_name, write_text
from alliance.power.replicate import REPLICATE_COLUMNS

RUN_FILE = "run.json"
LOCK_FILE = "run.lock"
REPLICATE_FOLDER = "replicates"
#: Version of the folder layout, part of the run's fingerprint.
STORE_FORMAT = 1
_KEY = ["point", "hypothesis", "replicate"]


class ReplicateStore:
    """The replicate rows of one run, in ``folder``.

    Parameters
    ----------
    folder : path
        The run folder (created if missing).
    fingerprint : dict
        What identifies the run (JSON-serialisable); a folder written by a run with a different
        fingerprint is refused.

    Raises
    ------
    SpecificationError
        The folder holds the results of a different design or seed, or another run is
        writing to it.

    Notes
    -----
    The store holds the folder's lock until :meth:`close` (or the end of a ``with`` block).
    """

    def __init__(self, folder: str | Path, fingerprint: dict[str, Any]) -> None:
        self.folder = Path(folder)
        self.parts = self.folder / REPLICATE_FOLDER
        self.fingerprint = {"format": STORE_FORMAT, **fingerprint}
        #: Batch files found unreadable by :meth:`completed` and removed.
        self.discarded: list[str] = []
        if self.folder.exists() and not self.folder.is_dir():
            raise SpecificationError(
                f"the run folder {self.folder} is a file; give the name of a folder."
            )
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise SpecificationError(
                f"the run folder {self.folder} cannot be created ({error.strerror}); choose a "
                "place you can write to."
            ) from error
        self._lock: IO[str] | None = _acquire(self.folder / LOCK_FILE)
        try:
            self._open()
        except BaseException:
            self.close()
            raise

    def _open(self) -> None:
        run_file = self.folder / RUN_FILE
        if run_file.exists():
            try:
                stored = json.loads(run_file.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as error:
                raise SpecificationError(
                    f"{run_file} cannot be read ({error}); use a new output folder."
                ) from error
            if stored != json.loads(json.dumps(self.fingerprint)):
                raise SpecificationError(
                    f"the folder {self.folder} holds the replicates of a different power "
                    "analysis (another design, grid or seed), which cannot be resumed with this "
                    "one; use a new output folder, or the design and seed of that run "
                    f"(recorded in {run_file})."
                )
        self.parts.mkdir(parents=True, exist_ok=True)
        for leftover in self.parts.glob(".*.tmp"):
            leftover.unlink()  # a batch that was being written when a run was interrupted
        if not run_file.exists():
            write_text(run_file, json.dumps(self.fingerprint, indent=2) + "\n", "--out")

    def close(self) -> None:
        """Release the folder's lock (the store can no longer write)."""
        if self._lock is not None:
            _release(self._lock, self.folder / LOCK_FILE)
            self._lock = None

    def __enter__(self) -> ReplicateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _files(self) -> list[Path]:
        return sorted(self.parts.glob("*.parquet"))

    def completed(self) -> set[tuple[int, str, int]]:
        """``(point, hypothesis, replicate)`` of every replicate already stored."""
        done: set[tuple[int, str, int]] = set()
        for path in self._files():
            try:
                frame = pd.read_parquet(path, columns=_KEY)
            except (pyarrow.ArrowException, OSError):
                # cut off or damaged: its replicates are computed again
                path.unlink()
                self.discarded.append(path.name)
                continue
            done.update(zip(frame["point"].astype(int), frame["hypothesis"].astype(str),
                            frame["replicate"].astype(int), strict=True))
        return done

    def write(self, frame: pd.DataFrame) -> Path:
        """Store the rows of one finished batch (one file, renamed into place when complete)."""
        first = frame.iloc[0]
        name = (f"point{int(first['point']):03d}-{first['hypothesis']}-"
                f"{int(frame['replicate'].min()):07d}-{int(frame['replicate'].max()):07d}.parquet")
        path = self.parts / name
        temporary = temporary_name(path)
        try:
            frame.to_parquet(temporary, index=False)
            os.replace(temporary, path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        return path

    def read(self) -> pd.DataFrame:
        """Every stored row, in file order (the analysis sorts them)."""
        files = self._files()
        if not files:
            return pd.DataFrame(columns=REPLICATE_COLUMNS)
        return pd.concat([pd.read_parquet(path) for path in files], ignore_index=True)


def _acquire(path: Path) -> IO[str]:
    """Hold the exclusive lock of ``path`` (created if missing) and write the holder into it."""
    while True:
        handle = open(path, "a+", encoding="utf-8")  # held until the store is closed
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise SpecificationError(
                f"another power run is writing to {path.parent} (lock {path}: {holder}); wait "
                "for it to finish, or use another output folder. One run at a time writes to "
                "a folder."
            ) from None
        # the file may have been removed by its previous holder meanwhile: lock the live one
        if path.exists() and os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino:
            break
        handle.close()
    handle.seek(0)
    handle.truncate()
    handle.write(f"process {os.getpid()} on {socket.gethostname()}\n")
    handle.flush()
    return handle


def _release(handle: IO[str], path: Path) -> None:
    """Remove the lock file, then release the lock (removing first keeps others out)."""
    path.unlink(missing_ok=True)
    fcntl.flock(handle, fcntl.LOCK_UN)
    handle.close()
