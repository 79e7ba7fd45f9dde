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
one, and more replicates can be added later the same way. A folder that holds a different
design or seed is refused rather than mixed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pandas as pd

from alliance.errors import SpecificationError
from alliance.power.replicate import REPLICATE_COLUMNS

RUN_FILE = "run.json"
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
        The folder holds the results of a different design or seed.
    """

    def __init__(self, folder: str | Path, fingerprint: dict[str, Any]) -> None:
        self.folder = Path(folder)
        self.parts = self.folder / REPLICATE_FOLDER
        self.fingerprint = {"format": STORE_FORMAT, **fingerprint}
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
            _write_atomic(run_file, json.dumps(self.fingerprint, indent=2) + "\n")

    def _files(self) -> list[Path]:
        return sorted(self.parts.glob("*.parquet"))

    def completed(self) -> set[tuple[int, str, int]]:
        """``(point, hypothesis, replicate)`` of every replicate already stored."""
        done: set[tuple[int, str, int]] = set()
        for path in self._files():
            frame = pd.read_parquet(path, columns=_KEY)
            done.update(zip(frame["point"].astype(int), frame["hypothesis"].astype(str),
                            frame["replicate"].astype(int), strict=True))
        return done

    def write(self, frame: pd.DataFrame) -> Path:
        """Store the rows of one finished batch (one file, renamed into place when complete)."""
        first = frame.iloc[0]
        name = (f"point{int(first['point']):03d}-{first['hypothesis']}-"
                f"{int(frame['replicate'].min()):07d}-{int(frame['replicate'].max()):07d}.parquet")
        temporary = self.parts / f".{name}.tmp"
        frame.to_parquet(temporary, index=False)
        path = self.parts / name
        os.replace(temporary, path)
        return path

    def read(self) -> pd.DataFrame:
        """Every stored row, in file order (the analysis sorts them)."""
        files = self._files()
        if not files:
            return pd.DataFrame(columns=REPLICATE_COLUMNS)
        return pd.concat([pd.read_parquet(path) for path in files], ignore_index=True)


def _write_atomic(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
