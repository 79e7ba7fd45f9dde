"""The commands that fit models say so on stderr when the first fit compiles the kernels."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from alliance.cli.app import app
from alliance.cli.common import COMPILING, MAY_COMPILE

REFERENCE = Path(__file__).resolve().parents[1] / "reference"
SLEEP = REFERENCE / "data" / "sleepstudy.csv"
FORMULA = "Reaction ~ Days + (Days | Subject)"
runner = CliRunner()


def cache_state(monkeypatch: pytest.MonkeyPatch, cached: bool | None) -> list[str]:
    """Pretend numba's cache holds the kernels (or not, or cannot be read); returns the list
    to which each call of ``compile_kernels`` appends "compiled"."""
    calls: list[str] = []
    monkeypatch.setattr("alliance.mixed.compile_cache.kernels_cached", lambda: cached)
    monkeypatch.setattr("alliance.mixed.compile_cache.compile_kernels",
                        lambda: calls.append("compiled"))
    return calls


def invoke(*args: str) -> tuple[int, str, str]:
    """Exit code, stdout and stderr, with the console's line wrapping undone."""
    result = runner.invoke(app, list(args))
    return result.exit_code, " ".join(result.stdout.split()), " ".join(result.stderr.split())


@pytest.mark.parametrize(("cached", "notice"),
                         [(False, COMPILING), (None, MAY_COMPILE), (True, None)])
def test_fit_tells_when_its_fit_compiles_the_kernels(
    monkeypatch: pytest.MonkeyPatch, cached: bool | None, notice: str | None
) -> None:
    cache_state(monkeypatch, cached)
    code, output, errors = invoke("fit", str(SLEEP), "--formula", FORMULA)
    assert code == 0, output + errors
    assert "Fixed effects" in output
    if notice is None:
        assert errors == ""
    else:
        assert errors == notice
        assert notice not in output


@pytest.mark.parametrize(
    ("args", "runs"), [(("power", "--replications", "10"), "alliance.power.power_analysis")]
)
@pytest.mark.parametrize("cached", [False, True])
def test_power_compiles_the_kernels_before_its_workers_under_the_notice(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, args: tuple[str, ...], runs: str,
    cached: bool
) -> None:
    monkeypatch.chdir(tmp_path)
    calls = cache_state(monkeypatch, cached)

    def run(*args: object, **kwargs: object) -> None:
        calls.append("ran")
        raise typer.Exit(0)

    monkeypatch.setattr(runs, run)
    code, output, errors = invoke(*args)
    assert code == 0, output + errors
    if cached:
        assert calls == ["ran"]
        assert COMPILING not in errors
    else:
        assert calls == ["compiled", "ran"]
        assert COMPILING in errors


@pytest.mark.parametrize("cached", [False, True, None])
def test_the_study_pipeline_compiles_at_its_first_model_fitting_step(
    monkeypatch: pytest.MonkeyPatch, cached: bool | None
) -> None:
    # replicate and analyze: every check of the configuration, the data and the output folder
    # comes before the steps that fit models, so a mistake is not reported after compiling
    from alliance.cli.replicate import with_progress
    from alliance.study.pipeline import FIRST_FITTING_STEP, STEPS

    calls = cache_state(monkeypatch, cached)

    def pipeline(update):
        for index, step in enumerate(STEPS):
            calls.append(step)
            update(step, index, len(STEPS))
        return "run"

    assert with_progress(pipeline) == "run"
    first = STEPS.index(FIRST_FITTING_STEP)
    compiled = [] if cached else ["compiled"]
    assert calls == [*STEPS[: first + 1], *compiled, *STEPS[first + 1 :]]
    assert first > STEPS.index("Reading and checking the data")


def test_fit_reports_a_mistake_before_any_notice(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = cache_state(monkeypatch, False)
    code, output, errors = invoke("fit", str(SLEEP), "--formula", "Reaction ~ Days + (Dayz | Subject)")
    assert code != 0
    assert "Dayz" in errors
    assert COMPILING not in errors and COMPILING not in output
    assert calls == []
