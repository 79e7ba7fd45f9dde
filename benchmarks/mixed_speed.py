"""Speed of the nested mixed-model engine next to its peers, as ratios, in one run.

Fits ``y ~ time * (x1 + x2) + (time | therapist/patient)`` by REML to simulated three-level
growth data (benchmarks/_growth_data.py) at three sizes and prints, per size and engine, the
warm fit time, the REML criterion reached, the convergence flag, the distance of that criterion
to the best one of the size, the time ratio peer / alliance, and the peak memory of the fit.

Engines: ``alliance.mixed.fit``; the ``mixedlm`` package (Rust backend) with its ``lmer``;
``lme4::lmer`` through ``Rscript benchmarks/lme4_fit.R``; optionally statsmodels ``MixedLM``,
which cannot fit this model and fits an approximation (patient intercept and slope as
uncorrelated variance components within therapist groups).

Every (engine, size) runs in its own worker process, which reads the data from a CSV file written
by this script (reading is not timed), fits once untimed on the small data (imports, JIT
compilation, caches), then times the fits. Peak memory is the resident-set high-water mark
(VmHWM) during the fit minus the resident set just before it, with the high-water mark reset
through /proc/self/clear_refs; so it is what the fit needs beyond the loaded data.

Usage: python benchmarks/mixed_speed.py [--sizes small,medium,large] [--repeats 5]
       [--skip-lme4] [--skip-mixedlm] [--with-statsmodels] [--timeout S] [--json out.json]
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _growth_data import FORMULA, make_growth_data  # noqa: E402

MIXEDLM_FORMULA = "y ~ time + x1 + x2 + time:x1 + time:x2 + (time | therapist/patient)"
"""FORMULA with the fixed part expanded: mixedlm's parser rejects ``time * (x1 + x2)``."""

SIZES: dict[str, tuple[int, int, int, int]] = {
    "small": (70, 200, 15, 20130401),
    "medium": (2_000, 20_000, 10, 20130402),
    "large": (5_000, 100_000, 10, 20130403),
}
"""Size name -> (therapists, patients, sessions per patient, seed)."""

EXACT_ENGINES = ("alliance", "mixedlm", "lme4")
ENGINES = (*EXACT_ENGINES, "statsmodels")


@dataclass
class Result:
    """Outcome of one engine on one size (all times in seconds, memory in MiB)."""

    size: str
    engine: str
    seconds: float | None = None
    all_seconds: list[float] = field(default_factory=list)
    deviance: float | None = None
    converged: bool | None = None
    n_evaluations: int | None = None
    peak_mib: float | None = None
    note: str = ""
    error: str = ""


# ---------------------------------------------------------------- worker side (one process each)


@contextlib.contextmanager
def _peak_memory(out: dict[str, float]) -> Iterator[None]:
    """Record in ``out['peak_mib']`` the resident-set peak of the block beyond its start."""
    gc.collect()
    try:
        Path("/proc/self/clear_refs").write_text("5")
        before: int | None = _status_kib("VmRSS")
    except OSError:
        before = None
    yield
    if before is not None:
        peak = (_status_kib("VmHWM") - before) / 1024
        out["peak_mib"] = max(out.get("peak_mib", 0.0), peak)


