"""The study's Kenward-Roger and CR2 options: the config keys and the difference tests."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from alliance.errors import SpecificationError
from alliance.study import StudyResults, config_from_dict, example_config_text
from alliance.study.joint import difference_tests, joint_term

EFFECTS = ["personal_burdens", "time:personal_satisfactions"]


def models(**keys: Any) -> Any:
    data = tomllib.loads(example_config_text())
    data["models"].update(keys)
    return config_from_dict(data, base_dir=Path("/data"), source="study.toml").models


def test_the_config_takes_kenward_roger_and_cr2() -> None:
    assert models().robust == "none" and models().robust_type is None
    assert models(df_method="kenward-roger").df_method == "kenward-roger"
    assert models(robust="cr2").robust_type == "cr2"
    with pytest.raises(SpecificationError, match="models.robust is 'cr2' with df_method "
                       "'containment'"):
        models(robust="cr2", df_method="containment")
    with pytest.raises(SpecificationError, match=r"models\.robust is 'hc3' \(string\); expected one "
                       r"of 'none', 'cr2'"):
        models(robust="hc3")


def contrasts(fit: Any) -> np.ndarray:
    names = list(fit.spec.fixed_names)
    matrix = np.zeros((len(EFFECTS), len(names)))
    for row, effect in enumerate(EFFECTS):
        matrix[row, names.index(joint_term("patient", effect))] = 1.0
        matrix[row, names.index(joint_term("therapist", effect))] = -1.0
    return matrix


@pytest.mark.filterwarnings("ignore::alliance.errors.BoundaryWarning")
def test_kenward_roger_difference_tests(small_results: StudyResults) -> None:
    """The joint model has a residual variance per rater: both are Kenward-Roger parameters."""
    fit = small_results.joint.fit
    tests = difference_tests(fit, EFFECTS, "kenward-roger")
    kr = replace(fit, df_method="kenward-roger").kenward_roger
    assert kr.names[-2:] == ("Residual (patient)", "Residual (therapist)")
    matrix = contrasts(fit)
    np.testing.assert_allclose(tests["std_error"], kr.std_errors(matrix), rtol=1e-12)
    np.testing.assert_allclose(tests["df"], kr.t_df(matrix), rtol=1e-12)
    assert np.all(tests["std_error"] > np.sqrt(np.einsum("ki,ij,kj->k", matrix, fit.vcov_beta,
                                                          matrix)))


def test_cr2_difference_tests(small_results: StudyResults) -> None:
    fit = small_results.joint.fit
    tests = difference_tests(fit, EFFECTS, "bell-mccaffrey")
    robust = replace(fit, df_method="bell-mccaffrey").cluster_robust
    assert robust.cluster == "therapist"
    matrix = contrasts(fit)
    np.testing.assert_allclose(tests["std_error"], robust.std_errors(matrix), rtol=1e-12)
    np.testing.assert_allclose(tests["df"], robust.df(matrix), rtol=1e-12)
    assert np.all(tests["df"] < fit.groups["therapist"])
