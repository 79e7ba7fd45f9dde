"""How long a user waits from the shell: first fit, a later fit, --help; next to Rscript + lme4.

Every measurement is a fresh process, as a user meets the tool:

- ``cold``: ``alliance fit`` with an empty kernel cache (``NUMBA_CACHE_DIR`` pointed at a new
  folder), i.e. the first fit on a new installation, which compiles the kernels;
- ``warm``: the same command again, the kernels loaded from that cache (median of
  ``--repeats``);
- ``lme4``: ``Rscript`` fitting the same model to the same file with ``lmer`` and printing
  its summary (median of ``--repeats``; skipped when ``Rscript`` or lme4 is missing);
- ``help``: ``alliance --help`` and each command's ``--help`` (median of ``--repeats``).

The data are the reference study's size (``tests/reference/data/alliance_sim.csv``: 1,288
sessions of 227 patients of 70 therapists) and its growth model. Times are wall-clock seconds;
the 1-minute load average is printed with them, since other work inflates every time here.

    python benchmarks/cold_start.py [--repeats 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
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


def timed(command: list[str], env: dict[str, str] | None = None) -> float:
    """Wall-clock seconds of ``command`` (which must succeed)."""
    began = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env=env)
    return time.perf_counter() - began


def median_of(repeats: int, command: list[str], env: dict[str, str] | None = None) -> float:
    return statistics.median(timed(command, env) for _ in range(repeats))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results: dict[str, object] = {"load_before": os.getloadavg()[0]}
    fit = ["alliance", "fit", str(DATA), "--formula", FORMULA]
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
    results["help"] = median_of(args.repeats, ["alliance", "--help"])
    for command in COMMANDS:
        results[f"{command}_help"] = median_of(args.repeats, ["alliance", command, "--help"])
    results["load_after"] = os.getloadavg()[0]
    print(f"1-minute load average {results['load_before']:.2f} before, "
          f"{results['load_after']:.2f} after")
    print("| measurement | seconds |\n|---|---|")
    for key, value in results.items():
        if not key.startswith("load") and value is not None:
            print(f"| {key} | {value:.2f} |")
    if results.get("lme4_fit"):
        ratio = results["warm_fit"] / results["lme4_fit"]  # type: ignore[operator]
        print(f"\nwarm alliance fit / Rscript lme4 fit: {ratio:.2f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
