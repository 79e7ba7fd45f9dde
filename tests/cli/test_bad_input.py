"""A catalogue of bad, awkward and dangerous input across every command.

Each case runs one command line and checks the exit code, the key words of the message, that
no traceback reached the user, that every file the command could touch (its inputs, the
folders it was pointed at) is byte-for-byte unchanged, and that nothing stray (a temporary or
partial file) was left anywhere.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import alliance.power
from alliance.cli.app import app
from alliance.cli.common import EXIT_DATA_ERROR, EXIT_SPECIFICATION_ERROR
from alliance.simulate import StudyDesign, simulate_study, write_study
from alliance.study import example_config_text

REFERENCE = Path(__file__).resolve().parents[1] / "reference" / "data"
USAGE = 2
DATA = EXIT_DATA_ERROR
SPEC = EXIT_SPECIFICATION_ERROR
FORMULA = "Reaction ~ Days + (Days | Subject)"
ITEMS = [f"wai{i}" for i in range(1, 13)]
runner = CliRunner()


@dataclass(frozen=True)
class Case:
    """A command line (``{in}``: the inputs folder, ``{tmp}``: a scratch folder), its exit
    code and the words its message must contain."""

    id: str
    args: tuple[str, ...]
    code: int
    words: tuple[str, ...]


def case(id: str, args: str, code: int, *words: str) -> Case:
    return Case(id, tuple(args.split("§")), code, words)


def _write_inputs(folder: Path) -> None:
    shutil.copy(REFERENCE / "sleepstudy.csv", folder / "sleep.csv")
    (folder / "sleep-link.csv").symlink_to(folder / "sleep.csv")
    (folder / "empty.csv").write_text("", encoding="utf-8")
    (folder / "header.csv").write_text("Reaction,Days,Subject\n", encoding="utf-8")
    (folder / "twice.csv").write_text("a,a,b\n1,2,3\n", encoding="utf-8")
    (folder / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    sleep = pd.read_csv(folder / "sleep.csv")
    comma = sleep.assign(Reaction=sleep["Reaction"].map(lambda v: f"{v:.2f}".replace(".", ",")))
    comma.to_csv(folder / "comma.csv", sep=";", index=False)
    rng = np.random.default_rng(1)
    factor = rng.standard_normal((120, 2))
    loadings = np.array([[0.8, 0], [0.7, 0], [0.6, 0], [0, 0.8], [0, 0.7], [0, 0.6]])
    items = pd.DataFrame(np.round(factor @ loadings.T + 0.5 * rng.standard_normal((120, 6)), 2),
                         columns=[f"q{i}" for i in range(1, 7)])
    items.to_csv(folder / "items.csv", index=False)
    items.to_csv(folder / "items-comma.csv", index=False, sep=";", decimal=",")
    (folder / "items-link.csv").symlink_to(folder / "items.csv")
    items.assign(q3=["x"] * len(items)).to_csv(folder / "items-text.csv", index=False)
    with pd.ExcelWriter(folder / "items.xlsx") as writer:
        items.to_excel(writer, sheet_name="answers", index=False)
        items.head(5).to_excel(writer, sheet_name="notes", index=False)
    wai = pd.DataFrame(np.tile([5, 6, 7, 2, 4, 6, 5, 7, 3, 1, 6, 4], (3, 1)), columns=ITEMS)
    wai.insert(0, "patient", ["p1", "p1", "p2"])
    wai.loc[2, "wai5"] = 9
    wai.to_csv(folder / "wai.csv", index=False)
    (folder / "wai-link.csv").symlink_to(folder / "wai.csv")
    shutil.copy(Path(alliance.power.__file__).parent / "example_design.toml",
                folder / "design.toml")
    (folder / "design-link.toml").symlink_to(folder / "design.toml")
    (folder / "pw").mkdir()
    shutil.copy(folder / "design.toml", folder / "pw" / "power.json")
    (folder / "bad.toml").write_text("[sample\ntherapists = 12\n", encoding="utf-8")
    (folder / "unknown.toml").write_text("[sample]\ntherapistz = 12\n", encoding="utf-8")
    (folder / "simdesign.toml").write_text("[sample]\nn_therapists = 0\n", encoding="utf-8")
    study = folder / "study"
    design = StudyDesign.default().updated(
        {"sample": {"n_reference": 300, "n_therapists": 12, "n_patients": 30}})
    write_study(simulate_study(design, seed=3), study)
    text = example_config_text()
    (study / "study.toml").write_text(text, encoding="utf-8")
    (study / "bom.toml").write_bytes(b"\xef\xbb\xbf" + text.encode())
    (study / "latin1.toml").write_bytes("# Søren's study\n".encode("latin-1") + text.encode())
    (study / "broken.toml").write_text(text + "\n[wai\n", encoding="utf-8")
    _degenerate_studies(study, text)
    wai = pd.read_csv(study / "wai.csv", dtype=object)
    answered = wai["wai1"].notna()
    wai.loc[answered[answered].index[0], "wai3"] = "9"
    wai.loc[answered[answered].index[1], "wai7"] = "0"
    wai.to_csv(study / "wai-bad.csv", index=False)
    (study / "bad-items.toml").write_text(text.replace("wai.csv", "wai-bad.csv"),
                                          encoding="utf-8")
    (study / "missing-file.toml").write_text(
        text.replace("wai.csv", "nowhere.csv"), encoding="utf-8")


def _degenerate_studies(study: Path, text: str) -> None:
    """Copies of the study that cannot be analysed (without the truth, which would not match)."""
    config = text.replace('truth = "truth.json"', "")
    wai = pd.read_csv(study / "wai.csv")
    therapists = pd.read_csv(study / "therapists.csv")
    variants = {
        "no-wai": (wai.assign(**{item: np.nan for item in ITEMS}), therapists),
        "one-therapist": (wai.loc[wai["therapist"] == wai["therapist"].iloc[0]], therapists),
        "one-session": (wai.loc[wai["session"] == wai["session"].min()], therapists),
        "constant-covariate": (wai, therapists.assign(experience=10)),
    }
    for name, (wai_rows, therapist_rows) in variants.items():
        folder = study / name
        folder.mkdir()
        for file in ("reference_qpl.csv", "patients.csv"):
            shutil.copy(study / file, folder / file)
        wai_rows.to_csv(folder / "wai.csv", index=False)
        therapist_rows.to_csv(folder / "therapists.csv", index=False)
        (folder / "study.toml").write_text(config, encoding="utf-8")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bad-input") / "in"
    folder.mkdir()
    _write_inputs(folder)
    return folder


def _scratch(folder: Path) -> None:
    """A folder the user keeps notes in, a file, an empty folder, an earlier output."""
    (folder / "notes").mkdir()
    (folder / "notes" / "notes.txt").write_text("my only copy", encoding="utf-8")
    (folder / "afile").write_text("not a folder", encoding="utf-8")
    (folder / "emptydir").mkdir()


def _state(*folders: Path) -> dict[str, str]:
    """Every path under ``folders`` with the hash of its bytes (links by their target)."""
    state = {}
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_symlink():
                state[str(path)] = f"-> {path.readlink()}"
            elif path.is_file():
                state[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                state[str(path)] = "folder"
    return state


CASES = [
    # --- fit -------------------------------------------------------------------------------
    case("fit-missing-file", "fit§{in}/nothing.csv§-f§" + FORMULA, DATA, "file not found"),
    case("fit-folder", "fit§{in}§-f§" + FORMULA, DATA, "is a folder"),
    case("fit-xls", "fit§{in}/old.xls§-f§" + FORMULA, DATA, "Save it as .xlsx"),
    case("fit-empty", "fit§{in}/empty.csv§-f§" + FORMULA, DATA, "empty"),
    case("fit-header-only", "fit§{in}/header.csv§-f§" + FORMULA, DATA, "no data rows"),
    case("fit-header-twice", "fit§{in}/twice.csv§-f§a ~ b + (1 | b)", DATA, "more than once"),
    case("fit-no-formula", "fit§{in}/sleep.csv", USAGE, "Missing option"),
    case("fit-bad-df", "fit§{in}/sleep.csv§-f§" + FORMULA + "§--df§exact", SPEC, "'exact'",
         "kenward-roger"),
    case("fit-bad-robust", "fit§{in}/sleep.csv§-f§" + FORMULA + "§--robust§cr1", SPEC, "'cr1'",
         "cr2"),
    case("fit-syntax", "fit§{in}/sleep.csv§-f§Reaction ~ Days + (Days | )", SPEC,
         "no grouping factor"),
    case("fit-unknown-column", "fit§{in}/sleep.csv§-f§Reaction ~ days + (1 | Subject)", DATA,
         "sleep.csv", "Did you mean 'Days'"),
    case("fit-no-random", "fit§{in}/sleep.csv§-f§Reaction ~ Days", SPEC, "random"),
    case("fit-json-is-input", "fit§{in}/sleep.csv§-f§" + FORMULA + "§--json§{in}/sleep.csv",
         SPEC, "would overwrite the input"),
    case("fit-json-link-to-input",
         "fit§{in}/sleep.csv§-f§" + FORMULA + "§--json§{in}/sleep-link.csv", SPEC,
         "would overwrite the input"),
    case("fit-input-through-link",
         "fit§{in}/sleep-link.csv§-f§" + FORMULA + "§--json§{in}/sleep.csv", SPEC,
         "would overwrite the input"),
    case("fit-json-folder", "fit§{in}/sleep.csv§-f§" + FORMULA + "§--json§{tmp}/emptydir", SPEC,
         "is a folder"),
    case("fit-json-missing-folder",
         "fit§{in}/sleep.csv§-f§" + FORMULA + "§--json§{tmp}/nowhere/fit.json", SPEC,
         "does not exist"),
    case("fit-json-under-file", "fit§{in}/sleep.csv§-f§" + FORMULA + "§--json§{tmp}/afile/x.json",
         SPEC, "is a file, not a folder"),
    case("fit-residual-groups-unknown",
         "fit§{in}/sleep.csv§-f§" + FORMULA + "§--residual-groups§sex", DATA, "'sex'"),
    case("fit-unknown-sheet", "fit§{in}/items.xlsx§-f§q1 ~ q2 + (1 | q3)§--sheet§2", DATA,
         "no sheet at position 2", "answers"),
    case("fit-sheet-named", "fit§{in}/items.xlsx§-f§q1 ~ q2 + (1 | q9)§--sheet§notes", DATA,
         "items.xlsx (sheet 'notes')", "q9"),
    case("fit-decimal-comma", "fit§{in}/comma.csv§-f§" + FORMULA, DATA, "row 1: '249,56'",
         "decimal comma"),
    # --- efa -------------------------------------------------------------------------------
    case("efa-missing-file", "efa§{in}/nothing.csv§-k§2", DATA, "file not found"),
    case("efa-no-factors", "efa§{in}/items.csv", USAGE, "Missing option"),
    case("efa-zero-factors", "efa§{in}/items.csv§-k§0§--parallel-iter§0", SPEC, "factors"),
    case("efa-too-many-factors", "efa§{in}/items.csv§-k§6§--parallel-iter§0", SPEC, "factors"),
    case("efa-unknown-item", "efa§{in}/items.csv§-k§2§--items§q1,q2,q9", DATA, "q9"),
    case("efa-text-item", "efa§{in}/items-text.csv§-k§2§--parallel-iter§0", DATA, "q3"),
    case("efa-negative-seed", "efa§{in}/items.csv§-k§2§--seed§-1", USAGE, "--seed"),
    case("efa-bad-method", "efa§{in}/items.csv§-k§2§--method§uls", USAGE, "--method"),
    case("efa-bad-rotation", "efa§{in}/items.csv§-k§2§--rotation§bifactor", USAGE, "--rotation"),
    case("efa-bad-correlation", "efa§{in}/items.csv§-k§2§--correlation§tetra", USAGE,
         "--correlation"),
    case("efa-json-is-input", "efa§{in}/items.csv§-k§2§--json§{in}/items.csv", SPEC,
         "would overwrite the input"),
    case("efa-json-link", "efa§{in}/items.csv§-k§2§--json§{in}/items-link.csv", SPEC,
         "would overwrite the input"),
    case("efa-json-folder", "efa§{in}/items.csv§-k§2§--json§{tmp}", SPEC, "is a folder"),
    case("efa-json-missing-folder", "efa§{in}/items.csv§-k§2§--json§{tmp}/no/efa.json", SPEC,
         "does not exist"),
    case("efa-one-item", "efa§{in}/items.csv§-k§1§--items§q1§--parallel-iter§0", DATA,
         "at least two items"),
    case("efa-unknown-sheet", "efa§{in}/items.xlsx§-k§2§--sheet§summary", DATA,
         "no sheet named 'summary'", "answers"),
    case("efa-sheet-on-csv", "efa§{in}/items.csv§-k§2§--sheet§answers", DATA, "no sheets"),
    case("efa-decimal-comma", "efa§{in}/items-comma.csv§-k§2", DATA, "decimal comma"),
    # --- score -----------------------------------------------------------------------------
    case("score-missing-file", "score§{in}/nothing.csv§-i§wai-s-client", DATA, "file not found"),
    case("score-no-instrument", "score§{in}/wai.csv", USAGE, "Missing option"),
    case("score-unknown-instrument", "score§{in}/wai.csv§-i§wai-s-clinet", SPEC,
         "wai-s-client"),
    case("score-template", "score§{in}/wai.csv§-i§wai-full-client", SPEC, "cannot be scored"),
    case("score-out-is-input", "score§{in}/wai.csv§-i§wai-s-client§--out§{in}/wai.csv", SPEC,
         "would overwrite the input"),
    case("score-out-link", "score§{in}/wai.csv§-i§wai-s-client§--out§{in}/wai-link.csv", SPEC,
         "would overwrite the input"),
    case("score-out-folder", "score§{in}/wai.csv§-i§wai-s-client§--out§{tmp}/notes", SPEC,
         "is a folder"),
    case("score-out-missing-folder",
         "score§{in}/wai.csv§-i§wai-s-client§--out§{tmp}/nowhere/s.csv", SPEC, "does not exist"),
    case("score-invalid-response", "score§{in}/wai.csv§-i§wai-s-client", DATA, "wai5", "9"),
    case("score-missing-id", "score§{in}/wai.csv§-i§wai-s-client§--id-cols§therapist", DATA,
         "therapist"),
    case("score-bad-layout", "score§{in}/wai.csv§-i§wai-s-client§--layout§tall", USAGE,
         "--layout"),
    case("score-bad-invalid", "score§{in}/wai.csv§-i§wai-s-client§--invalid§skip", USAGE,
         "--invalid"),
    case("score-sheet-on-csv", "score§{in}/wai.csv§-i§wai-s-client§--sheet§1", DATA,
         "no sheets"),
    case("score-instrument-file-missing", "score§{in}/wai.csv§-i§{in}/mine.toml", SPEC,
         "mine.toml"),
    # --- simulate --------------------------------------------------------------------------
    case("simulate-no-out", "simulate", USAGE, "Missing option"),
    case("simulate-negative-seed", "simulate§--out§{tmp}/s§--seed§-5", USAGE, "--seed"),
    case("simulate-out-is-file", "simulate§--out§{tmp}/afile", SPEC, "is a file"),
    case("simulate-out-not-empty", "simulate§--out§{tmp}/notes", SPEC,
         "exists and is not empty", "notes.txt"),
    case("simulate-out-unwritable", "simulate§--out§/proc/alliance/study", SPEC,
         "cannot be created", "choose a place you can write to"),
    case("simulate-into-inputs", "simulate§--out§{in}", SPEC, "exists and is not empty"),
    case("simulate-design-missing", "simulate§--out§{tmp}/s§--design§{in}/nothing.toml", SPEC,
         "nothing.toml"),
    case("simulate-design-not-toml", "simulate§--out§{tmp}/s§--design§{in}/bad.toml", SPEC,
         "bad.toml", "TOML"),
    case("simulate-design-invalid", "simulate§--out§{tmp}/s§--design§{in}/simdesign.toml", SPEC,
         "n_therapists"),
    # --- replicate -------------------------------------------------------------------------
    case("replicate-negative-seed", "replicate§--out§{tmp}/r§--seed§-1", USAGE, "--seed"),
    case("replicate-out-is-file", "replicate§--out§{tmp}/afile", SPEC, "is a file"),
    case("replicate-out-not-empty", "replicate§--out§{tmp}/notes", SPEC,
         "exists and is not empty", "--overwrite"),
    case("replicate-overwrite-foreign", "replicate§--out§{tmp}/notes§--overwrite", SPEC,
         "not written by alliance", "notes.txt"),
    case("replicate-overwrite-working-folder", "replicate§--out§{tmp}§--overwrite", SPEC,
         "not written by alliance"),
    case("replicate-overwrite-inputs", "replicate§--out§{in}§--overwrite", SPEC,
         "not written by alliance"),
    # --- analyze ---------------------------------------------------------------------------
    case("analyze-no-config", "analyze", USAGE, "configuration"),
    case("analyze-config-missing", "analyze§{in}/nothing.toml§--out§{tmp}/a", SPEC,
         "nothing.toml"),
    case("analyze-config-broken", "analyze§{in}/study/broken.toml§--out§{tmp}/a", SPEC,
         "broken.toml", "TOML"),
    case("analyze-config-bom-is-read", "analyze§{in}/study/bom.toml§--out§{tmp}/notes§--overwrite",
         SPEC, "not written by alliance"),
    case("analyze-config-latin1", "analyze§{in}/study/latin1.toml§--out§{tmp}/a", SPEC,
         "latin1.toml", "UTF-8"),
    case("analyze-data-missing", "analyze§{in}/study/missing-file.toml§--out§{tmp}/a", DATA,
         "nowhere.csv"),
    case("analyze-every-invalid-item-column",
         "analyze§{in}/study/bad-items.toml§--out§{tmp}/a", DATA,
         "2 item columns hold invalid values", "'wai3'", "'wai7'"),
    case("analyze-no-wai-scores", "analyze§{in}/study/no-wai/study.toml§--out§{tmp}/a", DATA,
         "no patient-rated administration has a WAI total score"),
    case("analyze-one-therapist", "analyze§{in}/study/one-therapist/study.toml§--out§{tmp}/a",
         DATA, "from 1 therapist only", "at least two"),
    case("analyze-one-session", "analyze§{in}/study/one-session/study.toml§--out§{tmp}/a",
         DATA, "every patient-rated administration is at session 3", "two or more"),
    case("analyze-constant-covariate",
         "analyze§{in}/study/constant-covariate/study.toml§--out§{tmp}/a", DATA,
         "therapist covariate 'experience' has the same value (10) for every therapist"),
    case("analyze-out-holds-inputs",
         "analyze§{in}/study/study.toml§--out§{in}/study§--overwrite", SPEC,
         "contains the input"),
    case("analyze-out-parent-of-inputs", "analyze§{in}/study/study.toml§--out§{in}§--overwrite",
         SPEC, "contains the input"),
    case("analyze-out-foreign", "analyze§{in}/study/study.toml§--out§{tmp}/notes§--overwrite",
         SPEC, "not written by alliance"),
    case("analyze-out-not-empty", "analyze§{in}/study/study.toml§--out§{tmp}/notes", SPEC,
         "exists and is not empty"),
    case("analyze-out-is-file", "analyze§{in}/study/study.toml§--out§{tmp}/afile", SPEC,
         "is a file"),
    case("analyze-config-is-data", "analyze§{in}/sleep.csv§--out§{tmp}/a", SPEC, "sleep.csv"),
    # --- power -----------------------------------------------------------------------------
    case("power-zero-replications", "power§-r§0§--workers§1", SPEC, "replicates", "at least 1"),
    case("power-too-large", "power§-r§1000000000§--workers§1", SPEC,
         "1,000,000,000 fits", "--allow-large"),
    case("power-negative-seed", "power§--seed§-3", USAGE, "--seed"),
    case("power-json-is-design", "power§{in}/design.toml§--json§{in}/design.toml", SPEC,
         "would overwrite the input"),
    case("power-json-link", "power§{in}/design.toml§--json§{in}/design-link.toml", SPEC,
         "would overwrite the input"),
    case("power-json-folder", "power§{in}/design.toml§--json§{tmp}/emptydir", SPEC,
         "is a folder"),
    case("power-json-missing-folder", "power§{in}/design.toml§--json§{tmp}/no/p.json", SPEC,
         "does not exist"),
    case("power-out-file-is-design", "power§{in}/pw/power.json§--out§{in}/pw", SPEC,
         "would overwrite the input"),
    case("power-out-is-file", "power§--out§{tmp}/afile", SPEC, "is a file"),
    case("power-out-unwritable", "power§-r§2§--workers§1§--out§/proc/alliance/run", SPEC,
         "cannot be created", "choose a place you can write to"),
    case("power-workers-and-scheduler", "power§--workers§2§--scheduler§tcp://x:1", SPEC,
         "either --workers or --scheduler"),
    case("power-design-missing", "power§{in}/nothing.toml", SPEC, "nothing.toml"),
    case("power-design-not-toml", "power§{in}/bad.toml", SPEC, "bad.toml", "TOML"),
    case("power-design-unknown-key", "power§{in}/unknown.toml", SPEC, "therapistz"),
    case("power-bad-grid", "power§--grid§therapists", SPEC, "--grid", "PARAMETER=V1,V2"),
    case("power-bad-effect", "power§--effect§time:burdens", SPEC, "TERM=VALUE"),
    case("power-bad-waves", "power§--waves§3;12", SPEC, "--waves"),
    case("power-one-wave", "power§--waves§3", SPEC, "at least two waves"),
    case("power-dropout", "power§--dropout§1.5", SPEC, "dropout"),
    case("power-caseload", "power§--caseload§uniform", SPEC, "caseload"),
    case("power-time", "power§--time§quadratic", SPEC, "time"),
    case("power-alpha", "power§--alpha§2", SPEC, "alpha"),
]


@pytest.mark.parametrize("bad", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_refused_and_nothing_is_touched(
    bad: Case, inputs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _scratch(tmp_path)
    monkeypatch.chdir(tmp_path)
    args = [arg.format(**{"in": inputs, "tmp": tmp_path}) for arg in bad.args]
    before = _state(inputs, tmp_path)
    result = runner.invoke(app, args, env={"COLUMNS": "300"})
    output = " ".join(result.output.split())
    assert result.exit_code == bad.code, output
    for word in bad.words:
        assert word in output, output
    assert "Traceback" not in output and result.exit_code != 1, output
    assert _state(inputs, tmp_path) == before


def test_the_catalogue_is_large() -> None:
    assert len(CASES) >= 80
    assert {c.args[0] for c in CASES} == {"fit", "efa", "score", "simulate", "replicate",
                                          "analyze", "power"}
