"""Patients per therapist: fixed, or a count distribution truncated at 1 (unbalanced caseloads).

Unequal caseloads lower the power of a therapist-level test compared with equal caseloads of
the same mean (the therapists with one patient carry little information about their own
slope), so a power analysis should draw them. The distributions are parameterised by the mean
caseload *after* truncation (what a study reports: 227 patients / 70 therapists = 3.24):

- zero-truncated Poisson with rate ``lam``: ``mean = lam / (1 - exp(-lam))``;
- zero-truncated negative binomial with mean ``mu`` and size ``k`` (variance ``mu + mu^2 / k``
  before truncation): ``mean = mu / (1 - (k / (k + mu))^k)``.

The untruncated parameter is found from the mean by root finding (``scipy.optimize.brentq``);
draws are made by redrawing zeros, which is exact for a zero-truncated distribution.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.optimize import brentq

from alliance.errors import SpecificationError

#: Caseload distributions.
DISTRIBUTIONS = ("fixed", "poisson", "negative_binomial")


def _truncated_mean(rate: float, dispersion: float | None) -> float:
    if dispersion is None:
        return rate / -np.expm1(-rate)
    p_zero = (dispersion / (dispersion + rate)) ** dispersion
    return rate / (1.0 - p_zero)


@dataclass(frozen=True)
class Caseload:
    """How many patients each therapist treats.

    Attributes
    ----------
    distribution : {"fixed", "poisson", "negative_binomial"}
        ``fixed``: every therapist treats ``mean`` patients (a whole number). Otherwise a
        zero-truncated count distribution with mean ``mean`` (module docstring).
    mean : float
        Mean patients per therapist (at least 1).
    dispersion : float or None
        Size ``k`` of the negative binomial (smaller = more unequal caseloads); None otherwise.
    """

    distribution: str
    mean: float
    dispersion: float | None = None

    def __post_init__(self) -> None:
        if self.distribution not in DISTRIBUTIONS:
            raise SpecificationError(
                f"sample.caseload is {self.distribution!r}; choose one of "
                f"{', '.join(DISTRIBUTIONS)}."
            )
        if not np.isfinite(self.mean) or self.mean < 1:
            raise SpecificationError(
                f"sample.patients_per_therapist is {self.mean!r}, but every therapist treats at "
                "least one patient; give a mean of 1 or more."
            )
        if self.distribution == "fixed" and not float(self.mean).is_integer():
            raise SpecificationError(
                f"sample.patients_per_therapist is {self.mean!r} with sample.caseload = 'fixed', "
                "but a fixed caseload is a whole number; round it, or set sample.caseload to "
                "'poisson' or 'negative_binomial' for unequal caseloads with this mean."
            )
        if self.distribution == "negative_binomial":
            if self.dispersion is None or not np.isfinite(self.dispersion) or self.dispersion <= 0:
                raise SpecificationError(
                    f"sample.dispersion is {self.dispersion!r}, but the negative binomial needs "
                    "a size greater than 0 (e.g. 2; smaller = more unequal caseloads)."
                )
        elif self.dispersion is not None:
            raise SpecificationError(
                f"sample.dispersion is set ({self.dispersion!r}) but sample.caseload is "
                f"{self.distribution!r}; it applies only to 'negative_binomial'. Remove it."
            )

    @property
    def balanced(self) -> bool:
        """True when every therapist treats the same number of patients."""
        return self.distribution == "fixed" or self.mean == 1.0

    @cached_property
    def rate(self) -> float:
        """The untruncated mean (Poisson rate or negative binomial ``mu``); 0 when mean is 1."""
        if self.distribution == "fixed" or self.mean == 1.0:
            return 0.0
        return float(brentq(lambda r: _truncated_mean(r, self.dispersion) - self.mean,
                            1e-12, self.mean, xtol=1e-14, rtol=1e-14))

    def draw(self, n_therapists: int, rng: np.random.Generator) -> np.ndarray:
        """Caseloads of ``n_therapists`` therapists (integers of at least 1)."""
        if self.balanced:
            return np.full(n_therapists, int(self.mean), dtype=np.int64)
        counts = self._counts(n_therapists, rng)
        while (zero := counts == 0).any():
            counts[zero] = self._counts(int(zero.sum()), rng)
        return counts

    def _counts(self, size: int, rng: np.random.Generator) -> np.ndarray:
        if self.distribution == "poisson":
            return rng.poisson(self.rate, size=size).astype(np.int64)
        k = float(self.dispersion)  # type: ignore[arg-type]
        return rng.negative_binomial(k, k / (k + self.rate), size=size).astype(np.int64)

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"caseload": self.distribution,
                                  "patients_per_therapist": self.mean}
        if self.dispersion is not None:
            out["dispersion"] = self.dispersion
        return out
