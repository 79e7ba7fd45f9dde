"""Naming the therapist factors by content, and scoring study therapists on the reference metric."""

from __future__ import annotations

import json
import tomllib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alliance.errors import SpecificationError
from alliance.instruments import load_instrument
from alliance.simulate import StudyDesign
from alliance.study import (
    FACTOR_NAMES,
    StudyResults,
    example_config_text,
    load_config,
    load_study,
    run_study,
)
from alliance.study.config import FactorConfig
from alliance.study.factors import naming_target, therapist_factors
from alliance.study.naming import NamingTarget, congruence, name_factors

ITEMS = tuple(f"qpl{k}" for k in range(1, 9))
MARKERS = NamingTarget.from_markers(FACTOR_NAMES, (ITEMS[:4], ITEMS[4:]))
# satisfactions load on the first column, burdens on the second, plus small cross-loadings
PATTERN = np.array([[0.7, 0.05], [0.6, -0.1], [0.65, 0.0], [0.5, 0.1],
                    [0.0, 0.7], [0.1, 0.6], [-0.2, 0.55], [0.05, 0.65]])
DOCS = Path(__file__).parents[2] / "docs"


@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize("signs", [(1, 1), (-1, 1), (1, -1), (-1, -1)])
def test_factors_are_named_whatever_their_order_and_sign(swap: bool, signs: tuple[int, int]
                                                         ) -> None:
    given = PATTERN[:, ::-1] if swap else PATTERN
    given = given * np.array(signs)
    naming = name_factors(given, ITEMS, MARKERS)
    np.testing.assert_array_equal(given[:, list(naming.order)] * naming.signs, PATTERN)
    assert np.all(naming.congruence > 0.9)


def test_congruence_is_tuckers_coefficient() -> None:
    x = np.array([[1.0, 0.0], [2.0, 1.0], [2.0, -1.0]])
    y = np.array([[2.0], [4.0], [4.0]])
    np.testing.assert_allclose(congruence(x, y)[:, 0], [1.0, 0.0])


def test_a_target_pattern_names_the_factors() -> None:
    target = NamingTarget.from_pattern(FACTOR_NAMES, {"qpl1": (0.7, 0.0), "qpl5": (0.0, 0.7),
                                                      "qpl6": (0.0, 0.6)})
    naming = name_factors(PATTERN[:, ::-1], ITEMS, target)
    assert naming.order == (1, 0)
    assert naming.to_dict()["factors"][1]["markers"][0] == {
        "item": "qpl5", "target": 0.7, "personal_satisfactions": 0.0, "personal_burdens": 0.7}


def test_markers_that_do_not_match_the_solution_are_refused() -> None:
    # the codebook's old bug: domains 1-4 vs 5-8 while the items alternate between factors
    alternating = PATTERN[[0, 4, 1, 5, 2, 6, 3, 7]]
    with pytest.raises(SpecificationError) as error:
        name_factors(alternating, ITEMS, MARKERS)
    message = str(error.value)
    assert "congruence" in message and "below 0.85" in message
    assert "qpl2 (marks personal_satisfactions" in message
    assert "factors.satisfaction_items and factors.burden_items" in message


def test_one_marker_on_the_wrong_factor_is_named() -> None:
    wrong = PATTERN.copy()
    wrong[3] = [0.05, 0.6]
    with pytest.raises(SpecificationError, match=r"qpl4 \(marks personal_satisfactions"):
        name_factors(wrong, ITEMS, MARKERS)


def test_without_evidence_the_factors_are_not_named() -> None:
    with pytest.raises(SpecificationError, match="placeholders") as error:
        naming_target(load_instrument("dpccq-qpl"), FactorConfig())
    assert "factors.satisfaction_items" in str(error.value)
    assert "factors.target" in str(error.value)


def _design_domains() -> dict[str, set[str]]:
    qpl = StudyDesign.default().qpl
    primary = np.argmax(np.abs(qpl.loading_matrix), axis=1)
    return {name: {item for item, k in zip(qpl.items, primary, strict=True) if k == f}
            for f, name in enumerate(qpl.factors)}


