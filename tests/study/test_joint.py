"""The joint model of both raters and its Wald tests of patient-therapist differences."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from alliance.mixed.inference import containment_df, satterthwaite_df
from alliance.study import StudyResults
from alliance.study.joint import difference_tests, joint_random_terms, joint_term


def test_joint_model_has_rater_specific_terms(small_results: StudyResults) -> None:
    fit = small_results.joint.fit
    names = set(fit.spec.fixed_names)
    for rater in ("patient", "therapist"):
        for term in ("(Intercept)", "time", "personal_burdens", "time:personal_satisfactions",
                     "severity", "time:experience"):
            assert joint_term(rater, term) in names
    assert set(fit.residual_sd_ratios) == {"patient", "therapist"}
    matrices = fit.covariance_matrices()
    assert list(matrices["therapist"].columns) == [
        "raterpatient", "ratertherapist", "raterpatient:time", "ratertherapist:time"
    ]


def test_difference_tests_are_wald_tests(small_results: StudyResults) -> None:
    fit = small_results.joint.fit
    tests = small_results.joint.difference_tests
    assert list(tests["effect"]) == ["personal_satisfactions", "personal_burdens",
                                     "time:personal_satisfactions", "time:personal_burdens"]
    names = list(fit.spec.fixed_names)
    for row in tests.itertuples(index=False):
        contrast = np.zeros(len(names))
        contrast[names.index(joint_term("patient", row.effect))] = 1
        contrast[names.index(joint_term("therapist", row.effect))] = -1
        assert row.difference == pytest.approx(row.patient - row.therapist)
        assert row.std_error == pytest.approx(np.sqrt(contrast @ fit.vcov_beta @ contrast))
        df = satterthwaite_df(fit.objective, fit.params, fit.sigma, contrast[None, :])[0]
        assert row.df == pytest.approx(df)
        assert row.p == pytest.approx(2 * stats.t.sf(abs(row.difference / row.std_error), df))


def test_a_unit_contrast_reproduces_the_fixed_effect_test(small_results: StudyResults) -> None:
    """Satterthwaite df of a single coefficient equal those of the fixed-effects table."""
    fit = small_results.joint.fit
    table = fit.fixed_effects.set_index("term")
    term = joint_term("patient", "time:personal_burdens")
    contrast = np.zeros((1, len(fit.beta)))
    contrast[0, list(fit.spec.fixed_names).index(term)] = 1
    df = satterthwaite_df(fit.objective, fit.params, fit.sigma, contrast)[0]
    assert df == pytest.approx(table.loc[term, "df"], rel=1e-6)


def test_containment_df_use_the_patient_term(small_results: StudyResults) -> None:
    """Asked for containment df of a Satterthwaite fit, the test takes the terms' containment
    df (equal for the two raters' terms), not the df of the fit's own table."""
    fit = small_results.joint.fit
    tests = difference_tests(fit, ["time:personal_burdens"], "containment")
    names = list(fit.spec.fixed_names)
    df = containment_df(fit.spec)
    patient, therapist = (names.index(joint_term(rater, "time:personal_burdens"))
                          for rater in ("patient", "therapist"))
    assert df[patient] == df[therapist]
    assert tests["df"].iloc[0] == df[patient]


@pytest.mark.parametrize(
    ("terms", "joint"),
    [
        ("(time | therapist/patient)", "(0 + rater + rater:time | therapist/patient)"),
        ("(time || therapist/patient)", "(0 + rater + rater:time || therapist/patient)"),
        ("(1 | therapist/patient)", "(0 + rater | therapist/patient)"),
        ("(time | therapist) + (1 | therapist:patient)",
         "(0 + rater + rater:time | therapist) + (0 + rater | therapist:patient)"),
        ("(0 + time | therapist) + (1 | therapist) + (time - 1 | patient)",
         "(0 + rater:time | therapist) + (0 + rater | therapist) + (0 + rater:time | patient)"),
    ],
)
def test_random_terms_translate_per_rater(terms: str, joint: str) -> None:
    assert joint_random_terms(terms) == joint
