"""The consoles and progress bars every command shares.

Redirected output (a file, a pipe, a CI log) keeps every table row whole: rich assumes 80
columns when its stream is not a terminal, and would cut or wrap a long row. Progress bars
say how far they are out of how much.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from rich.console import Console

import alliance.cli.replicate as replicate_module
from alliance.cli.common import UNWRAPPED_WIDTH, make_console, progress_bar
from alliance.study.pipeline import STEPS

REFERENCE = Path(__file__).parents[1] / "reference" / "data" / "alliance_sim.csv"
LONG = "personal_satisfactions_at_the_intake_assessment"


def run_redirected(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``alliance ARGS`` in a fresh process, stdout and stderr captured (not terminals)."""
    env = {key: value for key, value in os.environ.items() if key != "COLUMNS"}
    command = [sys.executable, "-c", "from alliance.cli.app import main; main()", *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600, check=False)


def rows_of(output: str, first: str) -> list[list[str]]:
    """The words of each line that starts with ``first``."""
    return [line.split() for line in output.splitlines() if line.split()[:1] == [first]]


def row_of(output: str, first: str) -> list[str]:
    """The words of the one line that starts with ``first``."""
    rows = rows_of(output, first)
    assert len(rows) == 1, output
    return rows[0]


def test_redirected_fit_keeps_long_rows_whole(tmp_path: Path) -> None:
    data = pd.read_csv(REFERENCE).rename(columns={"satisfactions": LONG})
    data.to_csv(tmp_path / "long.csv", index=False)
    formula = f"wai ~ time * (burdens + {LONG}) + (time | therapist/patient)"
    run = run_redirected("fit", "long.csv", "--formula", formula, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    # term, estimate, SE, df, t, p and both ends of the CI on the term's own line
    cells = row_of(run.stdout, f"time:{LONG}")
    assert len(cells) == 8 and cells[-2].startswith("[") and cells[-1].endswith("]")
    assert len(" ".join(cells)) > 80
    assert row_of(run.stdout, "(Intercept)")[5:7] == ["<", ".001"]
    heading = row_of(run.stdout, "term")
    assert heading == ["term", "estimate", "SE", "df", "t", "p", "95%", "CI"]
    # the formula line is not wrapped either
    assert f"Formula: {formula}" in run.stdout.splitlines()


def test_redirected_power_keeps_long_rows_whole(tmp_path: Path) -> None:
    run = run_redirected("power", "--therapists", "12", "--replications", "4", "--workers", "1",
                         "--seed", "4", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    # the power table's row (effect, true, d, power, its CI, z power), then the checks
    # table's (effect, type I, its CI, bias, coverage, singular, failed)
    power, checks = rows_of(run.stdout, "time:personal_satisfactions")
    assert len(power) == 6 and power[4].startswith("(") and power[4].endswith(")")
    assert len(checks) == 7 and checks[2].startswith("(") and checks[-2] == "4/4"
    assert run.stdout.splitlines()[0].startswith("Design: 12 therapists")
    assert run.stdout.splitlines()[0].endswith("median 28 sessions")


def test_consoles_wrap_only_on_terminals(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    console = make_console()
    assert console.width == UNWRAPPED_WIDTH and not console.is_terminal
    monkeypatch.setenv("COLUMNS", "100")
    assert make_console().width == 100


def rendered(bar: object) -> str:
    console = Console(file=io.StringIO(), width=120, force_terminal=True, record=True)
    console.print(bar.get_renderable())  # type: ignore[attr-defined]
    return console.export_text()


def test_progress_bars_show_the_total() -> None:
    bar = progress_bar("replications", Console(file=io.StringIO()), remaining=True)
    unknown = bar.add_task("simulating", total=None)
    assert "0/? replications" in rendered(bar)
    bar.update(unknown, total=1000, completed=120)
    assert "120/1000 replications" in rendered(bar)


def test_study_progress_counts_the_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    output = io.StringIO()
    monkeypatch.setattr(replicate_module, "stdout",
                        Console(file=output, width=120, force_terminal=True))
    seen: list[str] = []

    def task(progress):  # type: ignore[no-untyped-def]
        progress(STEPS[1], 1, len(STEPS))
        progress(STEPS[2], 3, len(STEPS))
        seen.append("ran")
        return "run"

    assert replicate_module.with_progress(task) == "run" and seen == ["ran"]
    assert f"3/{len(STEPS)} steps" in output.getvalue()
