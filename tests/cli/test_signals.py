"""SIGINT and SIGTERM end a command cleanly: the hint, exit 130 or 143, no workers left and no
partial output; also when the signal arrives inside a compiled kernel (--workers 1)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.skipif(sys.platform == "win32", reason="POSIX")]


def _start(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    command = [sys.executable, "-c", "from alliance.cli.app import main; main()", *args]
    return subprocess.Popen(command, cwd=cwd, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def _wait_for(condition: Callable[[], bool], process: subprocess.Popen[str], timeout: float = 300) -> None:
    began = time.monotonic()
    while not condition():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() - began < timeout
        time.sleep(0.2)


def _children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(line) for line in found.stdout.split()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().split()[2] != "Z"


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_power_with_workers_stops_them_and_can_resume(
    tmp_path: Path, signum: int, code: int
) -> None:
    process = _start(["power", "-r", "5000", "--workers", "2", "--out", "run"], tmp_path)
    _wait_for(lambda: len(_children(process.pid)) >= 2
              and any((tmp_path / "run" / "replicates").glob("*.parquet")), process)
    workers = _children(process.pid)
    process.send_signal(signum)
    _, errors = process.communicate(timeout=60)
    assert process.returncode == code, errors
    assert f"Interrupted ({signal.Signals(signum).name})" in errors
    assert "run the same command to resume" in " ".join(errors.split())
    assert "Traceback" not in errors
    time.sleep(0.5)
    assert not [pid for pid in workers if _alive(pid)]
    assert not (tmp_path / "run" / "run.lock").exists()
    assert not list((tmp_path / "run" / "replicates").glob(".*.tmp"))


def test_sigint_inside_the_compiled_search_is_an_interruption(tmp_path: Path) -> None:
    process = _start(["power", "-r", "5000", "--workers", "1"], tmp_path)
    _wait_for(lambda: False if process.stdout is None else bool(process.stdout.readline()
                                                                .startswith("Run")), process)
    time.sleep(3)
    process.send_signal(signal.SIGINT)
    _, errors = process.communicate(timeout=60)
    assert process.returncode == 130, errors
    assert "Interrupted (SIGINT); nothing was written." in errors
    assert "SystemError" not in errors and "Traceback" not in errors


def test_replicate_stopped_leaves_no_partial_folder(tmp_path: Path) -> None:
    process = _start(["replicate", "--out", "report"], tmp_path)
    _wait_for(lambda: any(tmp_path.glob(".report.partial-*/data")), process)
    time.sleep(1)
    process.send_signal(signal.SIGTERM)
    _, errors = process.communicate(timeout=60)
    assert process.returncode == 143, errors
    assert "Interrupted (SIGTERM); nothing was written." in errors
    assert os.listdir(tmp_path) == []
