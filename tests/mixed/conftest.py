"""Fixtures shared by the engine's tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(scope="session")
def three_level_model() -> tuple[str, pd.DataFrame]:
    """A three-level model (sessions in patients in therapists in sites) and its data.

    Random intercepts at each level and a random slope of time for sites and patients: three
    nested levels with 2, 1 and 2 random effects.
    """
    rng = np.random.default_rng(3)
    site = np.repeat(np.arange(6), 40)  # 6 sites, 4 therapists each, 10 patients each
    therapist = np.repeat(np.arange(24), 10)
    patient = np.arange(240)
    rows = np.repeat(patient, 5)
    time = np.tile(np.arange(5, dtype=float), 240)
    level = (rng.normal(0, 1.0, 6)[site] + rng.normal(0, 0.7, 24)[therapist]
             + rng.normal(0, 0.5, 240))[rows]
    frame = pd.DataFrame({"y": level + 0.3 * time + rng.normal(0, 0.4, rows.size),
                          "time": time, "site": site[rows], "therapist": therapist[rows],
                          "patient": rows})
    formula = "y ~ time + (time | site) + (1 | site:therapist) + (time | site:therapist:patient)"
    return formula, frame
