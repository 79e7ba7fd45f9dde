"""The search reaches the same optimum whatever the units of a random slope's predictor."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alliance.mixed import fit
from alliance.mixed.minimiser import default_start

DATA = Path(__file__).resolve().parents[1] / "reference" / "data"
GROWTH = "wai ~ time * (burdens + satisfactions) + (time | therapist/patient)"


def quiet_fit(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit(*args, **kwargs)


def carried_over(result, factor: float) -> np.ndarray:
    """``result``'s optimum in the units of ``time * factor`` (time rows of Lambda / factor)."""
    params = result.params.copy()
    for level in result.objective.layout.levels:
        for k, row in enumerate(level.rows):
            if level.column_names[row] == "time":
                params[level.start + k] /= factor
    return params


@pytest.fixture(scope="module")
def alliance_sim() -> pd.DataFrame:
    return pd.read_csv(DATA / "alliance_sim.csv")


@pytest.mark.parametrize("factor", [1e-3, 1e-2, 10.0, 1e3])
@pytest.mark.parametrize("reml", [True, False])
def test_the_optimum_does_not_depend_on_the_units_of_time(alliance_sim, factor, reml):
    # with time in thousandths the search used to stop 7.08 above the optimum, "converged"
    base = quiet_fit(GROWTH, alliance_sim, reml=reml)
    scaled = alliance_sim.assign(time=alliance_sim["time"] * factor)
    result = quiet_fit(GROWTH, scaled, reml=reml)
    expected = result.objective(carried_over(base, factor))
    assert result.deviance <= expected + 1e-8 * abs(expected)
    assert result.deviance == pytest.approx(expected, abs=1e-6)
    assert result.converged
    np.testing.assert_allclose(
        result.params, carried_over(base, factor), rtol=2e-3, atol=2e-4 / factor
    )
    # the same path in scaled coordinates: as many evaluations at every scale
    assert abs(result.fit_info.n_evaluations - base.fit_info.n_evaluations) <= 2


def test_default_start_is_a_relative_sd_of_one_per_unit_of_the_columns_size(alliance_sim):
    objective = quiet_fit(GROWTH, alliance_sim).objective
    start = default_start(objective)
    scale = objective.parameter_scale
    diagonal = objective.layout.is_diagonal()
    np.testing.assert_allclose(start[diagonal] * scale[diagonal], 1.0)
    assert np.all(start[~diagonal] == 0.0)
    # the intercept's column is all ones
    for level in objective.layout.levels:
        intercept = level.start + int(np.flatnonzero((level.rows == 0) & (level.cols == 0))[0])
        assert scale[intercept] == 1.0
