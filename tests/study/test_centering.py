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
