"""The Parquet replicate store: atomic batches, completed ids, one writer, damaged batches,
refusal of another run's folder."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pandas as pd
import pytest

from alliance.errors import SpecificationError
from alliance.power import PowerDesign, ReplicateStore, Task, run_task
from alliance.power.store import LOCK_FILE, REPLICATE_FOLDER, RUN_FILE


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    design = PowerDesign.reference().updated({"sample": {"therapists": 12}})
    return run_task(Task(0, "alternative", design, (0, 1, 2), 5))


def test_write_read_and_completed(tmp_path: Path, rows: pd.DataFrame) -> None:
    store = ReplicateStore(tmp_path / "run", {"seed": 5})
    assert store.completed() == set() and store.read().empty
    store.write(rows[rows["replicate"] < 2])
    store.write(rows[rows["replicate"] == 2])
    assert store.completed() == {(0, "alternative", r) for r in range(3)}
    pd.testing.assert_frame_equal(store.read(), rows.reset_index(drop=True))
    assert (tmp_path / "run" / RUN_FILE).exists()
    assert len(list((tmp_path / "run" / REPLICATE_FOLDER).glob("*.parquet"))) == 2
    # the folder is a Parquet dataset that pandas reads whole
    assert len(pd.read_parquet(tmp_path / "run" / REPLICATE_FOLDER)) == len(rows)


def test_reopening_resumes_and_drops_partial_files(tmp_path: Path, rows: pd.DataFrame) -> None:
    ReplicateStore(tmp_path, {"seed": 5}).write(rows[rows["replicate"] == 0])
    partial = tmp_path / REPLICATE_FOLDER / ".point000-alternative-0000001-0000002.parquet.tmp"
    partial.write_bytes(b"PAR1 cut off")
    store = ReplicateStore(tmp_path, {"seed": 5})
    assert not partial.exists()
    assert store.completed() == {(0, "alternative", 0)}


def test_a_folder_of_another_run_is_refused(tmp_path: Path) -> None:
    ReplicateStore(tmp_path, {"seed": 5})
    with pytest.raises(SpecificationError, match="different power analysis"):
        ReplicateStore(tmp_path, {"seed": 6})
    (tmp_path / RUN_FILE).write_text("{not json", encoding="utf-8")
    with pytest.raises(SpecificationError, match="cannot be read"):
        ReplicateStore(tmp_path, {"seed": 5})


def test_one_writer_at_a_time_and_a_dead_holder_blocks_nobody(tmp_path: Path) -> None:
    with ReplicateStore(tmp_path, {"seed": 5}):
        holder = (tmp_path / LOCK_FILE).read_text(encoding="utf-8")
        assert f"process {os.getpid()} on {socket.gethostname()}" in holder
        with pytest.raises(SpecificationError, match=f"another power run .*process {os.getpid()}"):
            ReplicateStore(tmp_path, {"seed": 5})
    assert not (tmp_path / LOCK_FILE).exists()
    # a lock file left by a process that died holds no lock
    (tmp_path / LOCK_FILE).write_text("process 999999 on elsewhere\n", encoding="utf-8")
    ReplicateStore(tmp_path, {"seed": 5}).close()


def test_a_cut_off_batch_is_removed_and_recomputed(tmp_path: Path, rows: pd.DataFrame) -> None:
    with ReplicateStore(tmp_path, {"seed": 5}) as store:
        kept = store.write(rows[rows["replicate"] == 0])
        cut = store.write(rows[rows["replicate"] == 1])
    cut.write_bytes(cut.read_bytes()[:40])
    with ReplicateStore(tmp_path, {"seed": 5}) as store:
        assert store.completed() == {(0, "alternative", 0)}
        assert store.discarded == [cut.name] and kept.exists() and not cut.exists()
