"""Factor extraction: optimality conditions and psych's principal-axis stopping rule."""

from __future__ import annotations

import numpy as np
import pytest

from alliance.errors import ConvergenceWarning, SpecificationError
from alliance.scales import extract


@pytest.fixture(scope="module")
def corr(bfi):
    return bfi.corr().to_numpy()


def test_minres_residuals_vanish_on_the_diagonal(corr):
    """At the unweighted least-squares optimum the model reproduces the diagonal."""
    result = extract(corr, 5, "minres")
    model = result.loadings @ result.loadings.T
    psi = 1 - result.communalities
    np.testing.assert_allclose(np.diag(corr - model) - psi, 0, atol=1e-6)
    assert result.converged


def test_ml_matches_the_factanal_stationarity_condition(corr):
    """At the ML optimum diag(L L' + Psi - R) = 0 (interior uniquenesses)."""
    result = extract(corr, 5, "ml")
    psi = 1 - result.communalities
    model = result.loadings @ result.loadings.T + np.diag(psi)
    np.testing.assert_allclose(np.diag(model - corr), 0, atol=1e-6)


def test_unrotated_minres_matches_psych(corr, psych_fits):
    fit = psych_fits["fits"]["bfi_minres_none"]
    np.testing.assert_allclose(extract(corr, 5).loadings, np.array(fit["loadings"]), atol=1e-5)


def test_principal_axis_stops_as_psych(corr, psych_fits):
    loose = extract(corr, 5, "pa")
    np.testing.assert_allclose(
        loose.communalities, psych_fits["fits"]["bfi_pa_promax"]["communality"], atol=1e-12
    )
    tight = extract(corr, 5, "pa", tol=1e-10, max_iter=5000)
    assert loose.iterations < tight.iterations
    assert np.abs(loose.communalities - tight.communalities).max() > 1e-4


def test_principal_axis_warns_when_iterations_run_out(corr):
    with pytest.warns(ConvergenceWarning, match="max_iter=2"):
        result = extract(corr, 5, "pa", max_iter=2)
    assert not result.converged and result.iterations == 2


def test_columns_have_positive_sums(corr):
    for method in ("minres", "ml", "pa"):
        assert np.all(extract(corr, 3, method).loadings.sum(axis=0) > 0)


def test_unknown_method(corr):
    with pytest.raises(SpecificationError, match="not an extraction method"):
        extract(corr, 2, "alpha")
