"""Fits never stop on the boundary theta_diag = 0 when the deviance is lower inside."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize_scalar

from alliance.mixed import fit
from alliance.mixed.bfgs import FIRST_STEP
from alliance.mixed.boundary import probe_inside, settle_on_boundary, zero_columns
from alliance.mixed.minimiser import run_bfgs
from alliance.mixed.parameters import ParameterLayout

DATA = Path(__file__).resolve().parents[1] / "reference" / "data"


def random_intercept_data(seed: int, icc: float, groups: int = 40, size: int = 10) -> pd.DataFrame:
    """Therapists with a small share of the variance: the case that used to end at 0."""
    rng = np.random.default_rng(seed)
    group = np.repeat(np.arange(groups), size)
    y = rng.normal(0, np.sqrt(icc), groups)[group] + rng.normal(0, np.sqrt(1 - icc), group.size)
    return pd.DataFrame({"y": 5 * y + 20, "x": rng.normal(size=group.size), "g": group})


def growth_data(seed: int = 5) -> pd.DataFrame:
    """Four sessions of 400 patients of 40 therapists, random intercepts and slopes."""
    rng = np.random.default_rng(seed)
    patient = np.repeat(np.arange(400), 4)
    therapist = patient // 10
    time = np.tile(np.arange(4.0), 400)
    slope = 0.3 + rng.normal(0, 0.2, 400)[patient] + rng.normal(0, 0.1, 40)[therapist]
    y = (rng.normal(0, 0.5, 40)[therapist] + rng.normal(0, 0.7, 400)[patient] + slope * time
         + rng.normal(0, 1, patient.size))
    return pd.DataFrame({"y": y, "t": time, "th": therapist, "pat": patient})


def quiet_fit(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit(*args, **kwargs)


@pytest.mark.parametrize("reml", [True, False])
@pytest.mark.parametrize("seed", [0, 1, 3, 4, 13, 18])
def test_random_intercept_fit_reaches_the_one_dimensional_optimum(seed, reml):
    rng = np.random.default_rng(1000 + seed)
    data = random_intercept_data(seed, icc=float(rng.uniform(0.02, 0.12)))
    result = quiet_fit("y ~ x + (1 | g)", data, reml=reml)
    objective = result.objective
    best = minimize_scalar(
        lambda theta: objective.value_and_gradient(np.array([theta]))[0],
        bounds=(0.0, 3.0), method="bounded", options={"xatol": 1e-10},
    )
    assert best.x > 0.05  # the optimum is inside: these sets used to end at theta = 0
    assert result.deviance <= best.fun + 1e-8 * abs(best.fun)
    assert result.params[0] == pytest.approx(best.x, abs=1e-4)
    assert not result.singular
    assert result.fit_info.converged


@pytest.mark.parametrize(
    "formula",
    ["y ~ t + (1 | th)", "y ~ t + (1 | th/pat)", "y ~ t + (t | th)", "y ~ t + (t | th/pat)",
     "y ~ t + (t || th/pat)"],
)
def test_a_search_started_on_the_boundary_leaves_it(formula):
    data = growth_data()
    reference = quiet_fit(formula, data)
    from_zero = quiet_fit(formula, data, start=np.zeros_like(reference.params))
    assert from_zero.deviance == pytest.approx(reference.deviance, abs=1e-8 * reference.deviance)
    assert from_zero.fit_info.boundary_restarts >= 1
    assert from_zero.singular == reference.singular
    np.testing.assert_allclose(from_zero.params, reference.params, atol=2e-4)


def test_a_genuine_boundary_optimum_is_reported_on_the_boundary():
    # lme4: Dyestuff2 has a Batch variance of exactly 0 (REML criterion 161.8282781)
    data = pd.read_csv(DATA / "dyestuff2.csv")
    result = quiet_fit("Yield ~ 1 + (1 | Batch)", data)
    assert result.params[0] == 0.0
    assert result.singular
    assert result.fit_info.boundary_restarts == 0
    assert result.deviance == pytest.approx(161.828278, abs=1e-6)


def test_the_first_step_cannot_reach_the_boundary_from_lme4s_start():
    data = random_intercept_data(0, icc=0.08)
    objective = quiet_fit("y ~ x + (1 | g)", data).objective
    start = objective.layout.start()
    gradient = objective.value_and_gradient(start)[1]
    assert abs(gradient[0]) > 1.0  # a raw gradient step would overshoot to 0 or beyond
    one_step = run_bfgs(objective, start, max_iterations=1, gtol=0.0, ftol=0.0)
    assert np.all(np.abs(one_step.x - start) <= FIRST_STEP + 1e-15)
    assert one_step.x[0] >= 1.0 - FIRST_STEP


def test_zero_columns_name_the_diagonal_first_and_the_column_entries():
    layout = ParameterLayout.from_spec(quiet_fit("y ~ t + (t | th)", growth_data()).spec)
    # theta = [L11, L21, L22]: column 0 holds entries 0 and 1, column 1 entry 2
    columns = zero_columns(layout, np.array([0.0, 0.4, 0.0]))
    assert [list(c) for c in columns] == [[0, 1], [2]]
    assert zero_columns(layout, np.array([0.5, 0.0, 0.3])) == []


def test_probe_and_settle_leave_an_interior_optimum_alone():
    result = quiet_fit("y ~ t + (t | th/pat)", growth_data())
    objective = result.objective
    value, gradient = objective.value_and_gradient(result.params)
    assert probe_inside(objective.value_and_gradient, objective.layout, result.params, value,
                        gradient) is None
    assert settle_on_boundary(objective.value_and_gradient, objective.layout, result.params,
                              value) is None
