"""Variance shares (ICCs) of a nested mixed model, and boundary-aware intervals for them and for
the variance components.

A variance share is a ratio of sums of variance components. With ``s_k`` the SDs of
:func:`~alliance.mixed.intervals.variance_parameters` (``sd_<term>|<level>``, and ``sigma`` for
the residual) a share names a numerator set ``N`` and a denominator set ``D`` (``N`` within
``D``)::

    share = sum_{k in N} s_k^2 / sum_{k in D} s_k^2

For example, in ``(time | therapist/patient)`` (Magnusson's powerlmm, ``get_ICC_pre_clusters``
and ``get_ICC_slope``)::

    therapists' share of the variance at time 0 = tau_T00 / (tau_T00 + tau_P00 + sigma^2)
    therapists' share of the slope variance      = tau_T11 / (tau_T11 + tau_P11)

:func:`default_shares` defines, per level, the share of the intercept variance (the ICC at the
predictors' 0, with the residual in the denominator) and the share of each random slope's
variance that lies at that level (without the residual).

**Intervals of shares: parametric bootstrap, percentile.** A share is a function of several
covariance parameters, so a profile-likelihood interval for it needs the deviance profiled
under the constraint ``share = c`` (a reparametrisation in which the share is a coordinate). For
the slope share of a model with correlated intercepts and slopes at two levels there is no such
coordinate system among lme4's (SD, correlation) parameters, and the constrained optimisation
would have to be written for each kind of share. The parametric bootstrap
(:func:`~alliance.mixed.bootstrap.parametric_bootstrap`, lme4's ``bootMer(type =
"parametric")``) gives the sampling distribution of any function of the parameters from one set
of refits; its percentile interval (Davison & Hinkley 1997, sec. 5.3) is invariant under
monotone transformations and stays inside [0, 1] by construction. It costs ``n_boot`` refits and
carries Monte-Carlo error, so the number of replicates and the seed are reported with every
interval. Checked against lme4's ``bootMer`` on sleepstudy, Pastes, Dyestuff2, mlmRev's egsingle
and the simulated three-level alliance study (tests/reference/variance_share_intervals.R).

**Intervals of variance components**: by the same bootstrap (percentiles of ``s_k^2``, the
squares of the SD percentiles), or by profile likelihood
(:func:`~alliance.mixed.intervals.profile_intervals`, lme4's ``confint(method = "profile")``),
the limits squared.

**Large designs: the delta method.** At practice-network size (hundreds to thousands of
therapists) a thousand refits take many minutes and add nothing: the sampling distributions
are close to normal. With ``C = 2 H^-1`` the covariance of the SDs from the Hessian ``H`` of
the deviance on the SD scale (:func:`~alliance.mixed.intervals.wald_intervals`),
:func:`large_sample_intervals` gives each variance ``exp(log s_k^2 +- z 2 SE(s_k) / s_k)`` and
each share ``expit(logit(share) +- z SE)`` with ``SE^2 = g' C g``, ``g`` the gradient of
``logit(share)`` in the SDs (``d share / d s_k = 2 s_k (1[k in N] D - N) / D^2``); the log and
logit scales keep the limits inside the parameter space. With 200 therapists they agree with
400 bootstrap replicates to Monte-Carlo error (tests/mixed/test_variance_shares.py); with
2,000 therapists and 160,000 sessions they take seconds where the bootstrap takes a quarter
of an hour. :func:`interval_method` chooses: the bootstrap below :data:`LARGE_SAMPLE_GROUPS`
outermost groups or for a fit on the boundary (where the normal approximation fails), the
large-sample intervals otherwise.

**Boundary.** An SD below lme4's singularity tolerance (``1e-4 sigma``) is a variance estimated
at 0, on the boundary of the parameter space; there the sampling distribution is not centred on
the estimate and an equal-tailed interval is wrong (Self & Liang 1987: the likelihood-ratio
statistic is a 50:50 mixture of chi-square_0 and chi-square_1). The interval is then one-sided
and says so:

* a variance at 0: ``[0, u]``, with ``u`` the ``level`` quantile of the replicates (bootstrap)
  or the upper profile limit at ``2 level - 1`` two-sided, i.e. ``z_level`` (profile);
* a share at 0 (every variance of its numerator at 0): ``[0, u]``, ``u`` the ``level`` quantile;
* a share at 1 (every variance of its denominator outside the numerator at 0): ``[l, 1]``, ``l``
  the ``1 - level`` quantile;
* a share whose denominator is 0 is undefined: NaN, with a note.

An estimate can also lie next to the boundary without reaching the tolerance (a patient slope SD
of 5e-4 beside a therapist slope SD of 0.09: a share of 0.99997, a variance of 2.5e-7). Its
replicates then lie almost all on the far side of it (a variance's estimates cannot go below
0), and the equal-tailed percentile interval excludes the estimate. Such a bootstrap interval
(a variance below its ``(1 - level) / 2`` percentile; a share below it, or above its
``(1 + level) / 2`` percentile) is made one-sided in the same way, with a note that says so;
the one-sided interval then contains the estimate.

Replicates in which a share is undefined (its denominator 0) are left out of its quantiles and
counted (``n_used``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from alliance.errors import SpecificationError
from alliance.mixed.bootstrap import BootstrapResult, MapFunction, parametric_bootstrap
from alliance.mixed.intervals import (
    parameter_covariance,
    profile_intervals,
    variance_parameters,
)
from alliance.mixed.minimiser import SINGULAR_TOLERANCE
from alliance.mixed.result import MixedResult

INTERVAL_COLUMNS = ["quantity", "estimate", "ci_low", "ci_high", "boundary", "n_used", "note"]
COMPONENT_COLUMNS = ["parameter", "group", "term", *INTERVAL_COLUMNS[1:]]
BOOTSTRAP = "parametric bootstrap"
PROFILE = "profile likelihood"
LARGE_SAMPLE = "delta method (variances on the log scale, shares on the logit scale)"
#: Outermost groups (therapists) from which :func:`interval_method` ``"auto"`` takes the
#: large-sample intervals: with 200 therapists and more the bootstrap's refits cost minutes and
#: its intervals agree with the large-sample ones to Monte-Carlo error
#: (tests/mixed/test_variance_shares.py).
LARGE_SAMPLE_GROUPS = 200
#: The notes of one-sided intervals.
AT_ZERO = "one-sided: the estimate is on the boundary (a variance estimated at 0)"
SHARE_AT_ZERO = "one-sided: the estimate is on the boundary (its variance is estimated at 0)"
SHARE_AT_ONE = ("one-sided: the estimate is on the boundary (every other variance of its "
                "denominator is estimated at 0)")
UNDEFINED = "undefined: every variance of its denominator is estimated at 0"
NEAR_ZERO = ("one-sided: the estimate is next to the boundary, below the lower percentile of "
             "its bootstrap samples (a variance near 0)")
NEAR_ONE = ("one-sided: the estimate is next to the boundary, above the upper percentile of "
            "its bootstrap samples (the other variances near 0)")


@dataclass(frozen=True)
class VarianceShare:
    """``sum s_k^2 (k in numerator) / sum s_k^2 (k in denominator)`` (module docstring).

    Attributes
    ----------
    name : str
        How the share is reported.
    numerator, denominator : tuple of str
        Names of :func:`~alliance.mixed.intervals.variance_parameters` SDs (``sigma`` for the
        residual); the numerator is part of the denominator.
    """

    name: str
    numerator: tuple[str, ...]
    denominator: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.numerator:
            raise SpecificationError(f"the share {self.name!r} has an empty numerator")
        outside = [k for k in self.numerator if k not in self.denominator]
        if outside:
            raise SpecificationError(
                f"the share {self.name!r} has {outside} in its numerator but not in its "
                "denominator; a share's numerator is part of its denominator"
            )

    def evaluate(self, sds: pd.DataFrame) -> np.ndarray:
        """The share of each row of ``sds`` (columns named as the SDs); NaN where the
        denominator is 0 or an SD is missing."""
        missing = [k for k in self.denominator if k not in sds.columns]
        if missing:
            raise SpecificationError(
                f"the share {self.name!r} uses {missing}, which the model does not have; its "
                f"SDs are {list(sds.columns)}"
            )
        squares = sds.to_numpy(dtype=float) ** 2
        index = {name: j for j, name in enumerate(sds.columns)}
        top = squares[:, [index[k] for k in self.numerator]].sum(axis=1)
        bottom = squares[:, [index[k] for k in self.denominator]].sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(bottom > 0, top / bottom, np.nan)


def standard_deviations(result: MixedResult) -> pd.Series:
    """The SDs of ``result`` (``sd_<term>|<level>`` and ``sigma``), without correlations."""
    values = variance_parameters(result)
    return values[[name for name in values.index if _is_sd(name)]]


def _is_sd(name: str) -> bool:
    return name == "sigma" or (name.startswith("sd_") and not name.startswith("sd_ratio_"))


def default_shares(result: MixedResult) -> tuple[VarianceShare, ...]:
    """Per level, the share of the intercept variance (with the residual) and of each random
    slope's variance present at more than one level (without it).

    Named ``share_<term>|<level>``, as the SDs: ``share_(Intercept)|therapist``,
    ``share_time|therapist``.
    """
    terms: dict[str, list[str]] = {}
    for level in result.spec.levels:
        for block in level.blocks:
            for term in block.names:
                terms.setdefault(term, []).append(f"sd_{term}|{level.name}")
    shares = []
    for term, sds in terms.items():
        intercept = term == "(Intercept)"
        if not intercept and len(sds) < 2:
            continue
        denominator = (*sds, "sigma") if intercept else tuple(sds)
        for sd in sds:
            shares.append(VarianceShare(f"share_{sd.removeprefix('sd_')}", (sd,), denominator))
    return tuple(shares)


def share_estimates(result: MixedResult, shares: Iterable[VarianceShare]) -> pd.Series:
    """The shares at the estimates of ``result`` (NaN where undefined)."""
    sds = standard_deviations(result).to_frame().T
    shares = _checked(result, shares)
    return pd.Series({share.name: float(share.evaluate(sds)[0]) for share in shares},
                     dtype=float)


def _checked(result: MixedResult, shares: Iterable[VarianceShare]) -> list[VarianceShare]:
    shares = list(shares)
    names = [share.name for share in shares]
    if len(set(names)) != len(names):
        raise SpecificationError(f"share names must be distinct, not {names}")
    if result.objective.layout.n_strata > 1 and any(
        "sigma" in share.denominator for share in shares
    ):
        raise SpecificationError(
            "this model has a residual SD per stratum, so a share of the residual variance is "
            "not one number; define the shares without sigma"
        )
    return shares


def _zero(sds: pd.Series) -> pd.Series:
    """SDs estimated at 0 (lme4's singularity tolerance relative to sigma)."""
    return (sds < SINGULAR_TOLERANCE * float(sds["sigma"])) & (sds.index != "sigma")


def _share_boundary(share: VarianceShare, zero: pd.Series) -> str | None:
    """``"lower"`` (share 0), ``"upper"`` (share 1), ``"undefined"`` or None."""
    top = all(zero[k] for k in share.numerator)
    rest = all(zero[k] for k in share.denominator if k not in share.numerator)
    if top and rest:
        return "undefined"
    return "lower" if top else "upper" if rest else None


def _percentile_interval(values: np.ndarray, estimate: float, level: float,
                         boundary: str | None, share: bool) -> tuple[float, float, str | None, bool]:
    """Equal-tailed percentiles, or one-sided at a boundary (module docstring); ``share``: the
    quantity is bounded by 1 as well as by 0.

    Returns the limits, the boundary (``"lower"``, ``"upper"``, ``"undefined"`` or None) and
    whether it was found from the samples (the estimate outside its equal-tailed interval on
    the side of a boundary) rather than from the estimate itself.
    """
    values = values[np.isfinite(values)]
    if boundary == "undefined" or not len(values):
        return float("nan"), float("nan"), boundary, False
    near = False
    if boundary is None:
        low, high = np.quantile(values, [0.5 - level / 2.0, 0.5 + level / 2.0])
        if estimate < low:
            boundary, near = "lower", True
        elif estimate > high and share:
            boundary, near = "upper", True
        else:
            return float(low), float(high), None, False
    if boundary == "lower":
        return 0.0, float(np.quantile(values, level)), boundary, near
    return float(np.quantile(values, 1.0 - level)), 1.0, boundary, near


@dataclass(frozen=True)
class VarianceIntervals:
    """Intervals for the variance components and variance shares of one fit.

    Attributes
    ----------
    components : pandas.DataFrame
        parameter (the SD's name), group, term (None for the residual), estimate (the
        variance), ci_low, ci_high, boundary (``"lower"`` for a variance at 0, else None),
        n_used (replicates used; None for the profile), note.
    shares : pandas.DataFrame
        quantity (the share's name), estimate, ci_low, ci_high, boundary (``"lower"``: share 0,
        ``"upper"``: share 1, ``"undefined"``, or None), n_used, note.
    level : float
        Confidence level (of the two-sided intervals; one-sided ones have the same coverage).
    method : str
        ``"parametric bootstrap"`` or ``"profile likelihood"`` (components only).
    n_boot, seed : int or None
        Replicates and seed of the bootstrap.
    n_failed, n_singular : int
        Replicates whose refit failed (left out) and ended on the boundary.
    """

    components: pd.DataFrame
    shares: pd.DataFrame
    level: float
    method: str
    n_boot: int | None = None
    seed: int | None = None
    n_failed: int = 0
    n_singular: int = 0

    def describe(self) -> str:
        """``"95% CI, parametric bootstrap, 1,000 samples"`` (the seed is in :meth:`to_dict`)."""
        text = f"{100 * self.level:g}% CI, {self.method}"
        if self.n_boot is not None:
            text += f", {self.n_boot:,} samples"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "level": self.level,
            "n_boot": self.n_boot,
            "seed": self.seed,
            "n_failed": self.n_failed,
            "n_singular": self.n_singular,
            "components": _records(self.components),
            "shares": _records(self.shares),
        }


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for row in frame.to_dict(orient="records"):
        out.append({str(key): None if value is None or (isinstance(value, float) and np.isnan(value))
                    else value.item() if hasattr(value, "item") else value
                    for key, value in row.items()})
    return out


