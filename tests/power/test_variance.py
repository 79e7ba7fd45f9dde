"""VarianceComponents: powerlmm's ratios both ways, and refusal of impossible values."""

from __future__ import annotations

import numpy as np
import pytest

from alliance.errors import SpecificationError
from alliance.power import VarianceComponents

RATIOS = {
    "icc_pre_subject": 0.5, "icc_pre_cluster": 0.1, "icc_slope": 0.05, "var_ratio": 0.02,
    "cor_subject": -0.4, "cor_cluster": 0.3, "sigma": 10.0,
}  # fmt: skip


def test_ratios_round_trip() -> None:
    components = VarianceComponents.from_ratios(**RATIOS)
    assert components.ratios() == pytest.approx(RATIOS, rel=1e-12)


def test_ratios_give_the_components_by_their_definitions() -> None:
    c = VarianceComponents.from_ratios(**RATIOS)
    (v0, v1), (u0, u1) = c.therapist_sd, c.patient_sd
    assert c.residual_sd == 10.0
    # powerlmm: icc_pre_subject = (u0^2 + v0^2) / (u0^2 + v0^2 + sigma^2), sigma^2 = 100
    assert u0**2 + v0**2 == pytest.approx(100.0)
    assert v0**2 == pytest.approx(0.1 * 200.0)
    assert u1**2 + v1**2 == pytest.approx(0.02 * 100.0)
    assert v1**2 == pytest.approx(0.05 * 2.0)
    assert c.therapist_covariance()[0, 1] == pytest.approx(0.3 * v0 * v1)
    assert c.patient_covariance()[0, 1] == pytest.approx(-0.4 * u0 * u1)
    assert c.pretest_variance == pytest.approx(200.0)


def test_raw_form_round_trip_and_zero_slope_variance() -> None:
    raw = {"therapist_sd": [0.15, 0.0], "patient_sd": [0.4, 0.08],
           "therapist_correlation": 0.0, "patient_correlation": -0.3, "residual_sd": 0.22}
    c = VarianceComponents.from_dict(raw)
    assert c.to_dict() == raw
    assert c.icc_slope == 0.0
    assert VarianceComponents.from_dict(c.ratios()).patient_sd == pytest.approx(c.patient_sd)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"icc_pre_subject": 1.0}, "variance.icc_pre_subject"),
        ({"icc_slope": -0.1}, "variance.icc_slope"),
        ({"icc_pre_cluster": 1.2}, "variance.icc_pre_cluster"),
        ({"icc_pre_cluster": 0.6}, "variance.icc_pre_cluster"),
        ({"var_ratio": -0.01}, "variance.var_ratio"),
        ({"cor_subject": 1.0}, "variance.patient_correlation"),
        ({"sigma": 0.0}, "variance.sigma"),
    ],
)
def test_impossible_ratios_are_refused_naming_the_field(change: dict, field: str) -> None:
    with pytest.raises(SpecificationError, match=field.replace(".", r"\.")):
        VarianceComponents.from_dict({**RATIOS, **change})


def test_negative_raw_sd_and_mixed_forms_are_refused() -> None:
    with pytest.raises(SpecificationError, match=r"variance\.patient_sd\[1\].*negative"):
        VarianceComponents((0.1, 0.1), (0.2, -0.05), 0.0, 0.0, 1.0)
    with pytest.raises(SpecificationError, match="mixes the ratio form"):
        VarianceComponents.from_dict({**RATIOS, "residual_sd": 1.0})
    with pytest.raises(SpecificationError, match="missing var_ratio"):
        VarianceComponents.from_dict({"icc_pre_subject": 0.5, "icc_pre_cluster": 0.1,
                                      "icc_slope": 0.1})
    with pytest.raises(SpecificationError, match=r"variance\.icc_slop is not a known key "
                                                 r"\(did you mean 'icc_slope'\?\)"):
        VarianceComponents.from_dict({**RATIOS, "icc_slop": 0.1})
    assert np.isfinite(VarianceComponents.from_ratios(**RATIOS).var_ratio)