def test_codebook_simulator_and_example_configs_agree() -> None:
    domains = _design_domains()
    notes = load_instrument("dpccq-qpl").item_notes
    for name, word in zip(FACTOR_NAMES, ("satisfaction", "burden"), strict=True):
        assert {item for item, note in notes.items() if f", {word} " in note} == domains[name]
    package = tomllib.loads(example_config_text())["factors"]
    docs = tomllib.loads((DOCS / "example-study.toml").read_text(encoding="utf-8"))["factors"]
    for factors in (package, docs):
        assert set(factors["satisfaction_items"]) <= domains["personal_satisfactions"]
        assert set(factors["burden_items"]) <= domains["personal_burdens"]


def test_placeholder_domains_stop_the_run_naming_the_items(study_copy: Path) -> None:
    text = study_copy.read_text(encoding="utf-8")
    swapped = text.replace('"qpl3", "qpl5"', '"qpl2", "qpl4"', 1)
    swapped = swapped.replace('["qpl2", "qpl4"', '["qpl3", "qpl5"', 1)
    assert swapped != text
    study_copy.write_text(swapped, encoding="utf-8")
    with pytest.raises(SpecificationError, match="qpl2 \\(marks personal_satisfactions"):
        run_study(load_config(study_copy))


def test_study_scores_are_on_the_reference_metric(small_results: StudyResults) -> None:
    factors = small_results.factors
    data_items = list(factors.items)
    assert factors.weights.factors == FACTOR_NAMES
    # satisfaction items load positively on personal_satisfactions, burden items on burdens
    loadings = factors.loadings()
    for name in FACTOR_NAMES:
        markers = [m["item"] for m in factors.naming.to_dict()["factors"][FACTOR_NAMES.index(
            name)]["markers"]]
        assert loadings.loc[markers, name].mean() > 0.4
    assert np.all(factors.naming.congruence > 0.95)
    assert factors.phi[0, 1] < 0
    assert factors.scores.index.name == "therapist"
    assert len(factors.scores) == 24 and not factors.scores.isna().any().any()
    assert data_items == [f"qpl{k}" for k in range(1, 17)]


def test_croon_corrected_regression_scores_are_the_regression_scores(
    small_results: StudyResults,
) -> None:
    factors = small_results.factors
    assert factors.correction == "croon"
    # for regression scores the calibration is the identity (Var(s) = W'L Phi)
    np.testing.assert_allclose(factors.transform, np.eye(2), atol=1e-6)
    section = factors.therapist_factors_dict()
    assert section["scale"].startswith("factor metric (Croon-corrected)")
    for name in FACTOR_NAMES:
        reference = section["reference"][name]
        # regression scores shrink: their SD in the reference sample is below 1
        assert reference["sd"] == pytest.approx(reference["raw_sd"], rel=1e-6)
        assert 0.7 < reference["sd"] < 1.0


@pytest.mark.parametrize("scores", ["regression", "bartlett"])
def test_croon_scores_predict_the_factor_and_naive_scores_are_standardized(
    small_study: Path, scores: str
) -> None:
    config = load_config(small_study)
    data = load_study(config)
    truth = json.loads((small_study.parent / "truth.json").read_text())
    true = pd.DataFrame(truth["therapist_factor_scores"]).set_index("therapist")
    results = {}
    for correction in ("croon", "none"):
        settings = replace(config.factors, scores=scores, correction=correction)
        results[correction] = therapist_factors(data.reference, data.therapists, data.qpl,
                                                settings, config.seed, "reference")
    naive = results["none"].therapist_factors_dict()
    assert naive["scale"].startswith("reference-standardized")
    assert all(naive["reference"][name]["sd"] == pytest.approx(1.0) for name in FACTOR_NAMES)
    croon = results["croon"]
    for name in FACTOR_NAMES:
        # calibrated scores regress on the true factor with slope about 1 (E[f | c] = c)
        slope = np.polyfit(croon.scores[name], true.loc[croon.scores.index, name], 1)[0]
        assert 0.75 < slope < 1.25, (scores, name, slope)
    assert croon.reference_model_sd.max() < 1.0


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
        assert set(result.items) <= _design_domains()[name] | {"qpl7", "qpl14"}
        assert 0.7 < result.alpha < 0.95
