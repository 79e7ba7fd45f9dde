"""The whole study at practice-network size, next to one lme4 fit of one rater's growth model.

Simulates a network (``--therapists`` 2,000, ``--patients`` 40,000, ``--reference`` 20,000
reference therapists; caseloads 1 to 60), runs ``alliance analyze`` on it with the example
configuration (every step: scoring, EFA with parallel analysis, time codings, null models with
their variance-share intervals, growth models, model comparison, the joint model and its
difference tests, the report), and fits the patient-rated growth model of the same analysis data
(``data/analysis.csv`` of the run) with ``lmer`` in Rscript. Wall-clock seconds and peak memory
(maximum resident set size of each process) are printed side by side, and the peak memory of
``alliance analyze`` with its figure worker from a second, sampled run (:func:`tree_memory`).

    python benchmarks/network_scale.py [--scale 1] [--json out.json]

``--scale 10`` multiplies every count by ten (20,000 therapists, 400,000 patients).
``alliance`` is the console script next to this interpreter (see ``cold_start.py``), with its
modules compiled to bytecode first, as an installed package has them: in an environment with
``PYTHONDONTWRITEBYTECODE`` set, an editable install would compile every module at each start
(0.1 s).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cold_start import console_script

LME4 = """
suppressMessages(library(lme4))
d <- read.csv("{data}")
d <- d[d$rater == "patient", ]
t0 <- proc.time()[["elapsed"]]
m <- lmer({formula}, d)
cat(sprintf("%d %.3f %.6f\\n", nrow(d), proc.time()[["elapsed"]] - t0, REMLcrit(m)))
"""


def run(command: list[str], cwd: Path | None = None) -> tuple[float, float | None, str]:
    """Seconds, peak resident memory of the largest process of the tree (MiB; GNU time's
    ``%M``, None without /usr/bin/time) and stdout of ``command``."""
    timer = Path("/usr/bin/time")
    with tempfile.NamedTemporaryFile(suffix=".txt") as memory:
        prefix = [str(timer), "-f", "%M", "-o", memory.name] if timer.exists() else []
        began = time.perf_counter()
        done = subprocess.run([*prefix, *command], cwd=cwd, check=True, capture_output=True,
                              text=True)
        seconds = time.perf_counter() - began
        text = Path(memory.name).read_text().strip().splitlines()
    peak = float(text[-1]) / 1024.0 if prefix and text else None
    return seconds, peak, done.stdout


def tree_memory(command: list[str], cwd: Path | None = None) -> dict[str, float]:
    """Peak memory (MiB) of ``command`` and the processes it starts, sampled every 0.1 s.

    ``alliance analyze`` draws its figures in a worker process, so the peak of its own process
    is not all it uses: ``tree_rss_mib`` is the largest sum over the tree of resident sizes (a
    page two processes share counts twice), ``tree_pss_mib`` of proportional set sizes (half in
    each), ``main_mib`` the command's own process. Sampling slows the command (about 1 s at
    network size), so it is a run of its own, not the timed one. Empty off Linux.
    """
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL)
    peaks: dict[str, float] = {}
    while Path("/proc/self/smaps_rollup").exists() and process.poll() is None:
        tree = _descendants(process.pid)
        resident = [_status_kib(pid, "VmRSS:", "status") for pid in tree]
        proportional = [_status_kib(pid, "Pss:", "smaps_rollup") for pid in tree]
        for key, value in (("main_mib", resident[0]), ("tree_rss_mib", sum(resident)),
                           ("tree_pss_mib", sum(proportional))):
            peaks[key] = max(peaks.get(key, 0.0), value / 1024.0)
        time.sleep(0.1)
    if process.wait():
        raise subprocess.CalledProcessError(process.returncode, command)
    return peaks


def _descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (from /proc's ``children`` lists)."""
    found, waiting = [], [pid]
    while waiting:
        current = waiting.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                text = Path(f"/proc/{current}/task/{task}/children").read_text()
                waiting.extend(int(child) for child in text.split())
        except OSError:  # ended meanwhile
            continue
    return found


def _status_kib(pid: int, field: str, name: str) -> int:
    """A ``field`` (in KiB) of ``/proc/<pid>/<name>``; 0 once the process has ended."""
    try:
        for line in Path(f"/proc/{pid}/{name}").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--therapists", type=int, default=2000)
    parser.add_argument("--patients", type=int, default=40000)
    parser.add_argument("--reference", type=int, default=20000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results: dict[str, object] = {"load_before": os.getloadavg()[0], "scale": args.scale}
    alliance = console_script()
    package = subprocess.run([sys.executable, "-c", "import alliance; print(alliance.__path__[0])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    subprocess.run([sys.executable, "-m", "compileall", "-q", package], check=True)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        design = root / "design.toml"
        design.write_text(
            "[sample]\n"
            f"n_reference = {args.reference * args.scale}\n"
            f"n_therapists = {args.therapists * args.scale}\n"
            f"n_patients = {args.patients * args.scale}\n"
            "min_caseload = 1\nmax_caseload = 60\n"
        )
        study = root / "study"
        seconds, peak, _ = run([alliance, "simulate", "--out", str(study), "--design",
                                str(design)])
        results["simulate"] = {"seconds": seconds, "peak_mib": peak}
        config = subprocess.run([alliance, "analyze", "--example-config"], check=True,
                                capture_output=True, text=True).stdout
        (study / "study.toml").write_text(config)
        out = root / "report"
        seconds, peak, _ = run([alliance, "analyze", "study.toml", "--out", str(out)],
                               cwd=study)
        results["analyze"] = {"seconds": seconds, "peak_mib": peak,
                              **tree_memory([alliance, "analyze", "study.toml", "--out",
                                             str(root / "report-memory")], cwd=study)}
        payload = json.loads((out / "results.json").read_text())
        formula = payload["models"]["growth"]["patient"]["formula"]
        results["growth_formula"] = formula
        if shutil.which("Rscript"):
            script = root / "lme4.R"
            script.write_text(LME4.format(data=out / "data" / "analysis.csv", formula=formula))
            seconds, peak, stdout = run(["Rscript", str(script)])
            rows, fit_seconds, reml = stdout.split()
            results["lme4"] = {"seconds_process": seconds, "seconds_fit": float(fit_seconds),
                               "rows": int(rows), "reml": float(reml), "peak_mib": peak}
    results["load_after"] = os.getloadavg()[0]
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
