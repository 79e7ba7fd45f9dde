"""The compiled deviance+gradient and BFGS search against the uncompiled evaluation path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alliance.mixed import ProfiledDeviance, fit
from alliance.mixed.deviance import profiled_deviance
from alliance.mixed.minimiser import run_bfgs

DATA = Path(__file__).resolve().parents[1] / "reference" / "data"

SLEEPSTUDY = ("sleepstudy.csv", "Reaction ~ Days + (Days | Subject)", None)
PROBLEMS = [
    SLEEPSTUDY,
    ("pastes.csv", "strength ~ 1 + (1 | batch/cask)", None),
    ("joint_rater_sim.csv", "wai ~ 0 + rater + rater:time + (0 + rater | therapist/patient)", "rater"),
]


def fitted_objective(problem: tuple[str, str, str | None], reml: bool = True) -> ProfiledDeviance:
    """The objective of a fit, with its evaluation count reset."""
    data, formula, strata = problem
    objective = fit(formula, pd.read_csv(DATA / data), reml=reml, residual_groups=strata).objective
    objective.n_evaluations = 0
    return objective


def some_point(objective: ProfiledDeviance) -> np.ndarray:
    rng = np.random.default_rng(11)
    start = objective.layout.start()
    return start + rng.uniform(-0.2, 0.4, size=start.shape)


@pytest.mark.parametrize("problem", PROBLEMS)
@pytest.mark.parametrize("reml", [True, False])
def test_compiled_value_and_gradient_equal_the_evaluation_path(problem, reml):
    objective = fitted_objective(problem, reml)
    point = some_point(objective)
    value, gradient = objective.value_and_gradient(point)
    evaluation = objective.forward(point)
    expected = objective.backward(
        evaluation, log_det_weight=1.0, rx_weight=1.0 if reml else 0.0,
        r2_weight=objective.residual_df / evaluation.r2,
    )
    expected[objective.layout.n_theta :] += 2.0 * objective.statistics.n_per_stratum[1:]
    assert value == pytest.approx(objective.deviance_of(evaluation), rel=1e-13)
    np.testing.assert_allclose(gradient, expected, rtol=1e-10, atol=1e-10)


def test_profiled_deviance_is_the_reml_formula_with_strata():
    n, p = 100.0, 3.0
    value = profiled_deviance(4.0, 1.5, 80.0, n - p, True, np.array([0.2, -0.1]),
                              np.array([30.0, 20.0]))
    by_hand = 4.0 + 1.5 + (n - p) * (1.0 + np.log(2.0 * np.pi * 80.0 / (n - p)))
    assert value == pytest.approx(by_hand + 2.0 * (30.0 * 0.2 - 20.0 * 0.1), rel=1e-14)
    ml = profiled_deviance(4.0, 1.5, 80.0, n, False, np.empty(0), np.empty(0))
    assert ml == pytest.approx(4.0 + n * (1.0 + np.log(2.0 * np.pi * 80.0 / n)), rel=1e-14)


def test_search_reaches_lme4s_optimum_and_counts_its_evaluations():
    objective = fitted_objective(SLEEPSTUDY)
    outcome = run_bfgs(objective, objective.layout.start(), max_iterations=1000, gtol=1e-6,
                     ftol=1e-14)
    assert outcome.reached_optimum
    assert outcome.iterations > 0
    assert objective.n_evaluations > outcome.iterations
    # lme4: REMLcrit of lmer(Reaction ~ Days + (Days | Subject), sleepstudy) = 1743.628271960
    assert objective(outcome.x) == pytest.approx(1743.62827196, abs=1e-6)
    # stopped by the Newton decrement: the quasi-Newton model predicts under 1e-8 of decrease
    assert outcome.message == "Newton decrement below tolerance"
    assert outcome.gradient @ outcome.inverse_hessian @ outcome.gradient < 1e-8


def test_a_search_seeded_at_the_optimum_stops_at_once():
    objective = fitted_objective(SLEEPSTUDY)
    first = run_bfgs(objective, objective.layout.start(), max_iterations=1000, gtol=1e-6,
                   ftol=1e-14)
    used = objective.n_evaluations
    again = run_bfgs(objective, first.x, max_iterations=1000, gtol=1e-6, ftol=1e-14,
                   inverse_hessian=first.inverse_hessian)
    assert again.reached_optimum
    assert objective.n_evaluations - used <= 2
    np.testing.assert_allclose(again.x, first.x, atol=1e-8)


def test_the_iteration_limit_is_reported():
    objective = fitted_objective(SLEEPSTUDY)
    outcome = run_bfgs(objective, objective.layout.start(), max_iterations=2, gtol=1e-6,
                     ftol=1e-14)
    assert outcome.iterations == 2
    assert outcome.message == "maximum number of iterations reached"
    assert not outcome.reached_optimum


def test_a_gradient_already_below_tolerance_stops_before_the_first_iteration():
    objective = fitted_objective(SLEEPSTUDY)
    start = objective.layout.start()
    outcome = run_bfgs(objective, start, max_iterations=1000, gtol=1e9, ftol=1e-14)
    assert outcome.message == "gradient below tolerance"
    assert outcome.reached_optimum
    assert outcome.iterations == 0
    assert objective.n_evaluations == 1
    np.testing.assert_array_equal(outcome.x, start)
    value, gradient = objective.value_and_gradient(start)
    assert outcome.value == value
    np.testing.assert_allclose(outcome.gradient, gradient, rtol=1e-14)


def test_a_start_where_the_deviance_is_not_finite_is_refused():
    objective = fitted_objective(SLEEPSTUDY)
    start = np.full(objective.layout.size, np.nan)
    with pytest.raises(np.linalg.LinAlgError, match="not positive definite at the start"):
        run_bfgs(objective, start, max_iterations=1000, gtol=1e-6, ftol=1e-14)
    assert objective.n_evaluations == 1