def _component_labels(result: MixedResult) -> dict[str, tuple[str, str | None]]:
    labels: dict[str, tuple[str, str | None]] = {}
    for level in result.spec.levels:
        for block in level.blocks:
            for term in block.names:
                labels[f"sd_{term}|{level.name}"] = (level.name, term)
    labels["sigma"] = ("Residual", None)
    return labels


def variance_intervals(
    result: MixedResult,
    shares: Sequence[VarianceShare] | None = None,
    *,
    level: float = 0.95,
    n_boot: int = 1000,
    seed: int | None = None,
    bootstrap: BootstrapResult | None = None,
    map_function: MapFunction | None = None,
) -> VarianceIntervals:
    """Bootstrap percentile intervals of the variance components and of ``shares``.

    Parameters
    ----------
    result : MixedResult
        The fit (one residual stratum if a share uses ``sigma``).
    shares : sequence of VarianceShare, optional
        Default :func:`default_shares`.
    level : float
        Confidence level.
    n_boot, seed, map_function
        Passed to :func:`~alliance.mixed.bootstrap.parametric_bootstrap`; ``seed`` is required
        (an interval with Monte-Carlo error must be reproducible).
    bootstrap : BootstrapResult, optional
        Replicates already drawn from ``result`` (then ``n_boot`` and ``seed`` are its own).

    Returns
    -------
    VarianceIntervals
        One-sided where an estimate is on the boundary (module docstring).
    """
    _check_level(level)
    shares = _checked(result, default_shares(result) if shares is None else shares)
    if bootstrap is None:
        if seed is None:
            raise SpecificationError(
                "give a seed: a bootstrap interval must be reproducible, and is reported with "
                "its seed"
            )
        bootstrap = parametric_bootstrap(result, n_boot, seed=seed, map_function=map_function)
    estimates = standard_deviations(result)
    drawn = bootstrap.estimates.reindex(estimates.index).to_numpy(dtype=float)
    if not np.allclose(drawn, estimates.to_numpy(), rtol=1e-10, atol=0.0):
        raise SpecificationError("the bootstrap replicates were not drawn from this fit")
    replicates = bootstrap.replicates[list(estimates.index)]
    zero = _zero(estimates)
    labels = _component_labels(result)
    component_rows = []
    for name in estimates.index:
        draws = replicates[name].to_numpy(dtype=float)
        estimate = float(estimates[name]) ** 2
        low, high, boundary, near = _percentile_interval(
            draws**2, estimate, level, "lower" if zero[name] else None, share=False)
        group, term = labels[name]
        component_rows.append({
            "parameter": name, "group": group, "term": term,
            "estimate": estimate, "ci_low": low, "ci_high": high,
            "boundary": boundary, "n_used": int(np.isfinite(draws).sum()),
            "note": (NEAR_ZERO if near else AT_ZERO) if boundary else "",
        })
    share_rows = []
    point = estimates.to_frame().T
    for share in shares:
        draws = share.evaluate(replicates)
        estimate = float(share.evaluate(point)[0])
        low, high, boundary, near = _percentile_interval(
            draws, estimate, level, _share_boundary(share, zero), share=True)
        if boundary == "undefined":
            estimate = float("nan")
        notes = ({"lower": NEAR_ZERO, "upper": NEAR_ONE} if near else
                 {"lower": SHARE_AT_ZERO, "upper": SHARE_AT_ONE, "undefined": UNDEFINED})
        share_rows.append({
            "quantity": share.name, "estimate": estimate, "ci_low": low, "ci_high": high,
            "boundary": boundary, "n_used": int(np.isfinite(draws).sum()),
            "note": notes.get(str(boundary), ""),
        })
    return VarianceIntervals(
        components=pd.DataFrame(component_rows, columns=COMPONENT_COLUMNS),
        shares=pd.DataFrame(share_rows, columns=INTERVAL_COLUMNS),
        level=level, method=BOOTSTRAP, n_boot=bootstrap.n_boot, seed=bootstrap.seed,
        n_failed=bootstrap.n_failed, n_singular=bootstrap.n_singular,
    )


