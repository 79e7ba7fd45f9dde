"""Parallel analysis: psych::fa.parallel's observed eigenvalues and suggestions."""

from __future__ import annotations

import numpy as np
import pytest

from alliance.errors import SpecificationError
from alliance.scales import parallel_analysis


@pytest.fixture(scope="module")
def bfi_parallel(bfi):
    return parallel_analysis(bfi, seed=20240501)


def test_observed_eigenvalues_match_psych(bfi_parallel, psych_parallel):
    case = psych_parallel["cases"]["bfi"]
    np.testing.assert_allclose(bfi_parallel.observed_pc, case["pc_values"], atol=1e-10)
    # one-factor minres communalities on the diagonal, optimiser tolerance
    np.testing.assert_allclose(bfi_parallel.observed_fa, case["fa_values"], atol=1e-5)


def test_suggestion_matches_psych_on_bfi(bfi_parallel, psych_parallel):
    """6 factors: the 6th observed value (0.26) is far above the simulated 95% quantile
    (about 0.10) and the 7th (0.007) far below, so the suggestion does not hinge on the draws.
    The 6 components are closer to the line (1.113 against about 1.10) and are checked only
    for this seed."""
    case = psych_parallel["cases"]["bfi"]
    assert bfi_parallel.suggested_factors == case["suggested_factors"] == 6
    assert bfi_parallel.suggested_components == case["suggested_components"] == 6
    threshold = bfi_parallel.threshold_fa
    assert bfi_parallel.observed_fa[5] > 2 * threshold[5]
    assert bfi_parallel.observed_fa[6] < threshold[6] / 2


def test_suggestion_matches_psych_on_a_correlation_matrix(harman, psych_parallel):
    """Harman74: 4 factors (5th observed 0.28 against a simulated quantile near 0.5)."""
    case = psych_parallel["cases"]["harman74"]
    result = parallel_analysis(harman, n_obs=145, seed=7)
    assert result.suggested_factors == case["suggested_factors"] == 4
    np.testing.assert_allclose(result.observed_fa, case["fa_values"], atol=1e-5)


def test_same_seed_same_draws_and_scree_data(harman):
    first = parallel_analysis(harman, n_obs=145, n_iter=4, seed=1)
    second = parallel_analysis(harman, n_obs=145, n_iter=4, seed=1)
    other = parallel_analysis(harman, n_obs=145, n_iter=4, seed=2)
    np.testing.assert_array_equal(first.simulated_fa, second.simulated_fa)
    assert not np.array_equal(first.simulated_fa, other.simulated_fa)
    scree = first.to_frame()
    assert list(scree.index) == list(range(1, 25))
    assert set(first.to_dict()) >= {"suggested_factors", "suggested_components", "observed_fa"}
    np.testing.assert_allclose(scree["simulated_pc_quantile"], first.threshold_pc)


def test_smc_reduction(harman):
    result = parallel_analysis(harman, n_obs=145, n_iter=5, reduction="smc")
    assert result.reduction == "smc"
    assert result.observed_fa[0] < result.observed_pc[0]


def test_settings_are_checked(harman):
    with pytest.raises(SpecificationError, match="pass n_obs"):
        parallel_analysis(harman)
    with pytest.raises(SpecificationError, match="reduction"):
        parallel_analysis(harman, n_obs=145, reduction="pca")
    with pytest.raises(SpecificationError, match="quantile"):
        parallel_analysis(harman, n_obs=145, quantile=1.5)
