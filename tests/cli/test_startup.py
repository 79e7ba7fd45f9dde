"""``alliance --help`` and every command's ``--help`` load none of the computing layers.

Each command imports its layers (pandas, scipy, the compiled engine, the study pipeline) when
it runs, so that the help answers at once. Checked by what a fresh process has imported, not by
timing it (benchmarks/cold_start.py times it).

Besides the layers, a help loads neither pydantic (typer builds a pydantic validator for any
option value that is not already a ``bool``; :class:`alliance.cli.app.AllianceGroup` gives the
group's ``--help`` flag a ``bool`` default so that ``alliance COMMAND --help`` builds none)
nor rich's progress bars, nor the instruments layer (the help of ``score --instrument`` lists
the shipped definitions from their folder), and importing the app does not load rich's tables
either: commands import what they print with when they run.

A fit whose terms are all numeric columns loads neither formulaic nor scipy.sparse (which
formulaic loads): a fifth of a second of its start-up, and only calls and categorical terms
need them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from alliance.cli import score as score_module
from alliance.cli.common import help_paragraphs
from alliance.cli.score import shipped_instruments

#: Packages and layers that neither importing the app nor a --help may load.
HEAVY = (
    "numpy",
    "pandas",
    "scipy",
    "numba",
    "formulaic",
    "matplotlib",
    "pydantic",
    "pydantic_core",
    "rich.progress",
    "alliance.io",
    "alliance.apa",
    "alliance.app",
    "alliance.instruments",
    "alliance.scales",
    "alliance.mixed",
    "alliance.simulate",
    "alliance.study",
    "alliance.power",
    "alliance.report",
)
#: Loaded by typer's rich help (typer.rich_utils), but not by importing the app.
PRINTING = ("rich.table", "rich.box", "typer.rich_utils")
COMMANDS = ("fit", "efa", "score", "simulate", "replicate", "analyze", "power")

#: Runs the app with the arguments given to it and prints the modules it imported and its
#: exit code, as JSON.
PROBE = """
import json, sys
from contextlib import redirect_stdout
from io import StringIO
from alliance.cli.app import app
args = sys.argv[1:]
code = None
if args:
    with redirect_stdout(StringIO()):
        try:
            app(args)
        except SystemExit as exit:
            code = exit.code
