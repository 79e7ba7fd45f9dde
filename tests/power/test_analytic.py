"""Analytic power: closed form = numerical GLS = the engine's GLS; simulation agrees with it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from alliance.mixed import ProfiledDeviance, compute_statistics
from alliance.mixed.parameters import ParameterLayout
from alliance.power import (
    ModelBuilder,
    PowerDesign,
    analytic_power,
    closed_form_variances,
    draw_layout,
    draw_response,
    gls_covariance,
    power_analysis,
    z_power,
)
from alliance.power.analytic import CLOSED_FORM, GLS_INFORMATION, fixed_names


def _design(therapists: int, patients: int, icc_pre_cluster: float, icc_slope: float,
            **extra: Any) -> PowerDesign:
    """powerlmm's kind of design: 11 waves 0..10, a 50/50 treatment at the therapist level."""
    return PowerDesign.from_dict({
        "sample": {"therapists": therapists, "patients_per_therapist": patients},
        "schedule": {"waves": list(range(1, 12)), "time": "linear"},
        "variance": {"icc_pre_subject": 0.5, "icc_pre_cluster": icc_pre_cluster,
                     "icc_slope": icc_slope, "var_ratio": 0.02, "cor_subject": -0.2,
                     "cor_cluster": 0.3, "sigma": 10.0},
        "predictors": {"treatment": {"distribution": "binary"}},
        "cohens_d": {"time:treatment": -0.5},
        "effects": {"treatment": 2.0},
        **extra,
    })


def test_two_level_closed_form_is_the_textbook_formula() -> None:
    """var = (sigma^2 / SS_t + u1^2) (1/n_treated + 1/n_control) for subjects in two arms."""
    design = _design(100, 1, 0.0, 0.0)
    ss_t = ((np.arange(11) - 5.0) ** 2).sum()
    expected = (100.0 / ss_t + 0.02 * 100.0) * (1 / 50 + 1 / 50)
    assert closed_form_variances(design)["time:treatment"] == pytest.approx(expected, rel=1e-12)
    growth = next(r for r in analytic_power(design, np.random.default_rng(0))
                  if r.term == "time:treatment")
    assert growth.method == CLOSED_FORM
    slope_difference = -0.5 * np.sqrt(200.0) / 10.0
    assert growth.power == pytest.approx(
        z_power(slope_difference, np.sqrt(expected), 0.05), rel=1e-12)


@pytest.mark.parametrize(("therapists", "patients", "icc_pre_cluster", "icc_slope"),
                         [(100, 1, 0.0, 0.0), (30, 4, 0.08, 0.1), (31, 3, 0.08, 0.0)])
def test_closed_form_equals_the_numerical_gls(
    therapists: int, patients: int, icc_pre_cluster: float, icc_slope: float
) -> None:
    design = _design(therapists, patients, icc_pre_cluster, icc_slope)
    covariance = gls_covariance(design, draw_layout(design, np.random.default_rng(1)))
    names = fixed_names(design)
    for term, variance in closed_form_variances(design).items():
        index = names.index(term)
        assert covariance[index, index] == pytest.approx(variance, rel=1e-10)


def test_numerical_gls_equals_the_engine_at_the_true_parameters() -> None:
    """The engine's (X'V^-1X)^-1 at theta = chol(G / sigma^2), on an unbalanced study."""
    design = PowerDesign.reference()
    rng = np.random.default_rng(2)
    layout = draw_layout(design, rng)
    spec = ModelBuilder(design).spec(layout, draw_response(design, layout,
                                                           design.fixed_effects(), rng))
    layout_parameters = ParameterLayout.from_spec(spec)
    params = layout_parameters.start()
    sigma = design.variance.residual_sd
    # levels innermost first: patients, then therapists
    covariances = (design.variance.patient_covariance(), design.variance.therapist_covariance())
    for level, covariance in zip(layout_parameters.levels, covariances, strict=True):
        factor = np.linalg.cholesky(covariance / sigma**2)
        params[level.start:level.stop] = factor[level.rows, level.cols]
    objective = ProfiledDeviance(compute_statistics(spec), layout_parameters, reml=True)
    engine = sigma**2 * objective.forward(params).txx_inverse
    assert list(spec.fixed_names) == fixed_names(design)
    np.testing.assert_allclose(gls_covariance(design, layout), engine, rtol=1e-9)


def test_unbalanced_designs_average_the_gls_power() -> None:
    data = PowerDesign.reference().to_dict()
    data.pop("treatment")
    data["schedule"]["dropout"] = 0.0
    data["sample"].update(caseload="fixed", patients_per_therapist=3)
    balanced = PowerDesign.from_dict(data)
    data["sample"]["caseload"] = "poisson"
    unequal = PowerDesign.from_dict(data)
    exact = analytic_power(balanced, np.random.default_rng(3))
    drawn = analytic_power(unequal, np.random.default_rng(3), realisations=100)
    assert all(r.method == CLOSED_FORM and r.realisations == 0 for r in exact)
    assert all(r.method == GLS_INFORMATION and r.realisations == 100 for r in drawn)
    # unequal caseloads of the same mean cost precision
    for equal, unequal_caseloads in zip(exact, drawn, strict=True):
        assert unequal_caseloads.std_error > equal.std_error
        assert unequal_caseloads.power < equal.power


def test_z_power() -> None:
    assert z_power(0.0, 1.0, 0.05) == pytest.approx(0.05)
    assert z_power(1.959963984540054 + 0.8416212335729143, 1.0, 0.05) == pytest.approx(
        0.8, abs=1e-5)
    assert z_power(-2.0, 1.0, 0.05) == z_power(2.0, 1.0, 0.05)


def _within_monte_carlo_error(row: Any) -> None:
    standard_error = np.sqrt(row.analytic_power * (1 - row.analytic_power) / row.fitted)
    assert abs(row.power - row.analytic_power) < 3.5 * standard_error, (
        row.term, row.power, row.analytic_power)


def test_simulated_power_matches_the_two_level_closed_form() -> None:
    """Balanced two-level design (one patient per unit, no therapist variance), Wald z."""
    design = _design(100, 1, 0.0, 0.0, df_method="z")
    result = power_analysis(design, replicates=300, workers=1, seed=5)
    for row in result.table.itertuples():
        _within_monte_carlo_error(row)


@pytest.mark.slow
def test_simulated_power_matches_the_three_level_closed_form() -> None:
    """powerlmm's three-level design: 40 therapists x 5 patients x 11 waves, 50/50 treatment."""
    design = _design(40, 5, 0.05, 0.05, df_method="z")
    result = power_analysis(design, replicates=400, workers=2, seed=6)
    assert (result.table["analytic_method"] == CLOSED_FORM).all()
    for row in result.table.itertuples():
        _within_monte_carlo_error(row)
