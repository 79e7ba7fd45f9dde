"""Coverage and bias of the therapist-factor effects over many simulated studies.

For each seed, ``alliance.study.coverage.factor_effect_intervals`` simulates the reference
study (default design), scores the therapist factors with the Croon correction (the default)
and naively, fits both raters' growth models and the joint model on the truth's time scale and
sets every therapist-factor effect beside its exact true value. This script pools the seeds:
per correction, model and effect, the mean estimate, its bias (absolute and relative to a
non-zero true value), the empirical SD of the estimates, the mean interval width and the share
of intervals that cover the true value, with a 95% Wilson interval for that share.

    python benchmarks/factor_coverage.py --seeds 1-200 --workers 2 --json coverage.json

Results of a run are in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from alliance.simulate import simulate_study
from alliance.study.coverage import factor_effect_intervals


def one_seed(seed: int) -> pd.DataFrame:
    with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = factor_effect_intervals(simulate_study(seed=seed), Path(folder) / "study")
    return table.assign(seed=seed)


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    table = table.assign(covered=(table["ci_low"] <= table["true"])
                         & (table["true"] <= table["ci_high"]),
                         width=table["ci_high"] - table["ci_low"])
    grouped = table.groupby(["correction", "model", "effect"], sort=False)
    out = grouped.agg(true=("true", "first"), mean=("estimate", "mean"),
                      sd=("estimate", "std"), width=("width", "mean"),
                      coverage=("covered", "mean"), n=("covered", "size")).reset_index()
    out["bias"] = out["mean"] - out["true"]
    out["relative_bias"] = np.where(out["true"] != 0, out["bias"] / out["true"].abs(), np.nan)
    z = 1.959964
    n, p = out["n"], out["coverage"]
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    out["coverage_low"], out["coverage_high"] = centre - half, centre + half
    return out


def seeds_of(text: str) -> list[int]:
    first, _, last = text.partition("-")
    return list(range(int(first), int(last or first) + 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1-200", help="range of seeds, e.g. 1-200")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path, help="write every estimate and the summary here")
    args = parser.parse_args()
    seeds = seeds_of(args.seeds)
    start = time.perf_counter()
    with ProcessPoolExecutor(args.workers) as pool:
        table = pd.concat(pool.map(one_seed, seeds), ignore_index=True)
    summary = summarise(table)
    with pd.option_context("display.width", 200, "display.max_rows", 200):
        print(summary.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(f"{len(seeds)} studies in {time.perf_counter() - start:.0f} s")
    if args.json:
        args.json.write_text(json.dumps({
            "seeds": [seeds[0], seeds[-1]],
            "estimates": table.to_dict(orient="records"),
            "summary": summary.to_dict(orient="records"),
        }, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
