"""``alliance --help`` and every command's ``--help`` load none of the computing layers.

Each command imports its layers (pandas, scipy, the compiled engine, the study pipeline) when
it runs, so that the help answers at once. Checked by what a fresh process has imported, not by
timing it.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

#: Packages and layers that neither importing the app nor a --help may load.
HEAVY = (
    "numpy",
    "pandas",
    "scipy",
    "numba",
    "formulaic",
    "matplotlib",
    "alliance.io.table",
    "alliance.instruments.scoring",
    "alliance.scales",
    "alliance.mixed",
    "alliance.simulate",
    "alliance.study",
    "alliance.power",
    "alliance.report",
)
COMMANDS = ("fit", "efa", "score", "simulate", "replicate", "analyze", "power")

#: Runs the app with the arguments given to it and prints the modules it imported, as JSON.
PROBE = """
import json, sys
from contextlib import redirect_stdout
from io import StringIO
from alliance.cli.app import app
args = sys.argv[1:]
if args:
    with redirect_stdout(StringIO()):
        try:
            app(args)
        except SystemExit:
            pass
print(json.dumps(sorted(sys.modules)))
"""


def imported(*args: str) -> list[str]:
    """The heavy modules a fresh process has imported after running ``alliance ARGS``."""
    run = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True,
                         check=True)
    modules = json.loads(run.stdout)
    return [m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY)]


def test_importing_the_app_loads_no_layer() -> None:
    assert imported() == []


@pytest.mark.parametrize("args", [("--help",), *((command, "--help") for command in COMMANDS)])
def test_help_loads_no_layer(args: tuple[str, ...]) -> None:
    assert imported(*args) == []
