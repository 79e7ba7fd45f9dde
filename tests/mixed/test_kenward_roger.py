"""Kenward-Roger inference (alliance.mixed.kenward_roger) against pbkrtest / lmerTest.

tests/reference/kenward_roger.json (tests/reference/kenward_roger.R) holds, for REML fits on
sleepstudy, Orthodont, Pastes, Pixel, Exam, Dyestuff2 and a three-level alliance study,
lme4's theta, ``vcov``, ``pbkrtest::vcovAdj``, the table of ``summary(m, ddf =
"Kenward-Roger")`` and ``KRmodcomp`` F tests. At lme4's own optimum the numbers agree to
rounding (1e-8 relative); at our optimum, as ``fit(..., df_method="kenward-roger")`` reports
them, SEs within 1e-3 and df within 1e-2 relative. Where the adjustment changes something
(Pixel, Exam, the alliance study) the comparison is shown not to be vacuous: R's adjusted SEs
differ from the unadjusted ones, and its KR df from the Satterthwaite df, by far more than
the tolerances.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from lme4_cases import REFERENCE, at_lme4_optimum, load, quiet_fit

from alliance.errors import BoundaryWarning, SpecificationError
from alliance.mixed import MixedResult, fit
from alliance.mixed.inference import denominator_df
from alliance.mixed.kenward_roger import kenward_roger

CASES = {case["case"]: case for case in
         json.loads((REFERENCE / "kenward_roger.json").read_text())["cases"]}
#: Cases where the adjustment moves the SEs by more than 0.2% and the df by more than 1%.
ADJUSTED = ["pixel", "alliance_sim_corr", "exam_slope"]


def order(result: MixedResult, case: dict) -> list[int]:
    names = list(result.spec.fixed_names)
    return [names.index(term) for term in case["terms"]]


def restriction(result: MixedResult, terms: list[str]) -> np.ndarray:
    names = list(result.spec.fixed_names)
    matrix = np.zeros((len(terms), len(names)))
    for row, term in enumerate(terms):
        matrix[row, names.index(term)] = 1.0
    return matrix


@pytest.mark.parametrize("name", sorted(CASES))
def test_pbkrtest_at_lme4s_optimum(name: str) -> None:
    case = CASES[name]
    result = quiet_fit(case["formula"], load(case))
    at = at_lme4_optimum(result, case["theta"], BoundaryWarning)
    assert at.sigma == pytest.approx(case["sigma"], rel=1e-9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BoundaryWarning)
        kr = kenward_roger(at)
    index = order(at, case)
    selected = np.ix_(index, index)
    np.testing.assert_allclose(kr.vcov[selected], np.array(case["vcov"]), rtol=1e-8)
    np.testing.assert_allclose(kr.vcov_adjusted[selected], np.array(case["vcov_adjusted"]),
                               rtol=1e-8, atol=1e-12 * np.abs(kr.vcov_adjusted).max())
    table = pd.DataFrame(case["fixed_effects"])
    unit = np.eye(len(at.beta))[index]
    np.testing.assert_allclose(kr.std_errors(unit), table["kr_std_error"], rtol=1e-8)
    np.testing.assert_allclose(kr.t_df(unit), table["kr_df"], rtol=1e-8)
    for test in case["f_tests"]:
        got = kr.f_test(restriction(at, test["terms"]), at.beta)
        assert got.ndf == test["ndf"]
        assert got.ddf == pytest.approx(test["ddf"], rel=1e-8)
        assert got.statistic == pytest.approx(test["statistic"], rel=1e-8)
        assert got.scaling == pytest.approx(test["scaling"], rel=1e-8)
        assert got.unscaled == pytest.approx(test["unscaled"], rel=1e-8)
        assert got.p_value == pytest.approx(test["p_value"], rel=1e-6)


@pytest.mark.parametrize("name", sorted(set(CASES) - {"dyestuff2_boundary"}))
def test_fit_with_kenward_roger_matches_r(name: str) -> None:
    case = CASES[name]
    result = quiet_fit(case["formula"], load(case), df_method="kenward-roger")
    assert result.df_method == "kenward-roger"
    table = result.fixed_effects.set_index("term").loc[case["terms"]]
    expected = pd.DataFrame(case["fixed_effects"]).set_index("term")
    np.testing.assert_allclose(table["std_error"], expected["kr_std_error"], rtol=1e-3)
    np.testing.assert_allclose(table["df"], expected["kr_df"], rtol=1e-2)
    np.testing.assert_allclose(table["estimate"], expected["estimate"], rtol=1e-3, atol=1e-6)
    np.testing.assert_allclose(table["t"], table["estimate"] / table["std_error"])
    # the table's SEs are the adjusted covariance's
    np.testing.assert_allclose(table["std_error"] ** 2,
                               np.diag(result.vcov_fixed)[order(result, case)], rtol=1e-12)
    for test in case["f_tests"]:
        got = result.kenward_roger.f_test(restriction(result, test["terms"]), result.beta)
        assert got.ddf == pytest.approx(test["ddf"], rel=1e-2)
        assert got.statistic == pytest.approx(test["statistic"], rel=1e-2)


@pytest.mark.parametrize("name", ADJUSTED)
def test_the_comparison_is_not_vacuous(name: str) -> None:
    table = pd.DataFrame(CASES[name]["fixed_effects"])
    assert np.max(np.abs(table["kr_std_error"] / table["std_error"] - 1)) > 2e-3
    assert np.max(np.abs(table["kr_df"] / table["satterthwaite_df"] - 1)) > 3e-2
    result = quiet_fit(CASES[name]["formula"], load(CASES[name]), df_method="kenward-roger")
    unadjusted = np.sqrt(np.diag(result.vcov_beta))
    assert np.max(np.abs(result.fixed_effects["std_error"] / unadjusted - 1)) > 2e-3


def test_denominator_df_of_a_contrast_is_pbkrtests() -> None:
    case = CASES["alliance_sim_corr"]
    result = quiet_fit(case["formula"], load(case), df_method="kenward-roger")
    contrast = np.zeros(len(result.beta))
    names = list(result.spec.fixed_names)
    contrast[names.index("time:burdens")] = 1.0
    contrast[names.index("time:satisfactions")] = -1.0
    single = result.kenward_roger.f_test(contrast, result.beta)
    assert denominator_df(result, contrast)[0] == pytest.approx(single.ddf, rel=1e-12)
    # for one contrast the F scaling is 1 and F is the square of the adjusted t
    assert single.scaling == pytest.approx(1.0, rel=1e-12)
    t = contrast @ result.beta / np.sqrt(contrast @ result.vcov_fixed @ contrast)
    assert single.statistic == pytest.approx(t**2, rel=1e-10)


def test_boundary_fit_warns_and_matches_pbkrtest() -> None:
    case = CASES["dyestuff2_boundary"]
    with pytest.warns(BoundaryWarning):
        result = fit(case["formula"], load(case), df_method="kenward-roger")
    assert result.singular
    with pytest.warns(BoundaryWarning, match="Kenward-Roger at a boundary"):
        table = result.fixed_effects
    expected = case["fixed_effects"][0]
    assert table["df"].iloc[0] == pytest.approx(expected["kr_df"], rel=1e-6)
    assert table["std_error"].iloc[0] == pytest.approx(expected["kr_std_error"], rel=1e-6)
    assert any("Kenward-Roger at a boundary" in note for note in result.warnings)


def test_ml_fits_are_refused() -> None:
    case = CASES["sleepstudy_corr"]
    with pytest.raises(SpecificationError, match="REML fits only"):
        fit(case["formula"], load(case), reml=False, df_method="kenward-roger")
    result = quiet_fit(case["formula"], load(case), reml=False)
    with pytest.raises(SpecificationError, match="defined for REML fits"):
        kenward_roger(result)


def test_dependent_contrast_rows_are_refused() -> None:
    case = CASES["orthodont_interaction"]
    result = quiet_fit(case["formula"], load(case), df_method="kenward-roger")
    rows = np.array([[0, 1, 0, 0], [0, 2, 0, 0]], dtype=float)
    with pytest.raises(SpecificationError, match="rank 1"):
        result.kenward_roger.f_test(rows, result.beta)


def dense_kenward_roger(result: MixedResult) -> tuple[np.ndarray, np.ndarray]:
    """Phi_A and the t-test df of each coefficient from full n x n matrices (pbkrtest's
    vcovAdj16_internal and Lb_ddf, written out), for the varIdent case."""
    spec = result.spec
    n = spec.n_obs
    level = spec.levels[0]
    indicator = np.zeros((n, level.n_groups))
    indicator[np.arange(n), level.codes] = 1.0
    z = np.einsum("rg,rq->rgq", indicator, level.z).reshape(n, -1)
    d = next(iter(result.covariance_matrices().values())).to_numpy()
    units = [np.array([[1.0, 0.0], [0.0, 0.0]]), np.array([[0.0, 1.0], [1.0, 0.0]]),
             np.array([[0.0, 0.0], [0.0, 1.0]])]
    g = [z @ np.kron(np.eye(level.n_groups), unit) @ z.T for unit in units]
    g += [np.diag((spec.strata == s).astype(float)) for s in range(len(spec.strata_labels))]
    variances = result.sigma**2 / result.objective.layout.strata_weights(result.params)
    v = z @ np.kron(np.eye(level.n_groups), d) @ z.T + np.diag(variances[spec.strata])
    inverse = np.linalg.inv(v)
    x = spec.x
    phi = np.linalg.inv(x.T @ inverse @ x)
    o = [gi @ inverse @ x for gi in g]
    p_mat = [-oi.T @ inverse @ x for oi in o]
    q_mat = [[oi.T @ inverse @ oj for oj in o] for oi in o]
    k = len(g)
    ie2 = np.array([[np.trace(g[i] @ inverse @ g[j] @ inverse)
                     - 2 * np.sum(phi * q_mat[i][j]) + np.sum((phi @ p_mat[i]) * (p_mat[j] @ phi))
                     for j in range(k)] for i in range(k)])
    w = 2 * np.linalg.inv(ie2)
    u = sum(w[i, j] * (q_mat[i][j] - p_mat[i] @ phi @ p_mat[j])
            for i in range(k) for j in range(k))
    adjusted = phi + 2 * phi @ u @ phi
    df = []
    for row in np.eye(len(result.beta)):
        theta = np.outer(row, row) / (row @ phi @ row)
        ui = [theta @ phi @ pm @ phi for pm in p_mat]
        a1 = sum(w[i, j] * np.trace(ui[i]) * np.trace(ui[j]) for i in range(k) for j in range(k))
        a2 = sum(w[i, j] * np.trace(ui[i] @ ui[j]) for i in range(k) for j in range(k))
        b = (a1 + 6 * a2) / 2
        gg = (2 * a1 - 5 * a2) / (3 * a2)
        c1, c2, c3 = gg / (3 + 2 * (1 - gg)), (1 - gg) / (3 + 2 * (1 - gg)), \
            (3 - gg) / (3 + 2 * (1 - gg))
        rho = ((1 - a2) / (1 - c2 * b)) ** 2 * (1 + c1 * b) / (1 - c3 * b)
        df.append(4 + 3 / (rho - 1))
    return adjusted, np.array(df)


def test_residual_strata_follow_the_formulas() -> None:
    data = pd.read_csv(REFERENCE / "data" / "orthodont.csv")
    result = quiet_fit("distance ~ age + Sex + (age | Subject)", data, residual_groups="Sex",
                       df_method="kenward-roger")
    assert result.kenward_roger.names[-2:] == ("Residual (Female)", "Residual (Male)")
    adjusted, df = dense_kenward_roger(result)
    np.testing.assert_allclose(result.vcov_fixed, adjusted, rtol=1e-9)
    np.testing.assert_allclose(result.fixed_effects["df"], df, rtol=1e-9)
    # two residual variances are not one: the df differ from the model without strata
    pooled = quiet_fit("distance ~ age + Sex + (age | Subject)", data,
                       df_method="kenward-roger")
    assert not np.allclose(pooled.fixed_effects["df"], result.fixed_effects["df"], rtol=1e-2)