print(json.dumps({"modules": sorted(sys.modules), "exit_code": code}))
"""

FIT_DATA = Path(__file__).resolve().parents[1] / "reference" / "data" / "alliance_sim.csv"
FIT_FORMULA = "wai ~ time * (burdens + satisfactions) + (time | therapist/patient)"


def probe(*args: str) -> tuple[list[str], object]:
    """The modules a fresh process has imported after running ``alliance ARGS``, and the
    exit code."""
    run = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True,
                         check=True)
    found = json.loads(run.stdout)
    return found["modules"], found["exit_code"]


def imported(*args: str, among: tuple[str, ...] = HEAVY) -> list[str]:
    """The modules of ``among`` (and their submodules) that a fresh process has imported
    after running ``alliance ARGS``."""
    modules, _ = probe(*args)
    return [m for m in modules if any(m == h or m.startswith(h + ".") for h in among)]


def test_importing_the_app_loads_no_layer() -> None:
    assert imported() == []


def test_importing_the_app_loads_no_table_or_help_formatter() -> None:
    assert imported(among=PRINTING) == []


def test_the_probe_sees_what_a_command_imports() -> None:
    # the checks above could pass vacuously: a command that parses its options (here analyze
    # without its configuration, refused before it imports a layer) builds typer's pydantic
    # validators, and the rich help loads rich's tables
    assert "pydantic" in imported("analyze")
    assert "rich.table" in imported("--help", among=PRINTING)


def test_the_score_help_lists_the_shipped_instruments() -> None:
    from alliance.instruments import list_instruments

    assert shipped_instruments() == list_instruments() != []


def test_shipped_instruments_outside_a_folder_asks_the_layer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a package that is no folder on disk (a zip archive): the layer lists its definitions
    monkeypatch.setattr(score_module, "find_spec", lambda name: None)
    monkeypatch.setattr("alliance.instruments.list_instruments", lambda: ["from-the-layer"])
    assert shipped_instruments() == ["from-the-layer"]


def test_help_paragraphs_join_the_lines_of_prose_only() -> None:
    text = "Short help.\n\nProse wrapped\nin the source.\n\n  example one\n  continued\n\nEnd."
    assert help_paragraphs(text) == (
        "Short help.\n\nProse wrapped in the source.\n\n  example one\n  continued\n\nEnd."
    )


@pytest.mark.parametrize("command", ["fit", "power"])
def test_long_helps_wrap_at_the_terminal_width_only(command: str) -> None:
    # a line break kept from the source would leave a short line before the next one
    from typer.testing import CliRunner

    from alliance.cli.app import app

    result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0
    prose = result.stdout.split("╭")[0].splitlines()
    for line, following in zip(prose, prose[1:], strict=False):
        if line.strip() and following.strip() and not following.startswith("   "):
            # the next line's first word would have fitted on this one
            assert len(line.rstrip()) + 1 + len(following.split()[0]) > 79, (line, following)


def test_the_group_help_flag_is_false_when_not_given() -> None:
    from typer.main import get_command

    from alliance.cli.app import AllianceGroup, app

    group = get_command(app)
    assert isinstance(group, AllianceGroup)
    context = group.make_context("alliance", ["fit", "--help"], resilient_parsing=True)
    option = group.get_help_option(context)
    assert option is not None and option.default is False


@pytest.mark.parametrize("args", [("--help",), *((command, "--help") for command in COMMANDS)])
def test_help_loads_no_layer(args: tuple[str, ...]) -> None:
    assert imported(*args) == []


def test_a_fit_of_numeric_terms_loads_neither_formulaic_nor_scipy_sparse() -> None:
    modules, code = probe("fit", str(FIT_DATA), "--formula", FIT_FORMULA)
    assert code == 0  # fitted, not refused before the formula is read
    assert [m for m in modules if m.split(".")[0] == "formulaic"
            or m == "scipy.sparse" or m.startswith("scipy.sparse.")] == []


def test_a_fit_with_a_categorical_term_loads_formulaic() -> None:
    # the check above could pass vacuously
    modules, code = probe("fit", str(FIT_DATA), "--formula",
                          "wai ~ time + C(session > 6) + (1 | therapist/patient)")
    assert code == 0
    assert "formulaic" in modules


FREEZE_PROBE = """
import gc, sys
from alliance.cli.app import main
sys.argv = ["alliance", *sys.argv[1:]]
try:
    main()
except SystemExit as exit:
    code = exit.code
print(f"{code} {gc.get_freeze_count() > 0}", file=sys.stderr)
"""


@pytest.mark.parametrize(("args", "code"), [(("--help",), 0), (("fit", "--bogus"), 2)])
def test_the_command_leaves_the_final_garbage_collections_out(
    args: tuple[str, ...], code: int
) -> None:
    # the objects that exist when a command ends are frozen, so that the interpreter's last
    # collections do not walk them (about 0.25 s of every command); the exit code is the
    # command's
    done = subprocess.run([sys.executable, "-c", FREEZE_PROBE, *args], capture_output=True,
                          text=True, check=False)
    assert done.stderr.strip().splitlines()[-1] == f"{code} True"


def test_the_study_pipeline_and_the_report_do_not_load_scipy_stats() -> None:
    # the distributions they use are scipy.special's functions (t, normal, F, chi-square),
    # which scipy.stats itself calls; importing scipy.stats took 0.2 s of every study run
    code = ("import sys, alliance.app.runs, alliance.report.write, alliance.study.coverage; "
            "print('scipy.special' in sys.modules, 'scipy.stats' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.split() == ["True", "False"]
