"""Speed of ``alliance.scales.efa`` next to factor_analyzer and psych, as ratios, in one run.

Task: a two-factor minres EFA with oblimin rotation of 5,000 respondents x 20 simulated items
(ten items per factor, loadings 0.5-0.8, factor correlation 0.3, responses on a 1-5 scale),
starting from the raw responses (each engine computes the correlation matrix itself).

Engines
    alliance         ``efa(data, 2, method="minres", rotation="oblimin", parallel=False)``
                     (10 rotation starts, the default)
    alliance-1start  the same with ``n_starts=1`` (one start, like the peers)
    factor_analyzer  ``FactorAnalyzer(2, rotation="oblimin", method="minres").fit(data)``; it
                     fails with recent scikit-learn (``check_array(force_all_finite=...)``), which
                     is caught and reported
    psych            ``psych::fa(x, 2, fm = "minres", rotate = "oblimin")`` through Rscript
                     (timed inside R with ``system.time``; reading the CSV is not timed)

Each engine fits once untimed (imports, caches), then ``--repeats`` timed fits; the median is
reported (and the fastest, less disturbed by other load on the machine) with the ratio of
medians engine / alliance and the largest loading difference from alliance's solution (after
matching factor order and sign). Python engines run with BLAS limited to one
thread (R's reference BLAS is single-threaded too), if threadpoolctl is installed.

Usage: python benchmarks/efa_speed.py [--repeats 5] [--skip-r] [--json out.json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

N_RESPONDENTS = 5_000
N_ITEMS = 20
SEED = 20240501

R_SCRIPT = r"""
suppressPackageStartupMessages({library(psych); library(GPArotation); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
x <- read.csv(args[1])
repeats <- as.integer(args[2])
f <- fa(x, 2, fm = "minres", rotate = "oblimin", warnings = FALSE)  # untimed warm-up
times <- vapply(seq_len(repeats), function(i) {
  system.time(f <- fa(x, 2, fm = "minres", rotate = "oblimin", warnings = FALSE))[["elapsed"]]
}, numeric(1))
cat(toJSON(list(seconds = times, loadings = unclass(f$loadings),
                psych = as.character(packageVersion("psych"))), digits = NA, auto_unbox = TRUE))
"""


@dataclass
class Outcome:
    """One engine's result: median seconds, all timings, loading difference, or the error."""

    engine: str
    seconds: float | None = None
    all_seconds: list[float] | None = None
    max_loading_difference: float | None = None
    error: str = ""


def simulate_items(seed: int = SEED) -> pd.DataFrame:
    """Two correlated factors, ten items each, continuous scores cut into five categories."""
    rng = np.random.default_rng(seed)
    loadings = np.zeros((N_ITEMS, 2))
    half = N_ITEMS // 2
    loadings[:half, 0] = np.linspace(0.5, 0.8, half)
    loadings[half:, 1] = np.linspace(0.8, 0.5, half)
    factors = rng.multivariate_normal([0, 0], [[1, 0.3], [0.3, 1]], size=N_RESPONDENTS)
    unique = np.sqrt(1 - (loadings**2).sum(axis=1))
    latent = factors @ loadings.T + rng.standard_normal((N_RESPONDENTS, N_ITEMS)) * unique
    responses = np.digitize(latent, [-1.5, -0.5, 0.5, 1.5]) + 1
    return pd.DataFrame(responses, columns=[f"item{i + 1:02d}" for i in range(N_ITEMS)])


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[str]:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield "BLAS threads not limited (threadpoolctl not installed)"
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield "BLAS limited to 1 thread"


def time_python(fit: Callable[[], np.ndarray], repeats: int) -> tuple[list[float], np.ndarray]:
    loadings = fit()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        loadings = fit()
        seconds.append(time.perf_counter() - start)
    return seconds, loadings


def run_alliance(data: pd.DataFrame, repeats: int, n_starts: int) -> tuple[Outcome, np.ndarray]:
    from alliance.scales import efa

    def fit() -> np.ndarray:
        result = efa(data, 2, method="minres", rotation="oblimin", parallel=False,
                     n_starts=n_starts)  # fmt: skip
        return np.array(result.pattern)

    seconds, loadings = time_python(fit, repeats)
    name = "alliance" if n_starts > 1 else "alliance-1start"
    return Outcome(name, statistics.median(seconds), seconds), loadings


def run_factor_analyzer(data: pd.DataFrame, repeats: int) -> tuple[Outcome, np.ndarray | None]:
    try:
        from factor_analyzer import FactorAnalyzer

        def fit() -> np.ndarray:
            model = FactorAnalyzer(n_factors=2, rotation="oblimin", method="minres")
            model.fit(data)
            return np.asarray(model.loadings_)

        seconds, loadings = time_python(fit, repeats)
    except Exception as error:  # report any failure of the peer, do not stop the benchmark
        last = traceback.extract_tb(error.__traceback__)[-1]
        where = f"{Path(last.filename).name}:{last.lineno}"
        return Outcome("factor_analyzer", error=f"{type(error).__name__} at {where}: {error}"), None
    return Outcome("factor_analyzer", statistics.median(seconds), seconds), loadings


def run_psych(data: pd.DataFrame, repeats: int) -> tuple[Outcome, np.ndarray | None, str]:
    if shutil.which("Rscript") is None:
        return Outcome("psych", error="Rscript not found"), None, ""
    with tempfile.TemporaryDirectory() as folder:
        csv = Path(folder) / "items.csv"
        script = Path(folder) / "fa.R"
        data.to_csv(csv, index=False)
        script.write_text(R_SCRIPT, encoding="utf-8")
        done = subprocess.run(
            ["Rscript", str(script), str(csv), str(repeats)],
            capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
    if done.returncode != 0:
        return Outcome("psych", error=f"Rscript failed: {done.stderr.strip()[-300:]}"), None, ""
    payload = json.loads(done.stdout)
    seconds = [float(s) for s in payload["seconds"]]
    outcome = Outcome("psych", statistics.median(seconds), seconds)
    return outcome, np.array(payload["loadings"], dtype=float), str(payload["psych"])


def loading_difference(reference: np.ndarray, other: np.ndarray) -> float:
    """Largest absolute difference after aligning the other's factor order and signs."""
    k = reference.shape[1]
    best = np.inf
    for order in ([0, 1], [1, 0]) if k == 2 else [list(range(k))]:
        aligned = other[:, order]
        aligned = aligned * np.sign(np.sum(aligned * reference, axis=0))
        best = min(best, float(np.abs(aligned - reference).max()))
    return best


def versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "numpy": np.__version__}
    for package in ("scipy", "pandas", "factor_analyzer", "scikit-learn"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[package] = metadata.version(package)
    return out


def render(outcomes: list[Outcome]) -> str:
    base = next(o.seconds for o in outcomes if o.engine == "alliance")
    lines = [f"{'engine':<17}{'median s':>10}{'min s':>9}{'ratio':>8}{'max |dL|':>11}  note"]
    for o in outcomes:
        if o.seconds is None or not o.all_seconds:
            lines.append(f"{o.engine:<17}{'-':>10}{'-':>9}{'-':>8}{'-':>11}  {o.error}")
            continue
        ratio = f"{o.seconds / base:.2f}" if base else "-"
        diff = "-" if o.max_loading_difference is None else f"{o.max_loading_difference:.1e}"
        fastest = min(o.all_seconds)
        lines.append(f"{o.engine:<17}{o.seconds:>10.4f}{fastest:>9.4f}{ratio:>8}{diff:>11}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip-r", action="store_true", help="do not run psych through Rscript")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    args = parser.parse_args(argv)

    data = simulate_items()
    print(f"Task: 2-factor minres/oblimin EFA, {N_RESPONDENTS} respondents x {N_ITEMS} items, "
          f"{args.repeats} timed fits per engine (median)")  # fmt: skip
    outcomes: list[Outcome] = []
    with single_threaded_blas() as blas_note:
        alliance, reference = run_alliance(data, args.repeats, n_starts=10)
        one_start, one_loadings = run_alliance(data, args.repeats, n_starts=1)
        one_start.max_loading_difference = loading_difference(reference, one_loadings)
        outcomes += [alliance, one_start]
        fa_outcome, fa_loadings = run_factor_analyzer(data, args.repeats)
        if fa_loadings is not None:
            fa_outcome.max_loading_difference = loading_difference(reference, fa_loadings)
        outcomes.append(fa_outcome)
    alliance.max_loading_difference = 0.0
    psych_version = ""
    if args.skip_r:
        outcomes.append(Outcome("psych", error="skipped (--skip-r)"))
    else:
        psych_outcome, psych_loadings, psych_version = run_psych(data, args.repeats)
        if psych_loadings is not None:
            psych_outcome.max_loading_difference = loading_difference(reference, psych_loadings)
        outcomes.append(psych_outcome)
    print(f"Python engines: {blas_note}; ratio = engine time / alliance time")
    print(render(outcomes))
    info = versions() | ({"psych": psych_version} if psych_version else {})
    print("Versions: " + ", ".join(f"{k} {v}" for k, v in info.items()))
    if args.json is not None:
        payload: dict[str, Any] = {
            "task": {"respondents": N_RESPONDENTS, "items": N_ITEMS, "seed": SEED},
            "repeats": args.repeats,
            "results": [asdict(o) for o in outcomes],
            "versions": info,
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
