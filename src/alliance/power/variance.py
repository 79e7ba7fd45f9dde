"""Variance components of the three-level growth model, raw or as powerlmm's ratios.

The model for session ``i`` of patient ``j`` of therapist ``k`` (time ``t``, 0 at the first
wave) is ``y = b0 + b1 t + v0_k + v1_k t + u0_jk + u1_jk t + e`` with therapist effects
``(v0, v1) ~ N(0, [[v0^2, r_v v0 v1], [., v1^2]])``, patient effects ``(u0, u1)`` likewise with
``r_u``, and ``e ~ N(0, sigma^2)``. powerlmm (Magnusson 2018, ``study_parameters``) describes
the same model by ratios, which are what a grant application usually quotes::

    icc_pre_subject = (u0^2 + v0^2) / (u0^2 + v0^2 + sigma^2)
    icc_pre_cluster = v0^2 / (u0^2 + v0^2 + sigma^2)
    icc_slope       = v1^2 / (u1^2 + v1^2)
    var_ratio       = (u1^2 + v1^2) / sigma^2

Given ``sigma`` the map is one to one (``icc_slope`` is 0 by convention when ``var_ratio`` is 0);
:meth:`VarianceComponents.from_ratios` inverts it and the properties recompute it (checked both
ways in tests/power/test_variance.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from alliance.errors import SpecificationError
from alliance.io import value_checks as check
from alliance.io.config_fields import known_keys, number, numbers, refuse

#: Keys of the ratio form, in the order powerlmm lists them.
RATIO_KEYS = (
    "icc_pre_subject", "icc_pre_cluster", "icc_slope", "var_ratio",
    "cor_subject", "cor_cluster", "sigma",
)  # fmt: skip
#: Keys of the raw form.
RAW_KEYS = (
    "therapist_sd", "patient_sd", "therapist_correlation", "patient_correlation", "residual_sd",
)  # fmt: skip


def _check_sd(value: float, name: str) -> None:
    if not np.isfinite(value) or value < 0:
        raise SpecificationError(
            f"{name} is {value!r}, but a standard deviation (or variance) cannot be negative; "
            "set it to 0 or more."
        )


def _check_icc(value: float, name: str) -> None:
    if not 0.0 <= value < 1.0:
        raise SpecificationError(
            f"{name} is {value!r}, but an intraclass correlation must lie in [0, 1); "
            "give a proportion such as 0.05."
        )


@dataclass(frozen=True)
class VarianceComponents:
    """Standard deviations and intercept-slope correlations at each level.

    Attributes
    ----------
    therapist_sd : tuple of float
        ``(v0, v1)``: SD of the therapist random intercept (at the first wave) and slope.
    patient_sd : tuple of float
        ``(u0, u1)``: the same for patients within therapists.
    therapist_correlation, patient_correlation : float
        Intercept-slope correlations ``r_v`` and ``r_u``.
    residual_sd : float
        ``sigma``, the SD of the session-level residual.
    """

    therapist_sd: tuple[float, float]
    patient_sd: tuple[float, float]
    therapist_correlation: float
    patient_correlation: float
    residual_sd: float

    def __post_init__(self) -> None:
        for name in ("therapist_sd", "patient_sd"):
            values = tuple(float(value) for value in getattr(self, name))
            if len(values) != 2:
                raise SpecificationError(
                    f"variance.{name} has {len(values)} values, but 2 are needed: the SD of the "
                    "intercept and the SD of the slope, e.g. [0.15, 0.03]."
                )
            for index, value in enumerate(values):
                _check_sd(value, f"variance.{name}[{index}]")
            object.__setattr__(self, name, values)
        check.correlation(self.therapist_correlation, "variance.therapist_correlation")
        check.correlation(self.patient_correlation, "variance.patient_correlation")
        if not np.isfinite(self.residual_sd) or self.residual_sd <= 0:
            raise SpecificationError(
                f"variance.residual_sd is {self.residual_sd!r}, but the residual SD must be "
                "greater than 0; it sets the scale of every other value."
            )

    @classmethod
    def from_ratios(
        cls,
        *,
        icc_pre_subject: float,
        icc_pre_cluster: float,
        icc_slope: float,
        var_ratio: float,
        cor_subject: float = 0.0,
        cor_cluster: float = 0.0,
        sigma: float = 1.0,
    ) -> VarianceComponents:
        """Components from powerlmm's ratios (module docstring), inverted in closed form.

        ``u0^2 + v0^2 = sigma^2 icc_pre_subject / (1 - icc_pre_subject)``, ``v0^2 =
        icc_pre_cluster (u0^2 + v0^2 + sigma^2)``, ``u1^2 + v1^2 = var_ratio sigma^2`` and
        ``v1^2 = icc_slope (u1^2 + v1^2)``.

        Raises
        ------
        SpecificationError
            An ICC outside [0, 1), ``icc_pre_cluster > icc_pre_subject``, a negative
            ``var_ratio``, a correlation outside (-1, 1) or ``sigma <= 0``; the message names
            the field as spelt in a design file (``variance.icc_slope``).
        """
        _check_icc(icc_pre_subject, "variance.icc_pre_subject")
        _check_icc(icc_pre_cluster, "variance.icc_pre_cluster")
        _check_icc(icc_slope, "variance.icc_slope")
        if icc_pre_cluster > icc_pre_subject:
            raise SpecificationError(
                f"variance.icc_pre_cluster ({icc_pre_cluster!r}) exceeds variance.icc_pre_subject "
                f"({icc_pre_subject!r}), but the therapists' share of the variance at the first "
                "wave is part of the subjects' share; lower icc_pre_cluster or raise "
                "icc_pre_subject."
            )
        _check_sd(var_ratio, "variance.var_ratio")
        if not np.isfinite(sigma) or sigma <= 0:
            raise SpecificationError(
                f"variance.sigma is {sigma!r}, but the residual SD must be greater than 0."
            )
        residual = sigma**2
        intercepts = residual * icc_pre_subject / (1.0 - icc_pre_subject)
        therapist_intercept = icc_pre_cluster * (intercepts + residual)
        slopes = var_ratio * residual
        therapist_slope = icc_slope * slopes
        return cls(
            therapist_sd=(np.sqrt(therapist_intercept), np.sqrt(therapist_slope)),
            patient_sd=(
                np.sqrt(max(intercepts - therapist_intercept, 0.0)),
                np.sqrt(max(slopes - therapist_slope, 0.0)),
            ),
            therapist_correlation=cor_cluster,
            patient_correlation=cor_subject,
            residual_sd=sigma,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VarianceComponents:
        """Read either the ratio form (:data:`RATIO_KEYS`) or the raw form (:data:`RAW_KEYS`)."""
        keys = set(data)
        ratio, raw = keys & set(RATIO_KEYS), keys & set(RAW_KEYS)
        known_keys(data, (*RATIO_KEYS, *RAW_KEYS), "variance",
                   note=f"the first {len(RATIO_KEYS)} are the ratio form, as powerlmm, the "
                   f"last {len(RAW_KEYS)} the raw form; give one form")
        if ratio and raw:
            refuse("variance", f"mixes the ratio form ({', '.join(sorted(ratio))}) with the "
                   f"raw form ({', '.join(sorted(raw))})", "use one of them")
        if ratio:
            required = set(RATIO_KEYS[:4])
            missing = sorted(required - ratio)
            if missing:
                refuse("variance", f"is missing {', '.join(missing)}",
                       f"the ratio form needs {', '.join(RATIO_KEYS[:4])} (cor_subject, "
                       "cor_cluster default to 0 and sigma to 1)")
            values = {key: number(data[key], f"variance.{key}") for key in ratio}
            return cls.from_ratios(**values)
        missing = sorted(set(RAW_KEYS) - raw - {"therapist_correlation", "patient_correlation"})
        if missing:
            refuse("variance", f"is missing {', '.join(missing)}",
                   f"give {', '.join(RAW_KEYS)} or the ratios {', '.join(RATIO_KEYS)}")
        pairs = {}
        for key in ("therapist_sd", "patient_sd"):
            pairs[key] = numbers(data[key], f"variance.{key}", example="[intercept SD, slope SD]")
        return cls(
            therapist_sd=pairs["therapist_sd"],  # type: ignore[arg-type]
            patient_sd=pairs["patient_sd"],  # type: ignore[arg-type]
            therapist_correlation=number(data.get("therapist_correlation", 0.0),
                                         "variance.therapist_correlation"),
            patient_correlation=number(data.get("patient_correlation", 0.0),
                                       "variance.patient_correlation"),
            residual_sd=number(data["residual_sd"], "variance.residual_sd"),
        )

    def to_dict(self) -> dict[str, Any]:
        """The raw form (what :meth:`from_dict` reads back to an equal object)."""
        return {
            "therapist_sd": list(self.therapist_sd),
            "patient_sd": list(self.patient_sd),
            "therapist_correlation": self.therapist_correlation,
            "patient_correlation": self.patient_correlation,
            "residual_sd": self.residual_sd,
        }

    def ratios(self) -> dict[str, float]:
        """powerlmm's ratio form of these components."""
        return {
            "icc_pre_subject": self.icc_pre_subject,
            "icc_pre_cluster": self.icc_pre_cluster,
            "icc_slope": self.icc_slope,
            "var_ratio": self.var_ratio,
            "cor_subject": self.patient_correlation,
            "cor_cluster": self.therapist_correlation,
            "sigma": self.residual_sd,
        }

    @property
    def pretest_variance(self) -> float:
        """``u0^2 + v0^2 + sigma^2``: the total variance at the first wave."""
        return self.therapist_sd[0] ** 2 + self.patient_sd[0] ** 2 + self.residual_sd**2

    @property
    def icc_pre_subject(self) -> float:
        return (self.therapist_sd[0] ** 2 + self.patient_sd[0] ** 2) / self.pretest_variance

    @property
    def icc_pre_cluster(self) -> float:
        return self.therapist_sd[0] ** 2 / self.pretest_variance

    @property
    def icc_slope(self) -> float:
        slopes = self.therapist_sd[1] ** 2 + self.patient_sd[1] ** 2
        return self.therapist_sd[1] ** 2 / slopes if slopes > 0 else 0.0

    @property
    def var_ratio(self) -> float:
        return (self.therapist_sd[1] ** 2 + self.patient_sd[1] ** 2) / self.residual_sd**2

    def therapist_covariance(self) -> np.ndarray:
        """2 x 2 covariance of the therapist intercept and slope."""
        return _covariance(self.therapist_sd, self.therapist_correlation)

    def patient_covariance(self) -> np.ndarray:
        """2 x 2 covariance of the patient intercept and slope."""
        return _covariance(self.patient_sd, self.patient_correlation)


def _covariance(sd: tuple[float, float], correlation: float) -> np.ndarray:
    covariance = correlation * sd[0] * sd[1]
    return np.array([[sd[0] ** 2, covariance], [covariance, sd[1] ** 2]])

