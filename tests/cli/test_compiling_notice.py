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
    to which each question appends "cached? <random effects per level>" and each call of
    ``compile_kernels`` "compiled <random effects per level>"."""
    calls: list[str] = []

    def kernels_cached(q_per_level=(2, 2)):
        calls.append(f"cached? {tuple(q_per_level)}")
        return cached

    def compile_kernels(q_per_level=(2, 2), threaded=False):
        calls.append(f"compiled {tuple(q_per_level)}")

    monkeypatch.setattr("alliance.mixed.compile_cache.kernels_cached", kernels_cached)
    monkeypatch.setattr("alliance.mixed.compile_cache.compile_kernels", compile_kernels)
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
    calls = cache_state(monkeypatch, cached)
    code, output, errors = invoke("fit", str(SLEEP), "--formula", FORMULA)
    assert code == 0, output + errors
    assert "Fixed effects" in output
    assert calls == ["cached? (2,)"]  # the kernels of this model: one level, q = 2
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
    # the example design: a random intercept and slope for therapists and patients
    if cached:
        assert calls == ["cached? (2, 2)", "ran"]
        assert COMPILING not in errors
    else:
        assert calls == ["cached? (2, 2)", "compiled (2, 2)", "ran"]
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
    # the kernels of the growth models and those of every other model (null, joint)
    compiled = [
        call for q in ("(2, 2)", "(1, 1)")
        for call in ([f"cached? {q}"] if cached else [f"cached? {q}", f"compiled {q}"])
    ]
    assert calls == [*STEPS[: first + 1], *compiled, *STEPS[first + 1 :]]
    assert first > STEPS.index("Reading and checking the data")


def test_fit_reports_a_mistake_before_any_notice(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = cache_state(monkeypatch, False)
    code, output, errors = invoke("fit", str(SLEEP), "--formula", "Reaction ~ Days + (Dayz | Subject)")
    assert code != 0
    assert "Dayz" in errors
    assert COMPILING not in errors and COMPILING not in output
    assert calls == []


def test_fit_asks_for_the_kernels_of_its_own_model(monkeypatch: pytest.MonkeyPatch) -> None:
    # a random intercept only runs the kernels for any q, a version of their own
    calls = cache_state(monkeypatch, True)
    code, output, errors = invoke("fit", str(SLEEP), "--formula", "Reaction ~ Days + (1 | Subject)")
    assert code == 0, output + errors
    assert calls == ["cached? (1,)"]
