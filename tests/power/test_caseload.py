"""Caseloads: zero-truncated distributions with the requested mean; fixed caseloads."""

from __future__ import annotations

import numpy as np
import pytest

from alliance.errors import SpecificationError
from alliance.power import Caseload


@pytest.mark.parametrize(
    "caseload",
    [Caseload("poisson", 3.243), Caseload("negative_binomial", 3.243, 1.5),
     Caseload("poisson", 1.2)],
)
def test_truncated_distributions_have_the_requested_mean(caseload: Caseload) -> None:
    draws = caseload.draw(200_000, np.random.default_rng(1))
    assert draws.min() >= 1
    assert draws.mean() == pytest.approx(caseload.mean, abs=4 * draws.std() / np.sqrt(draws.size))


def test_negative_binomial_is_more_unequal_than_poisson() -> None:
    rng = np.random.default_rng(2)
    poisson = Caseload("poisson", 3.243).draw(50_000, rng)
    negative_binomial = Caseload("negative_binomial", 3.243, 1.0).draw(50_000, rng)
    assert negative_binomial.var() > 1.5 * poisson.var()


def test_the_rate_solves_the_truncated_mean() -> None:
    rate = Caseload("poisson", 3.243).rate
    assert rate / (1 - np.exp(-rate)) == pytest.approx(3.243, rel=1e-12)


def test_fixed_and_degenerate_caseloads() -> None:
    assert Caseload("fixed", 3).draw(4, np.random.default_rng(0)).tolist() == [3, 3, 3, 3]
    assert Caseload("poisson", 1.0).balanced


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("fixed", 3.2), "whole number"),
        (("poisson", 0.5), "at least one patient"),
        (("negative_binomial", 3.0), r"sample\.dispersion"),
        (("poisson", 3.0, 2.0), "applies only to 'negative_binomial'"),
        (("binomial", 3.0), r"sample\.caseload"),
    ],
)
def test_bad_caseloads_are_refused(args: tuple, message: str) -> None:
    with pytest.raises(SpecificationError, match=message):
        Caseload(*args)