def profile_component_intervals(result: MixedResult, level: float = 0.95) -> pd.DataFrame:
    """Profile-likelihood intervals of the variance components (no shares; module docstring).

    The SD limits of :func:`~alliance.mixed.intervals.profile_intervals` (lme4's ``confint(method
    = "profile")``, on the ML deviance) squared; a variance at 0 gets ``[0, u]`` with ``u`` the
    upper limit at ``2 level - 1``, i.e. where the signed root deviance reaches ``z_level``.

    Returns
    -------
    pandas.DataFrame
        The columns of :attr:`VarianceIntervals.components` (``n_used`` None).
    """
    _check_level(level)
    estimates = standard_deviations(result)
    zero = _zero(estimates)
    interior = [name for name in estimates.index if not zero[name]]
    boundary = [name for name in estimates.index if zero[name]]
    limits = profile_intervals(result, level, parameters=interior).set_index("parameter")
    if boundary:
        if level <= 0.5:
            raise SpecificationError(
                f"a one-sided profile interval needs a level above 0.5, not {level}"
            )
        one_sided = profile_intervals(result, 2.0 * level - 1.0, parameters=boundary)
        limits = pd.concat([limits, one_sided.set_index("parameter").assign(ci_low=0.0)])
    low, high = limits["ci_low"].astype(float), limits["ci_high"].astype(float)
    labels = _component_labels(result)
    rows = []
    for name in estimates.index:
        group, term = labels[name]
        rows.append({
            "parameter": name, "group": group, "term": term,
            "estimate": float(estimates[name]) ** 2,
            "ci_low": float(low[name]) ** 2, "ci_high": float(high[name]) ** 2,
            "boundary": "lower" if zero[name] else None, "n_used": None,
            "note": AT_ZERO if zero[name] else "",
        })
    return pd.DataFrame(rows, columns=COMPONENT_COLUMNS)


