"""Draw the report's figures in a separate interpreter while the caller writes the rest.

Drawing the eight figures as PNG and SVG is a second or more of matplotlib's Python code
(about 2.5 s at practice-network size, with the figures' constrained layout), which holds the
interpreter lock: a thread would not run it alongside anything. A study run therefore starts
a worker (:class:`FigureWorker`) before its first step, so that the worker's imports overlap
reading the data, and hands it the sections of the results the figures read as soon as the
growth models are fitted (:meth:`FigureWorker.submit`). The worker draws on the cores the
later steps leave idle while they run; the run collects the files (:meth:`FigureWorker.result`)
when it writes the report page.

The worker is a fresh interpreter running this module (``python -m
alliance.report.figure_worker``), not a ``multiprocessing`` child: such a child would import
the caller's main script again, which a user's script without a ``__main__`` guard does not
survive. It reads ``{"folder": ..., "results": ...}`` as JSON on stdin, writes the figures
with :func:`alliance.report.figures.write_figures` and prints their list
(:meth:`~alliance.report.figure_files.FigureFile.to_dict`) as JSON on stdout. The files are
the same bytes as drawn in the calling process (tested).

When the worker cannot be started or stops without its list, the caller draws the figures
itself (:meth:`FigureWorker.result` returns None) and a :class:`RuntimeWarning` says why:
nothing is lost, the run only takes longer.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from alliance.report.figure_files import FigureFile, read_figures

#: The worker's command: this module, by the interpreter running the caller.
COMMAND = (sys.executable, "-m", "alliance.report.figure_worker")


class FigureWorker:
    """A figure-drawing process, started at once; a context manager that stops it on exit.

    Parameters
    ----------
    command
        The worker's command line (:data:`COMMAND`; tests give another).
    """

    def __init__(self, command: tuple[str, ...] = COMMAND) -> None:
        self._folder: Path | None = None
        self._errors: IO[bytes] = tempfile.TemporaryFile()
        self._process: subprocess.Popen[bytes] | None = None
        self._failure = ""
        # the package as this process imports it, wherever that is (an installed copy, a
        # source tree on PYTHONPATH or added to sys.path by a script)
        package_root = str(Path(__file__).resolve().parents[2])
        path = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p)
        try:
            self._process = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._errors,
                env={**os.environ, "PYTHONPATH": path},
            )
        except OSError as error:
            self._failure = f"it could not be started ({error})"

    @property
    def submitted(self) -> bool:
        """Whether the worker has been handed its results."""
        return self._folder is not None

    def submit(self, results: Mapping[str, Any], folder: Path) -> None:
        """Send ``results`` (JSON-ready, as results.json holds them; at least the sections
        the figures read, :data:`alliance.report.figures.SECTIONS`) to be drawn into
        ``folder``; returns as soon as the worker has read them."""
        if self.submitted:
            raise RuntimeError("a FigureWorker draws one set of figures")
        self._folder = Path(folder).absolute()  # the same folder whatever either's directory
        if self._process is None or self._process.stdin is None:
            return
        message = json.dumps({"folder": str(self._folder), "results": results}).encode()
        try:
            self._process.stdin.write(message)
            self._process.stdin.close()
        except OSError as error:  # the worker stopped before reading
            self._failure = f"it stopped before reading the results ({error})"

    def result(self) -> list[FigureFile] | None:
        """The figures the worker wrote, once it is done; None, with a warning, when it
        failed (the caller then draws them itself)."""
        if self._folder is None:
            raise RuntimeError("FigureWorker.result() before submit()")
        listed = None
        if self._process is not None and self._process.stdout is not None and not self._failure:
            output = self._process.stdout.read()  # its only pipe: stderr goes to a file
            if self._process.wait() == 0:
                try:
                    listed = json.loads(output)
                except ValueError:  # something else wrote to its stdout
                    self._failure = f"its list of figures is not JSON: {output[:80]!r}"
            else:
                self._errors.seek(0)
                lines = self._errors.read().decode(errors="replace").strip().splitlines()
                self._failure = (f"it stopped with exit code {self._process.returncode}"
                                 + (f": {lines[-1]}" if lines else ""))
        if listed is None:
            warnings.warn(f"the report's figures were drawn in this process: the figure "
                          f"worker failed, {self._failure}.", RuntimeWarning, stacklevel=2)
            return None
        return read_figures(listed, self._folder)

    def close(self) -> None:
        """Stop the worker if it still runs (an error or an interrupt in the caller)."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        for stream in (self._process.stdin, self._process.stdout) if self._process else ():
            if stream is not None:
                stream.close()
        self._errors.close()

    def __enter__(self) -> FigureWorker:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()


def main() -> None:
    """The worker: draw the figures of the results on stdin, list them on stdout."""
    _yield_to_the_study()
    # loaded here, not with the module (the caller imports it too, and draws nothing), and
    # before the message: the caller starts the worker long before it has results, so
    # matplotlib is loaded while it waits
    from alliance.report.figures import write_figures

    message = json.loads(sys.stdin.buffer.read())
    written = write_figures(message["results"], Path(message["folder"]))
    sys.stdout.write(json.dumps([figure.to_dict() for figure in written]))


def _yield_to_the_study() -> None:
    """Run only on cores the study leaves idle: the study's later steps fit models on every
    core, with parallel loops that wait for their slowest thread. Linux's ``SCHED_IDLE``
    policy lets the worker run only when a core has nothing else to do, and gives the core
    back at once when a thread of the study wakes; ``nice`` where there is no such policy."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        if hasattr(os, "nice"):
            os.nice(19)


if __name__ == "__main__":
    main()
