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
    ("args", "runs"),
    [
        (("replicate",), "alliance.study.replicate"),
        (("analyze", "study.toml"), "alliance.study.analyze"),
        (("power", "--replications", "10"), "alliance.power.power_analysis"),
    ],
)
@pytest.mark.parametrize("cached", [False, True])
def test_pipelines_compile_the_kernels_first_under_the_notice(
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