def _check_level(level: float) -> None:
    if not 0.0 < level < 1.0:
        raise SpecificationError(f"the confidence level must be between 0 and 1, not {level}")


def interval_method(result: MixedResult, requested: str = "auto") -> str:
    """``"bootstrap"`` or ``"large-sample"``: the method :func:`variance_intervals` or
    :func:`large_sample_intervals` to use for ``result`` (module docstring).

    ``requested`` ``"auto"`` takes the large-sample intervals for a fit with at least
    :data:`LARGE_SAMPLE_GROUPS` outermost groups that is not on the boundary (singular), the
    bootstrap otherwise; ``"bootstrap"`` and ``"large-sample"`` are kept (a singular fit's
    large-sample request falls back to the bootstrap, which handles the boundary).
    """
    if requested not in INTERVAL_METHODS:
        raise SpecificationError(
            f"the interval method must be one of {INTERVAL_METHODS}, not {requested!r}"
        )
    if requested == "bootstrap" or result.singular:
        return "bootstrap"
    if requested == "large-sample":
        return "large-sample"
    outermost = result.spec.levels[-1].n_groups
    return "large-sample" if outermost >= LARGE_SAMPLE_GROUPS else "bootstrap"


#: What :func:`interval_method` accepts.
INTERVAL_METHODS = ("auto", "bootstrap", "large-sample")