def _status_kib(key: str) -> int:
    """A ``kB`` line of /proc/self/status."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise OSError(f"{key} not in /proc/self/status")


def _read(path: str) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"therapist": str, "patient": str})


def _fit_alliance(data: pd.DataFrame) -> dict[str, Any]:
    fit = importlib.import_module("alliance.mixed").fit
    res = fit(FORMULA, data, reml=True)
    info = res.fit_info
    n_eval = info["n_evaluations"] if isinstance(info, dict) else info.n_evaluations
    return {"deviance": res.deviance, "converged": res.converged, "n_evaluations": n_eval}


def _fit_mixedlm(data: pd.DataFrame) -> dict[str, Any]:
    import mixedlm

    res = mixedlm.lmer(MIXEDLM_FORMULA, data, REML=True)
    return {
        "deviance": res.REMLcrit(),
        "converged": res.converged,
        "n_evaluations": res.function_evals,
    }


def _fit_statsmodels(data: pd.DataFrame) -> dict[str, Any]:
    import statsmodels.formula.api as smf

    model = smf.mixedlm(
        "y ~ time * (x1 + x2)",
        data,
        groups="therapist",
        re_formula="~time",
        vc_formula={"patient": "0 + C(patient)", "patient_time": "0 + C(patient):time"},
    )
    res = model.fit(reml=True, method="powell")
    retvals = getattr(res, "mle_retvals", None)
    n_eval = retvals.get("fcalls") if isinstance(retvals, dict) else None
    return {"deviance": -2.0 * res.llf, "converged": bool(res.converged), "n_evaluations": n_eval}


FITTERS: dict[str, Callable[[pd.DataFrame], dict[str, Any]]] = {
    "alliance": _fit_alliance,
    "mixedlm": _fit_mixedlm,
    "statsmodels": _fit_statsmodels,
}


def run_worker(engine: str, warmup_csv: str, data_csv: str, repeats: int) -> dict[str, Any]:
    """Warm up on ``warmup_csv``, then time ``repeats`` fits on ``data_csv``."""
    fitter = FITTERS[engine]
    warmup = _read(warmup_csv)
    data = _read(data_csv)
    caught: list[str] = []
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        fitter(warmup)
        del warmup
        if engine == "alliance":
            # large data use the threaded version of alliance's compiled entry point, which
            # the small warm-up does not load: load it too (compiled code, as above)
            importlib.import_module("alliance.mixed.compile_cache").compile_kernels(
                threaded=True
            )
        seconds: list[float] = []
        memory: dict[str, float] = {}
        outcome: dict[str, Any] = {}
        for _ in range(repeats):
            with _peak_memory(memory):
                start = time.perf_counter()
                outcome = fitter(data)
                seconds.append(time.perf_counter() - start)
        caught = sorted({f"{r.category.__name__}: {r.message}" for r in records})
    return {**outcome, "seconds": seconds, "peak_mib": memory.get("peak_mib"), "warnings": caught}


# ---------------------------------------------------------------- driver side


def _run_json(cmd: list[str], timeout: float) -> dict[str, Any]:
    """Run a worker command and parse the JSON object on the last line of its stdout."""
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"exit {proc.returncode}: {' | '.join(tail)}")
    return json.loads(lines[-1])


def run_engine(
    engine: str, size: str, paths: dict[str, Path], repeats: int, timeout: float
) -> Result:
    """Time one engine on one size in a fresh process."""
    if engine == "lme4":
        cmd = ["Rscript", str(HERE / "lme4_fit.R"), str(paths["small"]), str(paths[size])]
        cmd.append(str(repeats))
    else:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", engine]
        cmd += ["--warmup-csv", str(paths["small"]), "--data-csv", str(paths[size])]
        cmd += ["--repeats", str(repeats)]
    result = Result(size=size, engine=engine)
    if engine == "statsmodels":
        result.note = "approximation: patient terms as uncorrelated variance components"
    try:
        out = _run_json(cmd, timeout)
    except subprocess.TimeoutExpired:
        result.error = f"timed out after {timeout:.0f} s"
        return result
    except (RuntimeError, json.JSONDecodeError) as e:
        result.error = str(e)
        return result
    result.all_seconds = [float(s) for s in out["seconds"]]
    result.seconds = statistics.median(result.all_seconds)
    result.deviance = float(out["deviance"])
    result.converged = bool(out["converged"])
    n_eval = out.get("n_evaluations")
    result.n_evaluations = int(n_eval) if isinstance(n_eval, int | float) else None
    result.peak_mib = out.get("peak_mib")
    extra = out.get("warnings") or out.get("messages") or []
    if extra:
        result.note = "; ".join(filter(None, [result.note, *extra]))
    return result


def alliance_available() -> bool:
    try:
        return callable(importlib.import_module("alliance.mixed").fit)
    except (ImportError, AttributeError):
        return False


def _fmt(value: float | None, spec: str) -> str:
    return "" if value is None else format(value, spec)


def render_table(results: list[Result]) -> str:
    """Markdown table of the results, with deviance distance to the best exact engine per size."""
    header = [
        "size", "engine", "seconds", "deviance", "Δ best", "converged",
        "evals", "peer/alliance", "peak MiB",
    ]  # fmt: skip
    rows = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for size in dict.fromkeys(r.size for r in results):
        group = [r for r in results if r.size == size]
        exact = [r.deviance for r in group if r.engine in EXACT_ENGINES and r.deviance is not None]
        best = min(exact) if exact else None
        ours = next((r.seconds for r in group if r.engine == "alliance"), None)
        for r in group:
            if r.error:
                error = r.error.replace("|", "/")
                rows.append(f"| {size} | {r.engine} | failed: {error} |" + " |" * 6)
                continue
            delta = None if best is None or r.deviance is None else r.deviance - best
            ratio = None
            if ours and r.seconds is not None and r.engine != "alliance":
                ratio = r.seconds / ours
            name = r.engine + (" (approx.)" if r.engine == "statsmodels" else "")
            cells = [
                size, name, _fmt(r.seconds, ".3f"), _fmt(r.deviance, ".6f"), _fmt(delta, ".2e"),
                str(r.converged), str(r.n_evaluations or ""), _fmt(ratio, ".1f"),
                _fmt(r.peak_mib, ".1f"),
            ]  # fmt: skip
            rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def _versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in ("alliance", "mixedlm", "statsmodels", "numpy", "scipy", "pandas", "numba"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[name] = metadata.version(name)
    return found


def write_data(sizes: list[str], folder: Path) -> tuple[dict[str, Path], dict[str, dict[str, int]]]:
    """Simulate each needed size once and write it as CSV (17 significant digits)."""
    paths: dict[str, Path] = {}
    shapes: dict[str, dict[str, int]] = {}
    for size in dict.fromkeys(["small", *sizes]):
        n_t, n_p, n_s, seed = SIZES[size]
        data = make_growth_data(n_t, n_p, n_s, seed)
        paths[size] = folder / f"growth_{size}.csv"
        data.to_csv(paths[size], index=False, float_format="%.17g")
        shapes[size] = {"therapists": n_t, "patients": n_p, "sessions": len(data), "seed": seed}
    return paths, shapes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="small,medium,large", help="comma-separated sizes")
    parser.add_argument(
        "--repeats", type=int, default=5, help="timed fits on small (median); medium: at most 3"
    )
    parser.add_argument("--skip-lme4", action="store_true")
    parser.add_argument("--skip-mixedlm", action="store_true")
    parser.add_argument(
        "--with-statsmodels", action="store_true", help="statsmodels on every size, not only small"
    )
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per engine+size")
    parser.add_argument("--json", type=Path, help="write all results to this JSON file")
    parser.add_argument("--worker", choices=sorted(FITTERS), help=argparse.SUPPRESS)
    parser.add_argument("--warmup-csv", help=argparse.SUPPRESS)
    parser.add_argument("--data-csv", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        print(json.dumps(run_worker(args.worker, args.warmup_csv, args.data_csv, args.repeats)))
        return 0

    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    unknown = [s for s in sizes if s not in SIZES]
    if unknown:
        parser.error(f"unknown sizes {unknown}; choose from {', '.join(SIZES)}")
    engines = list(ENGINES)
    if not alliance_available():
        print("alliance.mixed not available", file=sys.stderr)
        engines.remove("alliance")
    if args.skip_mixedlm:
        engines.remove("mixedlm")
    if args.skip_lme4:
        engines.remove("lme4")
    elif shutil.which("Rscript") is None:
        print("Rscript not found: lme4 skipped", file=sys.stderr)
        engines.remove("lme4")

    load_start = os.getloadavg()[0]
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="mixed_speed_") as tmp:
        paths, shapes = write_data(sizes, Path(tmp))
        for size in sizes:
            repeats = {"small": args.repeats, "medium": min(args.repeats, 3)}.get(size, 1)
            for engine in engines:
                if engine == "statsmodels" and size != "small" and not args.with_statsmodels:
                    continue
                print(f"{size:>6} {engine:<11} ...", file=sys.stderr, end=" ", flush=True)
                result = run_engine(engine, size, paths, repeats, args.timeout)
                print(result.error or f"{result.seconds:.3f} s", file=sys.stderr, flush=True)
                results.append(result)

    print(f"\nModel: {FORMULA} (REML); warm fits; median of {args.repeats} fits on small, "
          f"of {min(args.repeats, 3)} on medium, one fit on large.\n")  # fmt: skip
    print(render_table(results))
    for r in results:
        if r.note:
            print(f"\n{r.size} {r.engine}: {r.note}")
    print(f"\ncpus: {os.cpu_count()}; 1-minute load average {load_start:.2f} at the start, "
          f"{os.getloadavg()[0]:.2f} at the end (other work inflates every engine's time).")  # fmt: skip
    large = next((r for r in results if r.engine == "alliance" and r.size == "large"), None)
    if large is not None and large.peak_mib is not None:
        verdict = "within" if large.peak_mib < 512 else "OVER"
        print(f"\nalliance peak memory beyond the data on large: {large.peak_mib:.0f} MiB "
              f"({verdict} the 512 MiB target)")  # fmt: skip
    if args.json:
        payload = {
            "formula": FORMULA,
            "sizes": {s: shapes[s] for s in sizes},
            "repeats_small": args.repeats,
            "machine": {
                "cpus": os.cpu_count(),
                "platform": platform.platform(),
                "load_average_start": load_start,
                "load_average_end": os.getloadavg()[0],
            },
            "versions": _versions(),
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "results": [asdict(r) for r in results],
        }
        args.json.write_text(json.dumps(payload, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
