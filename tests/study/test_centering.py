"""Group-mean centring of a patient covariate: the within/between model equals lme4's fit.

``tests/reference/within_between.R`` fits the patient-rated growth model of the simulated
reference study with severity split into its within- and between-therapist parts, on the
analysis data that ``alliance analyze`` exported with ``centering = { severity = "group-mean"
}`` (``tests/reference/data/within_between.csv``).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from alliance.mixed import fit

REFERENCE = Path(__file__).resolve().parents[1] / "reference"
CASE = json.loads((REFERENCE / "within_between.json").read_text())
DATA = pd.read_csv(REFERENCE / "data" / "within_between.csv")


def test_the_within_between_growth_model_is_lme4s():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lme4 and alliance both end on the boundary here
        result = fit(CASE["formula"], DATA)
    table = result.fixed_effects.set_index("term")
    assert list(table.index) == CASE["terms"]
    # the same optimum or a lower one (lme4 reports a singular fit here)
    assert result.deviance <= CASE["reml"] + 1e-6
    np.testing.assert_allclose(table["estimate"], CASE["estimate"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(table["std_error"], CASE["std_error"], rtol=1e-4)


def test_the_exported_parts_are_a_decomposition():
    patients = DATA.drop_duplicates("patient")
    # the between part is one value per therapist, the within part varies inside therapists
    assert (patients.groupby("therapist")["severity_between"].nunique() == 1).all()
    assert patients.groupby("therapist")["severity_within"].std().fillna(0).max() > 0
    assert (DATA.groupby("patient")["severity_within"].nunique() == 1).all()


def _with_models(config_path: Path, lines: str) -> None:
    text = config_path.read_text(encoding="utf-8")
    config_path.write_text(text.replace("[models]\n", f"[models]\n{lines}\n", 1),
                           encoding="utf-8")


def _drop_default_key(config_path: Path, key: str) -> None:
    text = config_path.read_text(encoding="utf-8")
    kept = [line for line in text.splitlines() if not line.startswith(f"{key} =")]
    config_path.write_text("\n".join(kept) + "\n", encoding="utf-8")


def test_group_mean_centring_runs_the_pipeline_on_a_decomposition(study_copy: Path) -> None:
    from alliance.study import load_config, run_study

    _drop_default_key(study_copy, "centering")
    _with_models(study_copy, 'centering = { severity = "group-mean" }')
    results = run_study(load_config(study_copy))
    frame = results.analysis.frame
    assert {"severity_within", "severity_between"} <= set(frame.columns)
    assert "severity" not in results.analysis.predictors
    patients = frame.drop_duplicates("patient")
    # within: deviations from the therapist's mean over its patients; between: one value per
    # therapist, centred over therapists
    assert patients.groupby("therapist")["severity_within"].mean().abs().max() < 1e-12
    assert (patients.groupby("therapist")["severity_between"].nunique() == 1).all()
    assert abs(patients.drop_duplicates("therapist")["severity_between"].mean()) < 1e-12
    terms = set(results.growth["patient"].fit.spec.fixed_names)
    assert {"severity_within", "severity_between", "time:severity_within",
            "time:severity_between"} <= terms


def test_a_covariate_constant_within_therapists_is_refused(study_copy: Path) -> None:
    from alliance.errors import DataError
    from alliance.study import load_config, run_study

    patients = pd.read_csv(study_copy.parent / "patients.csv")
    patients["severity"] = patients.groupby("therapist")["severity"].transform("first")
    patients.to_csv(study_copy.parent / "patients.csv", index=False)
    text = study_copy.read_text(encoding="utf-8")  # edited data: not the truth's any more
    study_copy.write_text(text.replace('[simulation]\ntruth = "truth.json"', ""),
                          encoding="utf-8")
    _drop_default_key(study_copy, "centering")
    _with_models(study_copy, 'centering = { severity = "group-mean" }')
    try:
        run_study(load_config(study_copy))
    except DataError as error:
        assert "centering.severity" in str(error)
    else:
        raise AssertionError("a covariate without within-therapist variation was accepted")
