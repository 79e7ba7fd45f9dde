"""The marginal covariance by cluster (alliance.mixed.marginal).

Checked against a dense ``V = sum_l Z_l (I (x) D_l) Z_l' + R`` built here from indicator
matrices, against the REML criterion of the fit (which only the right ``V`` reproduces), and
for the linear parametrization: ``V = sum_i tau_i G_i``.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alliance.errors import SpecificationError
from alliance.mixed import MixedResult, fit
from alliance.mixed.marginal import MarginalModel, column_clustering, top_level_clustering

DATA = Path(__file__).resolve().parents[1] / "reference" / "data"
ALLIANCE = "wai ~ time * (burdens + satisfactions) + (time | therapist/patient)"


def quiet_fit(formula: str, data: pd.DataFrame, **kwargs: object) -> MixedResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit(formula, data, **kwargs)  # type: ignore[arg-type]


def dense_v(result: MixedResult) -> np.ndarray:
    """The full ``n x n`` marginal covariance, from indicator matrices of the groups."""
    spec = result.spec
    v = np.zeros((spec.n_obs, spec.n_obs))
    for level, cov in zip(spec.levels, result.covariance_matrices().values(), strict=True):
        indicator = np.zeros((spec.n_obs, level.n_groups))
        indicator[np.arange(spec.n_obs), level.codes] = 1.0
        z = np.einsum("rg,rq->rgq", indicator, level.z).reshape(spec.n_obs, -1)
        v += z @ np.kron(np.eye(level.n_groups), cov.to_numpy()) @ z.T
    variances = result.sigma**2 / result.objective.layout.strata_weights(result.params)
    return v + np.diag(variances[spec.strata])


@pytest.fixture(scope="module")
def alliance() -> tuple[MixedResult, pd.DataFrame]:
    data = pd.read_csv(DATA / "alliance_sim.csv")
    return quiet_fit(ALLIANCE, data), data


@pytest.fixture(scope="module")
def orthodont_varident() -> MixedResult:
    data = pd.read_csv(DATA / "orthodont.csv")
    return quiet_fit("distance ~ age + Sex + (age | Subject)", data, residual_groups="Sex")


@pytest.mark.parametrize("which", ["alliance", "orthodont_varident"])
def test_blocks_are_the_dense_covariance_by_cluster(
    which: str, request: pytest.FixtureRequest
) -> None:
    value = request.getfixturevalue(which)
    result = value[0] if isinstance(value, tuple) else value
    full = dense_v(result)
    model = MarginalModel.from_result(result)
    covered = np.zeros(result.n_obs, dtype=bool)
    for block in model.blocks(derivatives=True):
        np.testing.assert_allclose(block.v, full[np.ix_(block.rows, block.rows)],
                                   rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(block.v_inverse @ block.v, np.eye(len(block.rows)),
                                   atol=1e-9)
        np.testing.assert_allclose(block.cholesky @ block.cholesky.T, block.v, rtol=1e-12)
        assert block.derivatives is not None
        np.testing.assert_allclose(np.einsum("i,iab->ab", model.tau, block.derivatives),
                                   block.v, rtol=1e-12, atol=1e-14)
        np.testing.assert_array_equal(block.x, result.spec.x[block.rows])
        covered[block.rows] = True
    assert covered.all()
    # off the blocks the dense V is 0: the clusters are independent
    codes = model.clustering.codes
    assert np.all(full[codes[:, None] != codes[None, :]] == 0.0)


def test_the_blocks_reproduce_the_reml_criterion(alliance: tuple[MixedResult, pd.DataFrame]
                                                 ) -> None:
    result, _ = alliance
    n, p = result.n_obs, len(result.beta)
    log_det = quadratic = 0.0
    information = np.zeros((p, p))
    blocks = list(MarginalModel.from_result(result).blocks())
    for block in blocks:
        log_det += 2.0 * np.sum(np.log(np.diag(block.cholesky)))
        residual = block.y - block.x @ result.beta
        quadratic += residual @ block.v_inverse @ residual
        information += block.x.T @ block.v_inverse @ block.x
    criterion = (log_det + np.linalg.slogdet(information)[1] + quadratic
                 + (n - p) * np.log(2 * np.pi))
    assert criterion == pytest.approx(result.deviance, rel=1e-10)
    np.testing.assert_allclose(np.linalg.inv(information), result.vcov_beta, rtol=1e-8)
    # memory: the largest block is the largest therapist, not n
    sizes = np.bincount(result.spec.levels[-1].codes)
    assert max(len(block.rows) for block in blocks) == sizes.max() < n


def test_parameters_follow_pbkrtest(alliance: tuple[MixedResult, pd.DataFrame]) -> None:
    result, _ = alliance
    model = MarginalModel.from_result(result)
    assert model.names == (
        "patient:therapist: var((Intercept))", "patient:therapist: cov((Intercept), time)",
        "patient:therapist: var(time)", "therapist: var((Intercept))",
        "therapist: cov((Intercept), time)", "therapist: var(time)", "Residual",
    )
    table = result.random_effects
    expected = [*table["vcov"].iloc[[0, 2, 1, 3, 5, 4]], result.sigma**2]
    np.testing.assert_allclose(model.tau, expected, rtol=1e-12)


def test_residual_strata_are_parameters(orthodont_varident: MixedResult) -> None:
    model = MarginalModel.from_result(orthodont_varident)
    assert model.names[-2:] == ("Residual (Female)", "Residual (Male)")
    ratios = orthodont_varident.residual_sd_ratios
    assert model.tau[-1] / model.tau[-2] == pytest.approx(ratios["Male"] ** 2, rel=1e-12)


def test_a_coarser_column_clusters_whole_groups() -> None:
    data = pd.read_csv(DATA / "pastes.csv")
    result = quiet_fit("strength ~ 1 + (1 | sample)", data)
    assert top_level_clustering(result.spec).n_clusters == 30
    clustering = column_clustering(result.spec, data, "batch")
    assert clustering.n_clusters == 10 and clustering.name == "batch"
    blocks = list(MarginalModel.from_result(result, clustering).blocks())
    assert [len(block.rows) for block in blocks] == [6] * 10
    np.testing.assert_allclose(blocks[0].v, dense_v(result)[np.ix_(blocks[0].rows,
                                                                     blocks[0].rows)])


def test_a_clustering_that_splits_groups_is_refused(
    alliance: tuple[MixedResult, pd.DataFrame]
) -> None:
    result, data = alliance
    with pytest.raises(SpecificationError, match="not nested within the clustering"):
        column_clustering(result.spec, data, "patient")
    with pytest.raises(SpecificationError, match="'clinic' is not in the data"):
        column_clustering(result.spec, data, "clinic")
    gaps = data.assign(site=data["therapist"].where(data.index % 7 != 0))
    with pytest.raises(SpecificationError, match="missing on 122 of the 854 rows"):
        column_clustering(result.spec, gaps, "site")
    repeated = data.set_axis(np.zeros(len(data), dtype=int))
    with pytest.raises(SpecificationError, match="repeated labels"):
        column_clustering(result.spec, repeated, "therapist")


def test_the_cluster_column_follows_the_rows_the_model_uses() -> None:
    data = pd.read_csv(DATA / "pastes.csv")
    data.loc[[0, 7], "strength"] = np.nan
    result = quiet_fit("strength ~ 1 + (1 | sample)", data)
    clustering = column_clustering(result.spec, data, "batch")
    assert len(clustering.codes) == 58
    np.testing.assert_array_equal(clustering.labels[clustering.codes],
                                  data["batch"].drop(index=[0, 7]).to_numpy())
