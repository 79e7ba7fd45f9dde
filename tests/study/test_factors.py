"""Naming the therapist factors by content, and scoring study therapists on the reference metric."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from alliance.errors import SpecificationError
from alliance.instruments import load_instrument
from alliance.study import FACTOR_NAMES, StudyResults
from alliance.study.factors import codebook_domains, name_factors

ITEMS = tuple(f"qpl{k}" for k in range(1, 9))
DOMAINS = {"personal_satisfactions": ITEMS[:4], "personal_burdens": ITEMS[4:]}
# satisfactions load on the first column, burdens on the second, plus small cross-loadings
PATTERN = np.array([[0.7, 0.05], [0.6, -0.1], [0.65, 0.0], [0.5, 0.1],
                    [0.0, 0.7], [0.1, 0.6], [-0.2, 0.55], [0.05, 0.65]])


@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize("signs", [(1, 1), (-1, 1), (1, -1), (-1, -1)])
def test_factors_are_named_whatever_their_order_and_sign(swap: bool, signs: tuple[int, int]
                                                         ) -> None:
    given = PATTERN[:, ::-1] if swap else PATTERN
    given = given * np.array(signs)
    order, flip = name_factors(given, ITEMS, DOMAINS)
    np.testing.assert_array_equal(given[:, order] * flip, PATTERN)


def test_factors_that_do_not_separate_the_domains_are_refused() -> None:
    simple = np.kron(np.eye(2), np.full((4, 1), 0.7))
    mixed = {"personal_satisfactions": ("qpl1", "qpl2", "qpl5", "qpl6"),
             "personal_burdens": ("qpl3", "qpl4", "qpl7", "qpl8")}
    with pytest.raises(SpecificationError, match="cannot tell which factor is"):
        name_factors(simple, ITEMS, mixed)


def test_codebook_domains_come_from_the_item_notes() -> None:
    domains = codebook_domains(load_instrument("dpccq-qpl"))
    assert domains["personal_satisfactions"] == tuple(f"qpl{k}" for k in range(1, 9))
    assert domains["personal_burdens"] == tuple(f"qpl{k}" for k in range(9, 17))


def test_study_scores_are_on_the_reference_metric(small_results: StudyResults) -> None:
    factors = small_results.factors
    data_items = list(factors.items)
    assert factors.weights.factors == FACTOR_NAMES
    # satisfaction items load positively on personal_satisfactions, burden items on burdens
    loadings = factors.loadings()
    for name in FACTOR_NAMES:
        assert loadings.loc[list(factors.domains[name]), name].mean() > 0.4
    assert factors.phi[0, 1] < 0
    assert factors.scores.index.name == "therapist"
    assert len(factors.scores) == 24 and not factors.scores.isna().any().any()
    assert data_items == [f"qpl{k}" for k in range(1, 17)]


def test_scores_correlate_with_the_true_factor_scores(small_results: StudyResults,
                                                       small_study: Path) -> None:
    truth = json.loads((small_study.parent / "truth.json").read_text())
    true_scores = truth["therapist_factor_scores"]
    scores = small_results.factors.scores.loc[true_scores["therapist"]]
    for name in FACTOR_NAMES:
        r = np.corrcoef(scores[name], true_scores[name])[0, 1]
        assert r > 0.85, (name, r)


def test_reliability_uses_the_salient_items(small_results: StudyResults) -> None:
    reliability = small_results.factors.reliability
    for name in FACTOR_NAMES:
        result = reliability[name]
        assert result is not None
        assert set(result.items) <= set(small_results.factors.domains[name]) | {"qpl7", "qpl14"}
        assert 0.7 < result.alpha < 0.95
