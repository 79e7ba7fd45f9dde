"""The profiled deviance: values against lme4, exact gradient against finite differences."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import alliance.mixed.objective as objective_module
from alliance.mixed import ProfiledDeviance, build_spec, compute_statistics
from alliance.mixed.parameters import ParameterLayout

DATA = Path(__file__).resolve().parents[1] / "reference" / "data"

CASES = [
    ("sleepstudy.csv", "Reaction ~ Days + (Days | Subject)", None),
    ("pastes.csv", "strength ~ 1 + (1 | batch/cask)", None),
    ("pixel.csv", "pixel ~ day + I(day^2) + (day | Dog) + (1 | Side:Dog)", None),
    ("alliance_sim.csv", "wai ~ time * (burdens + satisfactions) + (time | therapist/patient)", None),
    ("joint_rater_sim.csv", "wai ~ 0 + rater + rater:time + (0 + rater | therapist/patient)", "rater"),
]


def make_objective(data: str, formula: str, strata: str | None, reml: bool) -> ProfiledDeviance:
    spec = build_spec(formula, pd.read_csv(DATA / data), residual_groups=strata)
    return ProfiledDeviance(compute_statistics(spec), ParameterLayout.from_spec(spec), reml)


def interior_point(objective: ProfiledDeviance) -> np.ndarray:
    rng = np.random.default_rng(7)
    start = objective.layout.start()
    return start + rng.uniform(0.05, 0.3, size=start.shape)


def test_deviance_matches_lme4_devfun_on_sleepstudy():
    # lme4: lmer(..., devFunOnly = TRUE)(c(1, 0, 1)) and (c(0.9, 0.1, 0.3)), printed to 15 digits
    objective = make_objective("sleepstudy.csv", CASES[0][1], None, True)
    assert objective(np.array([1.0, 0.0, 1.0])) == pytest.approx(1773.680330616, rel=1e-12)
    assert objective(np.array([0.9, 0.1, 0.3])) == pytest.approx(1746.52792368196, rel=1e-12)


@pytest.mark.parametrize("data,formula,strata", CASES)
@pytest.mark.parametrize("reml", [True, False])
def test_gradient_matches_central_differences(data, formula, strata, reml):
    objective = make_objective(data, formula, strata, reml)
    point = interior_point(objective)
    _, gradient = objective.value_and_gradient(point)
    # 1e-4: truncation error ~1e-8; a smaller step is dominated by the rounding of the
    # deviance (about 1e-10 on pixel, i.e. 1e-4 in a 1e-6 difference quotient)
    step = 1e-4
    numeric = np.array([
        (objective(point + step * unit) - objective(point - step * unit)) / (2 * step)
        for unit in np.eye(len(point))
    ])
    np.testing.assert_allclose(gradient, numeric, rtol=1e-5, atol=1e-5 * np.abs(numeric).max())


@pytest.mark.parametrize("data,formula,strata", CASES[3:])
def test_parallel_elimination_equals_serial(monkeypatch, data, formula, strata):
    objective = make_objective(data, formula, strata, True)
    point = interior_point(objective)
    serial = objective.value_and_gradient(point)
    monkeypatch.setattr(objective_module, "PARALLEL_MIN_GROUPS", 1)
    monkeypatch.setattr(objective_module, "_THREADS", 2)
    parallel = objective.value_and_gradient(point)
    # the threads sum the groups in another order: equal up to rounding
    assert parallel[0] == pytest.approx(serial[0], rel=1e-12)
    np.testing.assert_allclose(parallel[1], serial[1], rtol=1e-9, atol=1e-9)


def test_subset_of_all_groups_is_the_full_problem():
    objective = make_objective(*CASES[3][:3], True)
    n_outer = objective.statistics.levels[-1].p.shape[0]
    full_subset = ProfiledDeviance(
        objective.statistics.subset(np.arange(n_outer)), objective.layout, True
    )
    point = interior_point(objective)
    assert full_subset(point) == pytest.approx(objective(point), rel=1e-13)


def test_subset_matches_a_fit_to_the_subset_data():
    data = pd.read_csv(DATA / "alliance_sim.csv")
    formula = CASES[3][1]
    objective = make_objective("alliance_sim.csv", formula, None, True)
    chosen = np.arange(0, 70, 3)
    therapists = np.sort(data["therapist"].unique())[chosen]
    sub_spec = build_spec(formula, data[data["therapist"].isin(therapists)])
    direct = ProfiledDeviance(compute_statistics(sub_spec), ParameterLayout.from_spec(sub_spec), True)
    via_subset = ProfiledDeviance(objective.statistics.subset(chosen), objective.layout, True)
    point = interior_point(objective)
    assert via_subset(point) == pytest.approx(direct(point), rel=1e-12)


def test_repeated_columns_are_kept_once():
    objective = make_objective(*CASES[3][:3], True)
    patients = objective.statistics.levels[0]
    # rest = [therapist (Intercept), time, 6 fixed effects, y]: the two therapist columns
    # repeat the fixed (Intercept) and time
    assert len(patients.expand) == 9
    assert patients.n_rest == 7


def nested_objectives(three_level_model: tuple[str, pd.DataFrame]) -> list[ProfiledDeviance]:
    objectives = [make_objective(*case, True) for case in CASES[3:]]
    objectives.append(make_objective("pastes.csv", CASES[1][1], None, True))
    spec = build_spec(*three_level_model)
    objectives.append(ProfiledDeviance(compute_statistics(spec), ParameterLayout.from_spec(spec),
                                       True))
    assert [len(objective.layout.levels) for objective in objectives] == [2, 2, 2, 3]
    return objectives


@pytest.mark.parametrize("which", range(4))
def test_the_outer_gradient_reuses_the_inner_levels(which, three_level_model):
    objective = nested_objectives(three_level_model)[which]
    layout = objective.layout
    base = interior_point(objective)
    rng = np.random.default_rng(which)
    for first_level in range(1, len(layout.levels)):
        evaluation = objective.forward(base)
        inner = [np.copy(level.acc) for level in evaluation.workspace[:first_level]]
        outer = np.zeros(layout.size, dtype=bool)
        for where in layout.levels[first_level:]:
            outer[where.start : where.stop] = True
        # a step in the outer levels' theta only
        point = base + np.where(outer, rng.uniform(-0.05, 0.05, layout.size), 0.0)
        found = objective.outer_gradient(point, first_level, evaluation.workspace)
        _, gradient = objective.value_and_gradient(point)
        np.testing.assert_allclose(found[outer], gradient[outer], rtol=1e-10,
                                   atol=1e-10 * np.abs(gradient).max())
        # the inner levels were read, not eliminated again
        for before, level in zip(inner, evaluation.workspace[:first_level], strict=True):
            np.testing.assert_array_equal(level.acc, before)
        # buffers eliminated at other inner parameters give another (wrong) gradient: the
        # inner levels are indeed taken from the buffers
        stale = objective.forward(base + np.where(outer, 0.0, 0.1))
        wrong = objective.outer_gradient(point, first_level, stale.workspace)
        assert not np.allclose(wrong[outer], gradient[outer], rtol=1e-6)


def test_a_fitted_model_keeps_one_set_of_buffers() -> None:
    """The result's elimination takes over its search's buffers, and Satterthwaite's df are
    computed in them: no second set the size of the data's groups stays alive."""
    import warnings

    from alliance.mixed import fit

    frame = pd.read_csv(Path(__file__).resolve().parents[1] / "reference" / "data"
                        / "sleepstudy.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = fit("Reaction ~ Days + (Days | Subject)", frame)
    assert result.objective._search_buffers is None
    before = [np.copy(level.h) for level in result.evaluation.workspace]
    assert np.isfinite(result.fixed_effects["df"]).all()
    assert result.objective._search_buffers is None
    for saved, level in zip(before, result.evaluation.workspace, strict=True):
        np.testing.assert_array_equal(level.h, saved)
    result.objective.value_and_gradient(result.params)  # a later search makes new ones
    assert result.objective._search_buffers is not None