def large_sample_intervals(
    result: MixedResult, shares: Sequence[VarianceShare] | None = None, *, level: float = 0.95,
) -> VarianceIntervals:
    """Delta-method intervals of the variance components (log scale) and of ``shares`` (logit
    scale; module docstring); for a large fit off the boundary.

    Raises
    ------
    SpecificationError
        When the fit is singular (use :func:`variance_intervals`, which handles the boundary).
    """
    _check_level(level)
    if result.singular:
        raise SpecificationError(
            "large-sample intervals need a fit off the boundary; this one is singular (use the "
            "bootstrap intervals, which are one-sided at the boundary)"
        )
    shares = _checked(result, default_shares(result) if shares is None else shares)
    parameters, _, covariance, _ = parameter_covariance(result)
    position = {name: k for k, name in enumerate(parameters.names)}
    estimates = standard_deviations(result)
    z = float(special.ndtri(0.5 + level / 2.0))
    labels = _component_labels(result)
    component_rows = []
    for name in estimates.index:
        sd = float(estimates[name])
        log_se = 2.0 * float(np.sqrt(max(covariance[position[name], position[name]], 0.0))) / sd
        group, term = labels[name]
        component_rows.append({
            "parameter": name, "group": group, "term": term, "estimate": sd**2,
            "ci_low": sd**2 * float(np.exp(-z * log_se)),
            "ci_high": sd**2 * float(np.exp(z * log_se)),
            "boundary": None, "n_used": None, "note": "",
        })
    components = pd.DataFrame(component_rows, columns=COMPONENT_COLUMNS)
    rows = []
    for share in shares:
        sds = {name: float(estimates[name]) for name in share.denominator}
        top = sum(sds[k] ** 2 for k in share.numerator)
        bottom = sum(v**2 for v in sds.values())
        value = top / bottom
        gradient = np.zeros(parameters.size)
        for name, sd in sds.items():
            inside = 1.0 if name in share.numerator else 0.0
            gradient[position[name]] = (2.0 * sd * (inside * bottom - top) / bottom**2
                                        / (value * (1.0 - value)))
        std_error = float(np.sqrt(max(float(gradient @ covariance @ gradient), 0.0)))
        logit = np.log(value / (1.0 - value))
        rows.append({
            "quantity": share.name, "estimate": value,
            "ci_low": float(special.expit(logit - z * std_error)),
            "ci_high": float(special.expit(logit + z * std_error)),
            "boundary": None, "n_used": None, "note": "",
        })
    return VarianceIntervals(
        components=components, shares=pd.DataFrame(rows, columns=INTERVAL_COLUMNS),
        level=level, method=LARGE_SAMPLE,
    )
