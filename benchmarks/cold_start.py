"""How long a user waits from the shell: first fit, a later fit, --help; next to Rscript + lme4.

Every measurement is a fresh process, as a user meets the tool:

- ``cold``: ``alliance fit`` with an empty kernel cache (``NUMBA_CACHE_DIR`` pointed at a new
  folder), i.e. the first fit on a new installation, which compiles the kernels;
- ``warm``: the same command again, the kernels loaded from that cache (median of
  ``--repeats``);
- ``lme4``: ``Rscript`` fitting the same model to the same file with ``lmer`` and printing
  its summary (median of ``--repeats``; skipped when ``Rscript`` or lme4 is missing);
- ``help``: ``alliance --help`` and each command's ``--help``: the median and the minimum
  wall-clock time of ``--repeats`` runs, and the minimum CPU time (user + system) of the
  process, which other work on a shared machine inflates less than the wall-clock time.

The data are the reference study's size (``tests/reference/data/alliance_sim.csv``: 1,288
sessions of 227 patients of 70 therapists) and its growth model. Times are in seconds; the
1-minute load average is printed with them, since other work inflates every time here.
``alliance`` is the console script installed next to this interpreter (not a shim in front of
it, such as pyenv's, which adds its own start-up), or the one on ``PATH``.

    python benchmarks/cold_start.py [--repeats 5] [--help-only] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "tests" / "reference" / "data" / "alliance_sim.csv"
FORMULA = "wai ~ time * (burdens + satisfactions) + (time | therapist/patient)"
COMMANDS = ("analyze", "efa", "fit", "power", "replicate", "score", "simulate")
R_SCRIPT = (
    "suppressMessages(library(lme4)); d <- read.csv('{data}'); "
    "m <- lmer({formula}, d); print(summary(m))"
)


def console_script() -> str:
    """The ``alliance`` script installed with this interpreter, else the one on ``PATH``."""
    beside = Path(sys.executable).with_name("alliance")
    if beside.is_file():
        return str(beside)
    found = shutil.which("alliance")
    if found is None:
        raise SystemExit("the alliance console script is not installed (pip install -e .)")
    return found


def timed_with_cpu(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall-clock and CPU (user + system) seconds of ``command`` (which must succeed)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env=env)
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def timed(command: list[str], env: dict[str, str] | None = None) -> float:
    """Wall-clock seconds of ``command`` (which must succeed)."""
    return timed_with_cpu(command, env)[0]


def median_of(repeats: int, command: list[str], env: dict[str, str] | None = None) -> float:
    return statistics.median(timed(command, env) for _ in range(repeats))


def help_times(repeats: int, command: list[str]) -> tuple[float, float, float]:
    """Median and minimum wall-clock seconds and minimum CPU seconds of ``repeats`` runs."""
    runs = [timed_with_cpu(command) for _ in range(repeats)]
    walls = [wall for wall, _ in runs]
    return statistics.median(walls), min(walls), min(cpu for _, cpu in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--help-only", action="store_true",
                        help="Time only the --help of the app and of each command.")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    alliance = console_script()
    results: dict[str, object] = {"load_before": os.getloadavg()[0]}
    if not args.help_only:
        fit = [alliance, "fit", str(DATA), "--formula", FORMULA]
        with tempfile.TemporaryDirectory() as cache:
            env = {**os.environ, "NUMBA_CACHE_DIR": cache}
            results["cold_fit"] = timed(fit, env)
            results["warm_fit"] = median_of(args.repeats, fit, env)
        rscript = shutil.which("Rscript")
        if rscript:
            script = R_SCRIPT.format(data=DATA, formula=FORMULA)
            try:
                results["lme4_fit"] = median_of(args.repeats, [rscript, "-e", script])
            except subprocess.CalledProcessError:
                results["lme4_fit"] = None
    for name, command in [("help", [alliance, "--help"]),
                          *((f"{c}_help", [alliance, c, "--help"]) for c in COMMANDS)]:
        median, fastest, cpu = help_times(args.repeats, command)
        results[name], results[f"{name}_min"], results[f"{name}_cpu_min"] = median, fastest, cpu
    results["load_after"] = os.getloadavg()[0]
    print(f"1-minute load average {results['load_before']:.2f} before, "
          f"{results['load_after']:.2f} after")
    print("| measurement | seconds |\n|---|---|")
    for key, value in results.items():
        if not key.startswith("load") and value is not None:
            print(f"| {key} | {value:.3f} |")
    if results.get("lme4_fit"):
        ratio = results["warm_fit"] / results["lme4_fit"]  # type: ignore[operator]
        print(f"\nwarm alliance fit / Rscript lme4 fit: {ratio:.2f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
