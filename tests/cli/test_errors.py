"""Every command ends the same way on an unexpected error or an interruption: one line on
stderr, a meaningful exit code, the traceback only with --debug."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alliance.cli.app import app
from alliance.cli.common import EXIT_UNEXPECTED

runner = CliRunner()


def _failing(error: BaseException) -> object:
    def fail(*args: object, **kwargs: object) -> None:
        raise error

    return fail


@pytest.mark.parametrize(
    ("error", "code", "line"),
    [
        (RuntimeError("boom"), EXIT_UNEXPECTED,
         "Error: alliance simulate failed (RuntimeError: boom). Run it again with --debug to "
         "see the details."),
        (PermissionError(13, "Permission denied", "/data/x.csv"), EXIT_UNEXPECTED,
         "Error: alliance simulate failed (Permission denied: /data/x.csv)."),
        (KeyboardInterrupt(), 130, "Interrupted (SIGINT); nothing was written."),
    ],
)
def test_one_line_and_an_exit_code(
    error: BaseException, code: int, line: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("alliance.simulate.simulate_study", _failing(error))
    result = runner.invoke(app, ["simulate", "--out", str(tmp_path / "s")])
    assert result.exit_code == code
    assert " ".join(result.stderr.split()).startswith(line)
    assert len(result.stderr.strip().splitlines()) <= 2  # one line, wrapped at most once
    assert "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []


def test_sigterm_inside_a_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def terminated(*args: object, **kwargs: object) -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler raises before this ends

    monkeypatch.setattr("alliance.simulate.simulate_study", terminated)
    result = runner.invoke(app, ["simulate", "--out", str(tmp_path / "s")])
    assert result.exit_code == 143
    assert "Interrupted (SIGTERM); nothing was written." in result.stderr
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the handler is removed again


def test_debug_shows_the_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("alliance.simulate.simulate_study", _failing(RuntimeError("boom")))
    result = runner.invoke(app, ["simulate", "--out", str(tmp_path / "s"), "--debug"])
    assert isinstance(result.exception, RuntimeError)
