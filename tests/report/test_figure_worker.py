"""The figure worker: the same files as drawn in this process, and nothing lost when it fails."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from alliance.report import write_report
from alliance.report.figure_files import FIGURE_FOLDER
from alliance.report.figure_worker import FigureWorker
from alliance.report.figures import SECTIONS, write_figures


def _files(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def test_the_worker_writes_the_files_drawn_here(example_results: dict[str, Any],
                                                tmp_path: Path) -> None:
    """Byte for byte, from only the sections the figures read, as a study run hands them."""
    here = write_figures(example_results, tmp_path / "here")
    sections = {name: example_results[name] for name in SECTIONS}
    with FigureWorker() as worker:
        worker.submit(sections, tmp_path / "worker")
        drawn = worker.result()
    assert drawn == here
    assert _files(tmp_path / "worker") == _files(tmp_path / "here")
    assert len(_files(tmp_path / "here")) == 2 * sum(bool(figure.png) for figure in here) > 0


def test_a_failed_worker_leaves_the_drawing_here(example_results: dict[str, Any],
                                                 tmp_path: Path) -> None:
    """A worker that stops without its list: a warning naming why, and the report complete."""
    failing = (sys.executable, "-c", "import sys; sys.stdin.read(); "
               "sys.exit('figure worker out of memory')")
    with FigureWorker(failing) as worker:
        worker.submit(example_results, tmp_path / "failed" / FIGURE_FOLDER)
        with pytest.warns(RuntimeWarning, match="exit code 1: figure worker out of memory"):
            assert worker.result() is None
    folder = tmp_path / "report"
    folder.mkdir()
    with FigureWorker(failing) as worker, pytest.warns(RuntimeWarning, match="drawn in this"):
        worker.submit(example_results, folder / FIGURE_FOLDER)
        write_report(example_results, folder, worker.result)
    expected = tmp_path / "expected"
    expected.mkdir()
    write_report(example_results, expected)
    assert _files(folder / FIGURE_FOLDER) == _files(expected / FIGURE_FOLDER)
    assert (folder / "report.html").read_bytes() == (expected / "report.html").read_bytes()


def test_a_worker_that_prints_something_else_is_reported(example_results: dict[str, Any],
                                                         tmp_path: Path) -> None:
    chatty = (sys.executable, "-c", "import sys; sys.stdin.read(); print('hello')")
    with FigureWorker(chatty) as worker:
        worker.submit(example_results, tmp_path / FIGURE_FOLDER)
        with pytest.warns(RuntimeWarning, match="not JSON: b'hello"):
            assert worker.result() is None


def test_a_worker_that_cannot_start_is_reported(example_results: dict[str, Any],
                                                tmp_path: Path) -> None:
    with FigureWorker((str(tmp_path / "no-such-interpreter"),)) as worker:
        worker.submit(example_results, tmp_path / FIGURE_FOLDER)
        with pytest.warns(RuntimeWarning, match="could not be started"):
            assert worker.result() is None


def test_leaving_the_context_stops_the_worker(tmp_path: Path) -> None:
    """An error or an interrupt in the study: no worker is left behind."""
    with FigureWorker() as worker:
        process = worker._process
        assert process is not None and process.poll() is None
    assert process.poll() is not None


@pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="Linux's SCHED_IDLE policy")
def test_the_worker_runs_only_on_idle_cores() -> None:
    with FigureWorker() as worker:
        process = worker._process
        assert process is not None
        deadline = time.monotonic() + 30
        while os.sched_getscheduler(process.pid) != os.SCHED_IDLE:
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.01)


def test_one_worker_draws_one_set_of_figures(example_results: dict[str, Any],
                                             tmp_path: Path) -> None:
    with FigureWorker() as worker:
        assert not worker.submitted
        worker.submit(example_results, tmp_path / "figures")
        assert worker.submitted
        with pytest.raises(RuntimeError, match="one set of figures"):
            worker.submit(example_results, tmp_path / "again")


def test_a_study_run_loads_no_matplotlib_of_its_own() -> None:
    """The run starts the worker and writes the report without loading matplotlib itself."""
    import subprocess

    program = ("import sys, alliance.app, alliance.report, alliance.report.figure_worker; "
               "alliance.report.write_report; print(sorted(m for m in sys.modules "
               "if m.split('.')[0] == 'matplotlib'))")
    loaded = subprocess.run([sys.executable, "-c", program], check=True, capture_output=True,
                            text=True).stdout.strip()
    assert loaded == "[]"


def test_the_worker_loads_only_what_drawing_needs() -> None:
    """No pandas, scipy or numba in the worker: it stays small (about 100 MiB resident)
    beside a study run."""
    import subprocess

    program = ("import sys, alliance.report.figure_worker; "
               "from alliance.report.figures import write_figures; "
               "print(sorted({m.split('.')[0] for m in sys.modules} "
               "& {'pandas', 'scipy', 'numba'}))")
    loaded = subprocess.run([sys.executable, "-c", program], check=True, capture_output=True,
                            text=True).stdout.strip()
    assert loaded == "[]"
