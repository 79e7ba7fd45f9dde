"""Factor score weights: parity with psych::factor.scores, export, scoring new respondents."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from alliance.errors import DataError, SpecificationError
from alliance.scales import ScoringWeights, efa, score_weights

METHODS = {"regression": "regression", "bartlett": "Bartlett", "tenberge": "tenBerge"}
ITEMS = [f"{scale}{i}" for scale in "ACENO" for i in range(1, 6)]


@pytest.fixture(scope="module")
def reference_solution(bfi):
    """The bfi minres/oblimin solution: the 'reference sample' of the scoring tests."""
    return efa(bfi, 5, items=ITEMS, parallel=False)


@pytest.mark.parametrize("case", ["bfi_minres_oblimin", "bfi_ml_varimax", "harman_ml_oblimin"])
@pytest.mark.parametrize("method", list(METHODS))
def test_weights_match_psych(case, method, psych_fits, bfi, harman):
    """Weights from psych's own loadings, so that only the weight formula is compared."""
    fit = psych_fits["fits"][case]
    loadings = np.array(fit["loadings"])
    phi = np.array(fit["factor_correlations"])
    corr = harman.to_numpy() if case.startswith("harman") else bfi[fit["items"]].corr().to_numpy()
    weights = score_weights(corr, loadings, phi, method)
    np.testing.assert_allclose(weights, np.array(fit["weights"][METHODS[method]]), atol=1e-8)


def test_scores_of_the_fitting_sample_match_psych(reference_solution, bfi, psych_fits):
    """psych standardises with the sample's own means and SDs, as the weights do here."""
    expected = np.array(psych_fits["fits"]["bfi_minres_oblimin"]["scores_head"], dtype=float)
    scores = reference_solution.scoring_weights().score(bfi.head(10), missing="propagate")
    np.testing.assert_allclose(scores.to_numpy(), expected, atol=1e-4)
    assert np.array_equal(np.isnan(scores.to_numpy()), np.isnan(expected))


def test_new_respondents_are_scored_on_the_reference_metric(reference_solution, bfi):
    weights = reference_solution.scoring_weights("bartlett")
    # 70 "study therapists": complete respondents, columns shuffled, an extra column
    new = bfi.dropna().sample(70, random_state=1)[ITEMS[::-1]].assign(therapist=range(70))
    scores = weights.score(new)
    standardised = (new[ITEMS].to_numpy() - weights.means) / weights.sds
    np.testing.assert_allclose(scores.to_numpy(), standardised @ weights.weights, rtol=1e-12)
    assert list(scores.index) == list(new.index)
    assert list(scores.columns) == list(reference_solution.factors)
    # the reference standardisation is not the new sample's own
    own = (new[ITEMS] - new[ITEMS].mean()) / new[ITEMS].std()
    assert not np.allclose(scores.to_numpy(), own.to_numpy() @ weights.weights)


def test_weights_survive_export_to_json(reference_solution, bfi):
    weights = reference_solution.scoring_weights("tenberge")
    restored = ScoringWeights.from_dict(json.loads(json.dumps(weights.to_dict())))
    sample = bfi.dropna().head(20)
    pd.testing.assert_frame_equal(restored.score(sample), weights.score(sample))
    assert restored.method == "tenberge"
    frame = weights.to_frame()
    assert list(frame.columns[:2]) == ["mean", "sd"] and frame.shape == (25, 7)


def test_missing_item_column_is_named(reference_solution, bfi):
    weights = reference_solution.scoring_weights()
    with pytest.raises(DataError, match=r"lack 2 of the 25 items.*'A1', 'O5'"):
        weights.score(bfi.drop(columns=["A1", "O5"]))


def test_skipped_items_are_reported_or_propagated(reference_solution, bfi):
    weights = reference_solution.scoring_weights()
    sample = bfi.head(10)
    incomplete = sample.isna().any(axis=1).to_numpy()
    with pytest.raises(DataError, match=r"1 of 10 respondents skipped.*\(row 9, counted"):
        weights.score(sample)
    with pytest.raises(DataError, match=r"3 of 40 respondents.*\(rows 9, 12, 35, counted"):
        weights.score(bfi.head(40))
    scores = weights.score(sample, missing="propagate")
    assert np.array_equal(scores.isna().all(axis=1).to_numpy(), incomplete)


def test_scoring_a_matrix_solution_needs_means_and_sds(harman):
    result = efa(harman, 4, n_obs=145, method="ml", parallel=False)
    with pytest.raises(SpecificationError, match="correlation matrix.*means="):
        result.scoring_weights()
    means = dict.fromkeys(result.items, 10.0)
    sds = dict.fromkeys(result.items, 2.0)
    weights = result.scoring_weights(means=means, sds=sds)
    row = pd.DataFrame([dict.fromkeys(result.items, 12.0)])
    expected = np.ones(len(result.items)) @ weights.weights
    np.testing.assert_allclose(weights.score(row).to_numpy()[0], expected)


def test_bad_weight_payloads_are_rejected():
    with pytest.raises(DataError, match="lack sds"):
        ScoringWeights.from_dict({"method": "regression", "items": ["a"], "factors": ["F1"],
                                  "means": [0.0], "weights": [[1.0]]})  # fmt: skip
    with pytest.raises(DataError, match="inconsistent"):
        ScoringWeights.from_dict({"method": "regression", "items": ["a", "b"], "factors": ["F1"],
                                  "means": [0.0], "sds": [1.0, 1.0], "weights": [[1.0], [1.0]]})  # fmt: skip
    with pytest.raises(SpecificationError, match="unknown"):
        ScoringWeights.from_dict({"method": "anderson", "items": ["a"], "factors": ["F1"],
                                  "means": [0.0], "sds": [1.0], "weights": [[1.0]]})  # fmt: skip


def test_weights_are_read_only(reference_solution):
    weights = reference_solution.scoring_weights()
    with pytest.raises(ValueError, match="read-only"):
        weights.weights[0, 0] = 0.0
