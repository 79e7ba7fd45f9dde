"""Variance shares (ICCs) and boundary-aware intervals, checked against lme4's bootMer and confint.

tests/reference/variance_share_intervals.json holds, per case, the quantiles of lme4's
parametric-bootstrap replicates (``bootMer``, 1000 replicates, fixed seed) of the SDs and of the
shares, each with its Monte-Carlo SE. alliance's replicates come from another random stream, so
its quantiles differ from R's by Monte-Carlo error alone: the test allows
``3 sqrt(se_R^2 + se_alliance^2)`` (both SEs from the order statistics of each side's own
replicates, as the R script computes them), plus 1e-9 of the quantity's scale for quantiles that
sit on a point mass (a share of exactly 0 in both).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from alliance.errors import SpecificationError
from alliance.mixed import MixedResult, fit, parametric_bootstrap
from alliance.mixed.compare import refit_ml
from alliance.mixed.intervals import (
    CovarianceParameters,
    _minimise_bounded,
    _VarianceProfile,
    variance_parameters,
)
from alliance.mixed.variance_shares import (
    AT_ZERO,
    LARGE_SAMPLE,
    SHARE_AT_ONE,
    SHARE_AT_ZERO,
    UNDEFINED,
    VarianceShare,
    default_shares,
    interval_method,
    large_sample_intervals,
    profile_component_intervals,
    share_estimates,
    variance_intervals,
)

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = json.loads((ROOT / "tests" / "reference" / "variance_share_intervals.json").read_text())
BOOTSTRAP = {case["case"]: case for case in REFERENCE["bootstrap"]}
PROFILE = {case["case"]: case for case in REFERENCE["profile"]}
#: Cases where lme4's refits stop at an SD of exactly 0 in more than 5% of the replicates
#: (R's 2.5% and 5% quantiles of the therapist intercept SD, and of its share, are 0). ``theta =
#: 0`` is a stationary point of the deviance (its gradient vanishes there by symmetry), where
#: bobyqa stops; alliance looks inside and continues to a lower interior optimum (for the 12
#: alliance_sim replicates with the smallest SD, 7e-4 to 2e-2, the REML deviance profiled at
#: SD = 0 lies 4e-5 to 6e-4 above it). There, R's zero quantiles are compared only as a bound:
#: alliance's lies in [0, a quarter of R's smallest positive quantile).
STOPPED_AT_ZERO = {"alliance_sim"}
#: alliance's replicates per case (the Monte-Carlo SEs account for the count).
N_BOOT = {"sleepstudy": 1000, "pastes": 1000, "dyestuff2": 1000, "egsingle": 500,
          "alliance_sim": 1000}


def read(case: dict[str, Any]) -> pd.DataFrame:
    return pd.read_csv(ROOT / case["data"], dtype={name: str for name in case["factors"]})


def quiet_fit(case: dict[str, Any], **kwargs: Any) -> MixedResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit(case["formula"], read(case), **kwargs)


def shares_of(case: dict[str, Any]) -> list[VarianceShare]:
    return [VarianceShare(s["name"], tuple(s["numerator"]), tuple(s["denominator"]))
            for s in case["shares"]]


def quantile_se(values: np.ndarray, p: float) -> float:
    """Half the distribution-free one-SE interval of the p-quantile (the R script's rule)."""
    x = np.sort(values[np.isfinite(values)])
    b = len(x)
    m, s = b * p, np.sqrt(b * p * (1 - p))
    high, low = min(b, int(np.ceil(m + s))), max(1, int(np.floor(m - s)))
    return float(x[high - 1] - x[low - 1]) / 2.0


@pytest.fixture(scope="module")
def dyestuff2() -> MixedResult:
    return quiet_fit(BOOTSTRAP["dyestuff2"])


def test_a_share_is_a_ratio_of_sums_of_variances():
    share = VarianceShare("t", ("sd_a|g",), ("sd_a|g", "sd_b|h", "sigma"))
    sds = pd.DataFrame({"sd_a|g": [1.0, 0.0, 0.0], "sd_b|h": [2.0, 0.0, 1.0],
                        "sigma": [2.0, 0.0, 1.0]})
    np.testing.assert_allclose(share.evaluate(sds), [1 / 9, np.nan, 0.0])
    with pytest.raises(SpecificationError, match="numerator is part of its denominator"):
        VarianceShare("t", ("sd_a|g",), ("sigma",))
    with pytest.raises(SpecificationError, match="empty numerator"):
        VarianceShare("t", (), ("sigma",))
    with pytest.raises(SpecificationError, match=r"uses \['sd_c\|g'\]"):
        VarianceShare("t", ("sd_c|g",), ("sd_c|g", "sigma")).evaluate(sds)


def test_default_shares_are_the_iccs_and_slope_shares():
    case = BOOTSTRAP["alliance_sim"]
    result = quiet_fit(case)
    shares = {share.name: share for share in default_shares(result)}
    assert list(shares) == ["share_(Intercept)|patient:therapist", "share_(Intercept)|therapist",
                            "share_time|patient:therapist", "share_time|therapist"]
    values = share_estimates(result, shares.values())
    matrices = result.covariance_matrices()
    tau_t, tau_p = matrices["therapist"].to_numpy(), matrices["patient:therapist"].to_numpy()
    total = tau_t[0, 0] + tau_p[0, 0] + result.sigma**2
    assert values["share_(Intercept)|therapist"] == pytest.approx(tau_t[0, 0] / total)
    assert values["share_(Intercept)|patient:therapist"] == pytest.approx(tau_p[0, 0] / total)
    assert values["share_time|therapist"] == pytest.approx(
        tau_t[1, 1] / (tau_t[1, 1] + tau_p[1, 1]))
    # R's estimates of the powerlmm shares (the same optimum to about 1e-5)
    reference = {s["name"]: s["estimate"] for s in case["shares"]}
    ours = share_estimates(result, shares_of(case))
    for name, value in reference.items():
        assert ours[name] == pytest.approx(value, abs=1e-4), name


@pytest.mark.parametrize("name", list(BOOTSTRAP))
def test_bootstrap_quantiles_match_bootmer(name):
    """Every SD and share quantile within Monte-Carlo error of lme4's bootMer (module doc)."""
    case = BOOTSTRAP[name]
    result = quiet_fit(case)
    boot = parametric_bootstrap(result, N_BOOT[name], seed=case["seed"])
    assert boot.n_failed == 0
    sds = boot.replicates[[c["name"] for c in case["components"]]]
    quantities = [(c, sds[c["name"]].to_numpy()) for c in case["components"]]
    quantities += [(s, share.evaluate(sds))
                   for s, share in zip(case["shares"], shares_of(case), strict=True)]
    for reference, draws in quantities:
        assert np.isfinite(draws).mean() == pytest.approx(
            reference["n_used"] / case["n_boot"], abs=0.02)
        scale = max(abs(reference["estimate"]), float(np.nanmax(np.abs(draws))))
        positive = [q for q in reference["quantiles"] if q > 0]
        for p, theirs, their_se in zip(reference["probs"], reference["quantiles"],
                                       reference["quantile_se"], strict=True):
            ours = float(np.nanquantile(draws, p))
            if theirs == 0 and name in STOPPED_AT_ZERO:
                assert 0 <= ours < min(positive) / 4, (reference["name"], p, ours)
                continue
            tolerance = 3 * np.hypot(their_se, quantile_se(draws, p)) + 1e-9 * scale
            assert abs(ours - theirs) <= tolerance, (reference["name"], p, ours, theirs,
                                                     tolerance)
    intervals = variance_intervals(result, shares_of(case), bootstrap=boot)
    for row, share in zip(intervals.shares.itertuples(), shares_of(case), strict=True):
        draws = share.evaluate(sds)
        if row.boundary is None:
            expected = np.nanquantile(draws, [0.025, 0.975])
            assert (row.ci_low, row.ci_high) == pytest.approx(tuple(expected))
    assert intervals.n_boot == N_BOOT[name] and intervals.seed == case["seed"]


def test_a_variance_at_zero_gets_a_one_sided_interval(dyestuff2):
    case = BOOTSTRAP["dyestuff2"]
    batch = VarianceShare("batch", ("sd_(Intercept)|Batch",), ("sd_(Intercept)|Batch", "sigma"))
    residual = VarianceShare("residual", ("sigma",), ("sd_(Intercept)|Batch", "sigma"))
    undefined = VarianceShare("batch only", ("sd_(Intercept)|Batch",),
                              ("sd_(Intercept)|Batch",))
    boot = parametric_bootstrap(dyestuff2, 1000, seed=7)
    intervals = variance_intervals(dyestuff2, [batch, residual, undefined], bootstrap=boot)
    shares = intervals.shares.set_index("quantity")
    draws = batch.evaluate(boot.replicates[["sd_(Intercept)|Batch", "sigma"]])
    # at 0: [0, 95th percentile]
    assert shares.at["batch", "estimate"] == 0.0
    assert shares.at["batch", "boundary"] == "lower" and shares.at["batch", "note"] == SHARE_AT_ZERO
    assert shares.at["batch", "ci_low"] == 0.0
    assert shares.at["batch", "ci_high"] == pytest.approx(np.quantile(draws, 0.95))
    reference = next(s for s in case["shares"] if s["name"] == "share_(Intercept)|Batch")
    their_upper, their_se = reference["quantiles"][3], reference["quantile_se"][3]
    assert reference["probs"][3] == 0.95
    assert abs(shares.at["batch", "ci_high"] - their_upper) <= 3 * np.hypot(
        their_se, quantile_se(draws, 0.95))
    # at 1: [5th percentile, 1], the mirror image
    assert shares.at["residual", "boundary"] == "upper"
    assert shares.at["residual", "note"] == SHARE_AT_ONE
    assert shares.at["residual", "estimate"] == 1.0 and shares.at["residual", "ci_high"] == 1.0
    assert shares.at["residual", "ci_low"] == pytest.approx(1 - np.quantile(draws, 0.95))
    # 0 / 0: no number
    assert shares.at["batch only", "boundary"] == "undefined"
    assert shares.at["batch only", "note"] == UNDEFINED
    assert shares.loc["batch only", ["estimate", "ci_low", "ci_high"]].isna().all()
    components = intervals.components.set_index("parameter")
    assert components.at["sd_(Intercept)|Batch", "note"] == AT_ZERO
    assert components.at["sd_(Intercept)|Batch", "ci_low"] == 0.0
    assert pd.isna(components.at["sigma", "boundary"])
    sigma = boot.replicates["sigma"].to_numpy() ** 2
    assert (components.at["sigma", "ci_low"], components.at["sigma", "ci_high"]) == pytest.approx(
        tuple(np.quantile(sigma, [0.025, 0.975])))


#: Profile limits of alliance_sim where lme4's profile stays in the basin of the optimum
#: (therapist intercept-slope correlation .96) while a lower constrained optimum lies in another
#: (correlation near 0): the true profile is below lme4's there, so its limits are too narrow.
LME4_TOO_NARROW = {("sd_(Intercept)|patient:therapist", "lower"),
                   ("sd_time|patient:therapist", "lower"), ("sd_time|therapist", "upper")}


def test_profile_intervals_of_variances_match_lme4():
    """lme4's confint(method = "profile") squared, on the three-level alliance_sim model.

    Where the limits differ (LME4_TOO_NARROW), alliance's profile at lme4's limit is checked to
    lie below the cutoff: the deviance minimised there over the other parameters is lower than
    lme4 found, so lme4's limit is not where the profile crosses ``z``.
    """
    case = PROFILE["alliance_sim"]
    result = quiet_fit(case)
    ours = profile_component_intervals(result).set_index("parameter")
    reference = {row["parm"]: row for row in case["rows"]}
    ml = refit_ml(result)
    parameters = CovarianceParameters(ml)
    start = parameters.from_fit(ml.params, ml.sigma)
    minimum, optimum = _minimise_bounded(parameters.deviance, start, parameters.lower,
                                         parameters.upper, parameters.scale(start))
    for name, row in ours.iterrows():
        theirs = reference[name]
        assert row["estimate"] == pytest.approx(variance_parameters(result)[name] ** 2)
        assert pd.isna(row["boundary"])
        for side, key in (("lower", "ci_low"), ("upper", "ci_high")):
            if (name, side) not in LME4_TOO_NARROW:
                # on the SD scale, as lme4 reports it (lme4 reads its limits off a spline)
                assert np.sqrt(row[key]) == pytest.approx(theirs[side], rel=2e-3, abs=1e-12), name
                continue
            wider = row[key] < theirs[side] ** 2 if side == "lower" else row[key] > theirs[
                side] ** 2
            assert wider, (name, side)
            k = parameters.names.index(name)
            profile = _VarianceProfile(parameters, optimum, k)
            for value in np.linspace(optimum[k], theirs[side], 8)[1:]:
                excess = profile(value) - minimum
            assert excess < 1.96**2 - 0.1, (name, side, excess)


def test_profile_interval_of_a_variance_at_zero_is_one_sided(dyestuff2):
    """The upper limit at z_0.95 equals lme4's two-sided 90% limit."""
    ours = profile_component_intervals(dyestuff2).set_index("parameter")
    reference = {row["parm"]: row for row in PROFILE["dyestuff2"]["rows"]}
    assert PROFILE["dyestuff2"]["level"] == 0.90
    batch = ours.loc["sd_(Intercept)|Batch"]
    assert batch["boundary"] == "lower" and batch["note"] == AT_ZERO and batch["ci_low"] == 0.0
    assert batch["ci_high"] == pytest.approx(reference["sd_(Intercept)|Batch"]["upper"] ** 2,
                                             rel=2e-3)
    assert pd.isna(ours.at["sigma", "boundary"])


def test_refusals(dyestuff2):
    with pytest.raises(SpecificationError, match="give a seed"):
        variance_intervals(dyestuff2, n_boot=10)
    with pytest.raises(SpecificationError, match="confidence level"):
        variance_intervals(dyestuff2, level=1.2, seed=1)
    other = quiet_fit(BOOTSTRAP["sleepstudy"])
    with pytest.raises(SpecificationError, match="not drawn from this fit"):
        variance_intervals(dyestuff2, bootstrap=parametric_bootstrap(other, 2, seed=1))
    batch = VarianceShare("b", ("sd_(Intercept)|Batch",), ("sd_(Intercept)|Batch", "sigma"))
    with pytest.raises(SpecificationError, match="distinct"):
        variance_intervals(dyestuff2, [batch, batch], seed=1, n_boot=2)
    data = pd.read_csv(ROOT / "tests" / "reference" / "data" / "orthodont.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        strata = fit("distance ~ age + Sex + (age | Subject)", data, residual_groups="Sex")
    with pytest.raises(SpecificationError, match="residual SD per stratum"):
        variance_intervals(strata, seed=1, n_boot=2)


def test_result_method_and_serialisation(dyestuff2):
    intervals = dyestuff2.variance_intervals(n_boot=20, seed=3)
    assert intervals.describe() == "95% CI, parametric bootstrap, 20 samples"
    payload = json.loads(json.dumps(intervals.to_dict()))
    assert payload["seed"] == 3 and payload["n_boot"] == 20
    share = payload["shares"][0]
    assert share["quantity"] == "share_(Intercept)|Batch" and share["boundary"] == "lower"
    assert payload["components"][1]["term"] is None and payload["components"][1]["boundary"] is None


@pytest.fixture(scope="module")
def network() -> MixedResult:
    """A growth model with 200 therapists: where "auto" takes the large-sample intervals."""
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from _growth_data import make_growth_data

    data = make_growth_data(200, 2000, 4, 11)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit("y ~ time + (time | therapist/patient)", data)


def test_large_sample_intervals_agree_with_the_bootstrap_at_200_therapists(network):
    large = large_sample_intervals(network)
    boot = variance_intervals(network, n_boot=400, seed=3)
    assert large.method == LARGE_SAMPLE and large.n_boot is None
    for table in ("shares", "components"):
        ours, theirs = getattr(large, table), getattr(boot, table)
        np.testing.assert_allclose(ours["estimate"], theirs["estimate"], rtol=1e-12)
        width = (theirs["ci_high"] - theirs["ci_low"]).to_numpy()
        # Monte-Carlo error of 400 replicates' 2.5% and 97.5% quantiles, and the skewness the
        # log and logit scales take up only in part: each limit within 20% of the width
        for limit in ("ci_low", "ci_high"):
            gap = np.abs(ours[limit].to_numpy() - theirs[limit].to_numpy())
            assert (gap <= 0.2 * width).all(), (table, limit, gap / width)
        assert (ours["ci_low"] < ours["estimate"]).all()
        assert (ours["estimate"] < ours["ci_high"]).all()
    shares = large.shares
    assert ((shares["ci_low"] > 0) & (shares["ci_high"] < 1)).all()


def test_the_interval_method_is_chosen_by_size_and_boundary(network, dyestuff2):
    assert interval_method(network) == "large-sample"
    assert network.variance_intervals().method == LARGE_SAMPLE  # no seed needed
    assert dyestuff2.variance_intervals(n_boot=20, seed=1).method == "parametric bootstrap"
    assert interval_method(network, "bootstrap") == "bootstrap"
    assert interval_method(dyestuff2, "large-sample") == "bootstrap"  # singular: the boundary
    sleep = quiet_fit(BOOTSTRAP["sleepstudy"])
    assert interval_method(sleep) == "bootstrap"  # 18 subjects
    assert interval_method(sleep, "large-sample") == "large-sample"
    with pytest.raises(SpecificationError, match="interval method"):
        interval_method(sleep, "jackknife")
    with pytest.raises(SpecificationError, match="singular"):
        large_sample_intervals(dyestuff2)
