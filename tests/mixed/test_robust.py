"""CR2 cluster-robust SEs with Satterthwaite (Bell-McCaffrey) df (alliance.mixed.robust).

tests/reference/clubsandwich_cr2.json (tests/reference/clubsandwich_cr2.R) holds
clubSandwich's ``coef_test(m, vcov = "CR2", test = "Satterthwaite")`` for lmer fits on
sleepstudy, Orthodont, Exam, the three-level alliance study, Pastes clustered by a column
coarser than the model's grouping, and an nlme::lme varIdent fit of Orthodont. At lme4's
optimum they agree to rounding; at our optimum, as ``fit(..., robust="cr2")`` reports them,
within 1e-2 relative (in fact within 1e-4).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alliance.errors import BoundaryWarning, SpecificationError
from alliance.mixed import MixedResult, fit
from alliance.mixed.fit import assemble
from alliance.mixed.inference import denominator_df
from alliance.mixed.marginal import column_clustering
from alliance.mixed.robust import cluster_robust

REFERENCE = Path(__file__).resolve().parents[1] / "reference"
CASES = {case["case"]: case for case in
         json.loads((REFERENCE / "clubsandwich_cr2.json").read_text())["cases"]}


def load(case: dict) -> pd.DataFrame:
    data = pd.read_csv(REFERENCE / case["data"])
    for column, levels in case["factor_levels"].items():
        data[column] = pd.Categorical(data[column].astype(str), categories=levels)
    return data


def robust_fit(case: dict, data: pd.DataFrame) -> MixedResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit(case["formula"], data, residual_groups=case.get("residual_groups"),
                   robust="cr2", cluster=case.get("cluster"))


def order(result: MixedResult, case: dict) -> list[int]:
    names = list(result.spec.fixed_names)
    return [names.index(term) for term in case["terms"]]


@pytest.mark.parametrize("name", sorted(name for name in CASES if "theta" in CASES[name]))
def test_clubsandwich_at_lme4s_optimum(name: str) -> None:
    case = CASES[name]
    data = load(case)
    result = robust_fit(case, data)
    values = []
    for level in result.objective.layout.levels:
        names = level.column_names
        for row, col in zip(level.rows, level.cols, strict=True):
            values.append(case["theta"][f"{level.name}.{names[col]}" if row == col
                                        else f"{level.name}.{names[row]}.{names[col]}"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BoundaryWarning)
        at = assemble(result.spec, result.objective, np.array(values), result.fit_info,
                      result.df_method, result.confidence, 0.0, result.clustering)
    assert at.sigma == pytest.approx(case["sigma"], rel=1e-9)
    robust = cluster_robust(at, at.clustering)
    assert robust.n_clusters == case["n_clusters"]
    index = order(at, case)
    np.testing.assert_allclose(robust.vcov[np.ix_(index, index)], np.array(case["vcov_cr2"]),
                               rtol=1e-8, atol=1e-12 * np.abs(robust.vcov).max())
    table = pd.DataFrame(case["fixed_effects"])
    unit = np.eye(len(at.beta))[index]
    np.testing.assert_allclose(robust.std_errors(unit), table["std_error"], rtol=1e-8)
    np.testing.assert_allclose(robust.df(unit), table["df"], rtol=1e-8)


@pytest.mark.parametrize("name", sorted(CASES))
def test_fit_with_cr2_matches_clubsandwich(name: str) -> None:
    case = CASES[name]
    result = robust_fit(case, load(case))
    assert result.df_method == "bell-mccaffrey" and result.robust == "cr2"
    table = result.fixed_effects.set_index("term").loc[case["terms"]]
    expected = pd.DataFrame(case["fixed_effects"]).set_index("term")
    np.testing.assert_allclose(table["std_error"], expected["std_error"], rtol=1e-2)
    np.testing.assert_allclose(table["df"], expected["df"], rtol=1e-2)
    np.testing.assert_allclose(table["p"], expected["p"], rtol=1e-2, atol=1e-12)
    # measured: within 1e-4 (the optimizers' difference)
    np.testing.assert_allclose(table["std_error"], expected["std_error"], rtol=1e-4)
    payload = result.to_dict()
    assert payload["df_method"] == "bell-mccaffrey"
    assert payload["robust"] == {"type": "cr2", "cluster": case.get("cluster") or
                                 result.spec.levels[-1].name, "n_clusters": case["n_clusters"]}
    assert "CR2 cluster-robust SEs" in payload["standard_errors"]
    assert f"CR2 cluster-robust SEs ({case['n_clusters']} clusters" in result.summary()


def test_robust_ses_differ_from_the_model_based_ones() -> None:
    case = CASES["alliance_sim_corr"]
    result = robust_fit(case, load(case))
    ratio = result.fixed_effects["std_error"] / np.sqrt(np.diag(result.vcov_beta))
    assert np.max(np.abs(ratio - 1)) > 0.05
    # the therapist-level terms get about J - p df, not the model's Satterthwaite df
    assert result.fixed_effects.set_index("term").loc["burdens", "df"] < 30


def test_denominator_df_of_a_contrast() -> None:
    case = CASES["alliance_sim_corr"]
    result = robust_fit(case, load(case))
    names = list(result.spec.fixed_names)
    contrast = np.zeros(len(names))
    contrast[names.index("burdens")] = 1.0
    contrast[names.index("satisfactions")] = -1.0
    df = denominator_df(result, np.vstack([np.eye(len(names)), contrast]))
    np.testing.assert_allclose(df[:-1], result.fixed_effects["df"], rtol=1e-12)
    assert 10 < df[-1] < 70


def test_the_working_covariance_scale_does_not_matter() -> None:
    case = CASES["sleepstudy_corr"]
    data = load(case)
    result = robust_fit(case, data)
    scaled = robust_fit(case, data.assign(Reaction=data["Reaction"] * 1000.0))
    np.testing.assert_allclose(scaled.fixed_effects["std_error"],
                               result.fixed_effects["std_error"] * 1000.0, rtol=1e-5)
    np.testing.assert_allclose(scaled.fixed_effects["df"], result.fixed_effects["df"],
                               rtol=1e-5)


def test_refusals() -> None:
    case = CASES["alliance_sim_corr"]
    data = load(case)
    with pytest.raises(SpecificationError, match="not nested within the clustering"):
        fit(case["formula"], data, robust="cr2", cluster="patient")
    with pytest.raises(SpecificationError, match="cannot be combined"):
        fit(case["formula"], data, robust="cr2", df_method="kenward-roger")
    with pytest.raises(SpecificationError, match="robust must be one of"):
        fit(case["formula"], data, robust="hc3")
    with pytest.raises(SpecificationError, match="ask for them with robust='cr2'"):
        fit(case["formula"], data, cluster="therapist")
    one = data.assign(site="all")
    result = robust_fit({"formula": case["formula"]}, one)
    with pytest.raises(SpecificationError, match="at least two clusters"):
        cluster_robust(result, column_clustering(result.spec, one, "site"))
