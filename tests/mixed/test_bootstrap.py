"""Parametric bootstrap: replicates centred on the fit, reproducible by seed, failures counted."""

from __future__ import annotations

import json
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import alliance.mixed.bootstrap as bootstrap_module
from alliance.errors import SpecificationError
from alliance.mixed import BootstrapResult, MixedResult, fit, parametric_bootstrap
from alliance.mixed.bootstrap import BOOTSTRAP_COLUMNS

REFERENCE = Path(__file__).resolve().parents[1] / "reference"
N_BOOT = 50


@pytest.fixture(scope="module")
def sleep() -> MixedResult:
    data = pd.read_csv(REFERENCE / "data" / "sleepstudy.csv")
    return fit("Reaction ~ Days + (Days | Subject)", data)


@pytest.fixture(scope="module")
def boot(sleep: MixedResult) -> BootstrapResult:
    return parametric_bootstrap(sleep, N_BOOT, seed=20240611)


def test_replicates_are_centred_on_the_fitted_values(sleep, boot):
    assert boot.n_boot == N_BOOT and boot.n_failed == 0
    assert list(boot.replicates.columns) == [
        "(Intercept)", "Days", "sd_(Intercept)|Subject", "cor_Days.(Intercept)|Subject",
        "sd_Days|Subject", "sigma",
    ]
    table = boot.intervals().set_index("parameter")
    assert list(table.columns) == BOOTSTRAP_COLUMNS[1:]
    # Monte Carlo error of a mean of 50 replicates: SD / sqrt(50); allow 4 of them
    monte_carlo = table["std_error"] / np.sqrt(N_BOOT)
    assert ((table["mean"] - table["estimate"]).abs() < 4 * monte_carlo).all(), table
    assert (table["ci_low"] < table["estimate"]).all() and (table["estimate"] < table["ci_high"]).all()
    # the bootstrap SE of the fixed effects estimates the model SE (within MC error, ~10%)
    model_se = sleep.fixed_effects.set_index("term")["std_error"]
    ratio = table.loc[model_se.index, "std_error"] / model_se
    assert ((ratio > 0.7) & (ratio < 1.3)).all(), ratio


def test_percentiles_are_the_quantiles_of_the_replicates(boot):
    table = boot.intervals(0.8).set_index("parameter")
    days = boot.replicates["Days"].to_numpy()
    assert table.at["Days", "ci_low"] == pytest.approx(np.quantile(days, 0.1))
    assert table.at["Days", "ci_high"] == pytest.approx(np.quantile(days, 0.9))
    assert table.at["Days", "std_error"] == pytest.approx(days.std(ddof=1))


def test_same_seed_same_replicates_whatever_the_map(sleep, boot):
    again = parametric_bootstrap(sleep, 5, seed=20240611)
    pd.testing.assert_frame_equal(again.replicates, boot.replicates.iloc[:5])
    with ThreadPoolExecutor(max_workers=2) as executor:
        threaded = parametric_bootstrap(sleep, 5, seed=20240611, map_function=executor.map)
    pd.testing.assert_frame_equal(threaded.replicates, again.replicates)
    other = parametric_bootstrap(sleep, 5, seed=1)
    assert not np.allclose(other.replicates.to_numpy(), again.replicates.to_numpy())


def test_failed_refits_are_counted_and_left_out(sleep, monkeypatch):
    real = bootstrap_module.fit_spec
    calls = {"n": 0}

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] in (2, 4):
            raise np.linalg.LinAlgError("Matrix is not positive definite")
        return real(*args, **kwargs)

    monkeypatch.setattr(bootstrap_module, "fit_spec", failing)
    result = parametric_bootstrap(sleep, 6, seed=3)
    assert result.n_failed == 2 and result.n_not_converged == 0
    assert result.failures == ("LinAlgError: Matrix is not positive definite",) * 2
    assert result.replicates.iloc[[1, 3]].isna().all().all()
    table = result.intervals().set_index("parameter")
    assert table.at["Days", "mean"] == pytest.approx(result.replicates["Days"].dropna().mean())
    payload = json.loads(json.dumps(result.to_dict()))
    assert payload["n_failed"] == 2 and payload["n_boot"] == 6


def test_simulated_responses_have_the_model_covariance():
    """Dyestuff, (1 | Batch): Var(y*) = tau^2 + sigma^2, Cov within a batch tau^2, across 0."""
    data = pd.read_csv(REFERENCE / "data" / "dyestuff.csv")
    result = fit("Yield ~ 1 + (1 | Batch)", data)
    model = bootstrap_module._model_of(result)
    rng = np.random.default_rng(11)
    draws = np.array([bootstrap_module._simulate(model, rng) for _ in range(4000)])
    tau2 = result.covariance_matrices()["Batch"].iloc[0, 0]
    sigma2 = result.sigma**2
    covariance = np.cov(draws, rowvar=False)
    codes = result.spec.levels[0].codes
    same = (codes[:, None] == codes[None, :]) & ~np.eye(len(codes), dtype=bool)
    different = codes[:, None] != codes[None, :]
    assert np.diag(covariance).mean() == pytest.approx(tau2 + sigma2, rel=0.03)
    assert covariance[same].mean() == pytest.approx(tau2, rel=0.05)
    assert abs(covariance[different].mean()) < 0.02 * tau2
    np.testing.assert_allclose(draws.mean(axis=0), result.beta[0], atol=0.1 * np.sqrt(tau2))


def test_bad_arguments(sleep):
    with pytest.raises(SpecificationError, match="n_boot"):
        parametric_bootstrap(sleep, 0)
    boot = parametric_bootstrap(sleep, 2, seed=1)
    with pytest.raises(SpecificationError, match="between 0 and 1"):
        boot.intervals(1.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        boot.to_frame()


def test_replicates_of_a_singular_fit_can_leave_the_boundary():
    """Dyestuff2: Batch SD estimated 0. Refits start inside, so replicates can estimate SD > 0."""
    data = pd.read_csv(REFERENCE / "data" / "dyestuff2.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = fit("Yield ~ 1 + (1 | Batch)", data)
    assert result.singular
    boot = parametric_bootstrap(result, 30, seed=4)
    batch = boot.replicates["sd_(Intercept)|Batch"]
    assert 0 < boot.n_singular < 30
    assert batch.max() > 0.5 and (batch[~boot.singular] > 0).all()
