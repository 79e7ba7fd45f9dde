"""Speed of ``alliance power`` next to simulation power with lme4 and mixedlm, as ratios, in one run.

Part 1, per replicate: the same 200 simulated studies of the reference design (70 therapists,
Poisson caseloads of mean 3.24, waves 3/12/20/40, dropout, open-ended treatments; drawn by
``alliance.power`` with seed ``--seed``) are fitted with the growth model

    alliance ~ time * (personal_burdens + personal_satisfactions)
               + (time | therapist) + (time | therapist:patient)         # REML

and ``time:personal_burdens`` is tested with Satterthwaite df, by

- alliance, the whole ``power_analysis(design, replicates=200, workers=1)`` (drawing, model
  arrays, fits, tests, summary and the analytic power), and alliance.mixed.fit on the CSV data
  frames in a loop (the like-for-like engine loop);
- lme4 (what simr runs): ``lme4::lmer`` in an R loop, and ``lmerTest::lmer`` + ``summary`` for
  its Satterthwaite test. simr itself cannot simulate this design (it redraws only the response
  of one fixed data set, while caseloads, dropout and treatment lengths vary here), so the
  loop of fits is its cost floor;
- mixedlm (``pip install mixedlm``): ``mixedlm.lmer`` + ``mixedlm.inference.ddf.satterthwaite_df``
  in a Python loop.

Every engine runs in its own fresh process, fits the first data set once untimed (imports, JIT
compilation), then times the loop with a wall clock; reading the CSV is not timed. The power
each engine finds for ``time:personal_burdens`` on the same 200 data sets is printed beside
its time (a parity check: the decisions should agree).

Part 2, scale: the whole power analysis of ``--replicates`` (default 1000) replicates of the
reference design with 1 and with 2 local worker processes (and, with ``--with-dask``, a Dask
LocalCluster of 2 worker processes), each in a fresh process, timed from the call to the
result; the speed-up from 1 to 2 workers and the target (under 30 s on 2 cores) are printed.

The machine may be shared: timings are wall-clock and noisy; run it on an idle machine for
numbers to quote. ``--profile`` prints the cProfile of 50 replicates in this process.

Usage: python benchmarks/power_speed.py [--replicates 1000] [--peer-replicates 200]
       [--skip-lme4] [--skip-mixedlm] [--with-dask] [--profile] [--json out.json]
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import os
import platform
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

FORMULA = (
    "alliance ~ time * (personal_burdens + personal_satisfactions)"
    " + (time | therapist) + (time | therapist:patient)"
)
EXPANDED = (
    "alliance ~ time + personal_burdens + personal_satisfactions"
    " + time:personal_burdens + time:personal_satisfactions"
    " + (time | therapist) + (time | therapist:patient)"
)
"""FORMULA with the fixed part written out (mixedlm's parser rejects ``time * (a + b)``)."""
TERM = "time:personal_burdens"
ALPHA = 0.05

R_SCRIPT = r"""
suppressPackageStartupMessages({library(lme4); library(lmerTest); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
data <- read.csv(args[[1]])
formula <- alliance ~ time * (personal_burdens + personal_satisfactions) +
  (time | therapist) + (time | therapist:patient)
term <- "time:personal_burdens"
sets <- split(data, data$replicate)
invisible(lme4::lmer(formula, sets[[1]], REML = TRUE))
invisible(summary(lmerTest::lmer(formula, sets[[1]], REML = TRUE)))
z_p <- numeric(0); singular <- 0
t_lme4 <- system.time(for (d in sets) {
  m <- lme4::lmer(formula, d, REML = TRUE)
  z <- fixef(m)[[term]] / sqrt(diag(vcov(m)))[[term]]
  z_p <- c(z_p, 2 * pnorm(-abs(z)))
  singular <- singular + isSingular(m)
})[["elapsed"]]
satt_p <- numeric(0)
t_lmertest <- system.time(for (d in sets) {
  m <- lmerTest::lmer(formula, d, REML = TRUE)
  satt_p <- c(satt_p, summary(m)$coefficients[term, "Pr(>|t|)"])
})[["elapsed"]]
cat(toJSON(list(
  lme4_seconds = t_lme4, lmertest_seconds = t_lmertest, n = length(sets),
  lme4_z_power = mean(z_p < 0.05), lmertest_power = mean(satt_p < 0.05),
  lmertest_p = I(satt_p), singular = singular,
  lme4_version = as.character(packageVersion("lme4")),
  lmertest_version = as.character(packageVersion("lmerTest"))
), auto_unbox = TRUE, digits = NA), "\n")
"""


# ---------------------------------------------------------------- worker side


def _datasets(path: str) -> list[pd.DataFrame]:
    data = pd.read_csv(path)
    return [frame.drop(columns="replicate") for _, frame in data.groupby("replicate", sort=True)]


def worker_alliance_loop(path: str) -> dict[str, Any]:
    from alliance.mixed import fit

    sets = _datasets(path)
    warnings.simplefilter("ignore")
    fit(FORMULA, sets[0]).fixed_effects  # noqa: B018 - warm-up: imports, compiled kernels
    p_values = []
    began = time.perf_counter()
    for frame in sets:
        table = fit(FORMULA, frame).fixed_effects
        p_values.append(float(table.loc[table["term"] == TERM, "p"].iloc[0]))
    seconds = time.perf_counter() - began
    return {"seconds": seconds, "n": len(sets), "p": p_values}


def worker_alliance_power(replicates: int, seed: int, workers: int, dask: bool) -> dict[str, Any]:
    from alliance.power import PowerDesign, power_analysis

    design = PowerDesign.reference()
    warnings.simplefilter("ignore")
    power_analysis(design, replicates=2, workers=1, seed=seed + 1)  # warm-up
    scheduler = None
    cluster = None
    if dask:
        from dask.distributed import Client, LocalCluster

        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        scheduler = Client(cluster)
    began = time.perf_counter()
    result = power_analysis(
        design,
        replicates=replicates,
        workers=None if dask else workers,
        scheduler=scheduler,
        seed=seed,
    )
    seconds = time.perf_counter() - began
    if cluster is not None:
        scheduler.close()
        cluster.close()
    row = result.table[result.table["term"] == TERM].iloc[0]
    p_values = result.replicates.loc[result.replicates["term"] == TERM, "p"].tolist()
    return {
        "seconds": seconds,
        "n": replicates,
        "power": float(row["power"]),
        "analytic_power": float(row["analytic_power"]),
        "singular": int(row["singular"]),
        "not_converged": int(row["not_converged"]),
        "p": p_values,
    }


def worker_mixedlm(path: str) -> dict[str, Any]:
    import mixedlm
    from mixedlm.inference.ddf import satterthwaite_df
    from scipy import stats

    sets = _datasets(path)
    warnings.simplefilter("ignore")
    satterthwaite_df(mixedlm.lmer(EXPANDED, sets[0], REML=True))
    p_values = []
    began = time.perf_counter()
    for frame in sets:
        result = mixedlm.lmer(EXPANDED, frame, REML=True)
        df = satterthwaite_df(result).df
        index = list(result.matrices.fixed_names).index(TERM)
        t = result.beta[index] / np.sqrt(result.vcov()[index, index])
        p_values.append(float(2 * stats.t.sf(abs(t), df[index])))
    seconds = time.perf_counter() - began
    return {"seconds": seconds, "n": len(sets), "p": p_values}


# ---------------------------------------------------------------- driver side


def _run_worker(args: list[str], timeout: float) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", *args]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"exit {proc.returncode}: {' | '.join(tail)}")
    return json.loads(lines[-1])


def write_datasets(replicates: int, seed: int, path: Path) -> None:
    """The studies that ``power_analysis(reference, seed=seed)`` draws, as one CSV."""
    from alliance.power import PowerDesign, draw_layout, draw_response, replicate_rng
    from alliance.power.model import layout_frame

    design = PowerDesign.reference()
    frames = []
    for replicate in range(replicates):
        rng = replicate_rng(seed, 0, replicate)
        layout = draw_layout(design, rng)
        y = draw_response(design, layout, design.fixed_effects(), rng)
        frames.append(layout_frame(design, layout, y).assign(replicate=replicate))
    pd.concat(frames).to_csv(path, index=False, float_format="%.17g")


def _power(p_values: list[float]) -> float:
    return float(np.mean(np.asarray(p_values) < ALPHA))


def _versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in ("alliance", "mixedlm", "numpy", "scipy", "pandas", "numba", "dask"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[name] = metadata.version(name)
    return found


def profile(seed: int) -> None:
    """cProfile of one batch of 50 replicates in this process (after a warm-up batch)."""
    from alliance.power import PowerDesign, Task, run_task

    design = PowerDesign.reference()
    warnings.simplefilter("ignore")
    run_task(Task(0, "alternative", design, (0, 1), seed))
    profiler = cProfile.Profile()
    profiler.enable()
    run_task(Task(0, "alternative", design, tuple(range(50)), seed))
    profiler.disable()
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(18)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicates", type=int, default=1000, help="scale part (default 1000)")
    parser.add_argument("--peer-replicates", type=int, default=200, help="per-replicate part")
    parser.add_argument("--seed", type=int, default=2013)
    parser.add_argument("--skip-lme4", action="store_true")
    parser.add_argument("--skip-mixedlm", action="store_true")
    parser.add_argument("--with-dask", action="store_true")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--timeout", type=float, default=3600.0)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        kind, *rest = args.worker
        if kind == "loop":
            out = worker_alliance_loop(rest[0])
        elif kind == "mixedlm":
            out = worker_mixedlm(rest[0])
        else:
            out = worker_alliance_power(int(rest[0]), int(rest[1]), int(rest[2]), kind == "dask")
        print(json.dumps(out))
        return 0
    if args.profile:
        profile(args.seed)
        return 0

    n = args.peer_replicates
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="power_speed_") as tmp:
        data = Path(tmp) / "replicates.csv"
        write_datasets(n, args.seed, data)
        print(f"{n} studies of the reference design written; timing ...", file=sys.stderr)

        def record(engine: str, what: str, out: dict[str, Any], power: float) -> None:
            rows.append(
                {
                    "engine": engine,
                    "what": what,
                    "n": out["n"],
                    "seconds": out["seconds"],
                    "power": power,
                }
            )
            print(f"  {engine:<9} {what:<38} {out['seconds']:8.2f} s", file=sys.stderr)

        ours = _run_worker(["power", str(n), str(args.seed), "1"], args.timeout)
        record("alliance", "power_analysis, 1 worker", ours, ours["power"])
        loop = _run_worker(["loop", str(data)], args.timeout)
        record("alliance", "mixed.fit + Satterthwaite loop", loop, _power(loop["p"]))
        peers: dict[str, list[float]] = {"alliance": ours["p"]}
        if not args.skip_lme4 and shutil.which("Rscript"):
            script = Path(tmp) / "power_lme4.R"
            script.write_text(R_SCRIPT, encoding="utf-8")
            proc = subprocess.run(
                ["Rscript", str(script), str(data)],
                capture_output=True,
                text=True,
                timeout=args.timeout,
                check=False,
            )
            if proc.returncode == 0:
                r = json.loads(proc.stdout.strip().splitlines()[-1])
                record(
                    "lme4",
                    "lmer loop (z test)",
                    {"n": r["n"], "seconds": r["lme4_seconds"]},
                    r["lme4_z_power"],
                )
                record(
                    "lme4",
                    "lmerTest::lmer + summary (Satterthwaite)",
                    {"n": r["n"], "seconds": r["lmertest_seconds"]},
                    r["lmertest_power"],
                )
                peers["lmerTest"] = r["lmertest_p"]
            else:
                print(f"  lme4 failed: {proc.stderr.strip()[-300:]}", file=sys.stderr)
        if not args.skip_mixedlm:
            try:
                theirs = _run_worker(["mixedlm", str(data)], args.timeout)
                record("mixedlm", "lmer + satterthwaite_df loop", theirs, _power(theirs["p"]))
                peers["mixedlm"] = theirs["p"]
            except RuntimeError as error:
                print(f"  mixedlm failed: {error}", file=sys.stderr)

    reference = rows[0]["seconds"]
    print(
        f"\nPart 1: {n} replicates of the reference design, {FORMULA} (REML), test of {TERM}; "
        "wall clock, warm, one process each.\n"
    )
    print("| engine | what | replicates | seconds | ms / replicate | peer / alliance | power |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['engine']} | {row['what']} | {row['n']} | {row['seconds']:.2f} | "
            f"{1000 * row['seconds'] / row['n']:.1f} | {row['seconds'] / reference:.1f} | "
            f"{row['power']:.3f} |"
        )
    base = np.asarray(peers["alliance"]) < ALPHA
    for name, p_values in peers.items():
        if name != "alliance":
            agree = np.mean((np.asarray(p_values) < ALPHA) == base)
            print(f"\nSame decision as alliance on {agree:.1%} of the data sets: {name}")

    scale = []
    settings = [("processes", 1), ("processes", 2)] + ([("dask", 2)] if args.with_dask else [])
    for kind, workers in settings:
        print(
            f"scale: {args.replicates} replicates, {kind}, {workers} worker(s) ...", file=sys.stderr
        )
        out = _run_worker(
            [
                "power" if kind == "processes" else "dask",
                str(args.replicates),
                str(args.seed),
                str(workers),
            ],
            args.timeout,
        )
        scale.append(
            {"executor": kind, "workers": workers, **{k: v for k, v in out.items() if k != "p"}}
        )
    print(
        f"\nPart 2: the whole power analysis of {args.replicates} replicates of the reference "
        "design (fits, Satterthwaite tests, summary, analytic power).\n"
    )
    print("| executor | workers | seconds | speed-up | power | analytic | singular |")
    print("|---|---|---|---|---|---|---|")
    single = scale[0]["seconds"]
    for row in scale:
        print(
            f"| {row['executor']} | {row['workers']} | {row['seconds']:.1f} | "
            f"{single / row['seconds']:.2f} | {row['power']:.3f} | {row['analytic_power']:.3f} "
            f"| {row['singular']} |"
        )
    two = next(row["seconds"] for row in scale if row["workers"] == 2)
    verdict = "within" if two < 30 else "OVER"
    print(
        f"\n{args.replicates} replicates on 2 workers: {two:.1f} s ({verdict} the 30 s target); "
        f"cpus: {os.cpu_count()}, load average {os.getloadavg()[0]:.2f} at the end."
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "per_replicate": rows,
                    "scale": scale,
                    "versions": _versions(),
                    "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
