"""Steps 3 and 4: the analysis data, time codings, null models and growth models per rater.

Time codings (the registry :mod:`alliance.simulate.time_codings`): ``log``,
``time = ln(session / s0)``, and ``linear``, ``time = (session - s0) / time_unit`` (tens of
sessions by default), with ``s0`` the session at which time is 0: the first assessment in the
analysis data (``[models] origin = "first-assessment"``, the default) or session 1
(``"session-1"``); :attr:`AnalysisData.time_axis`. They are compared by maximum likelihood: the
unconditional growth model ``alliance ~ time + (time | therapist/patient)`` of each rater is
fitted with ML under each coding; the codings have equally many parameters, so the coding
with the smallest AIC summed over both raters (equivalently the smallest deviance) is chosen
unless the configuration fixes one. With correlated random intercepts and slopes, the origin
and the unit do not change these fits' likelihood (a reparameterisation); they change what
the intercept, the level effects and the intercept variances refer to.

Null models (REML, chosen coding), per rater: the unconditional growth model above. Its
variance shares follow powerlmm (Magnusson, ``get_ICC_pre_clusters``, ``get_ICC_pre_subjects``,
``get_ICC_slope``), with ``tau_T`` the therapist and ``tau_P`` the patient covariance matrix and
``sigma^2`` the residual variance, at ``time = 0``::

    therapist_intercept   = tau_T00 / (tau_T00 + tau_P00 + sigma^2)
    patient_intercept     = (tau_T00 + tau_P00) / (tau_T00 + tau_P00 + sigma^2)
    therapist_slope_share = tau_T11 / (tau_T11 + tau_P11)

``patient_intercept`` includes the therapist share, as powerlmm's subject-level ICC: it is the
correlation of two measurements of one patient at time 0. A share whose denominator is 0 (no
slope variance at either level) is undefined (NaN). Their intervals are parametric-bootstrap
percentile intervals, one-sided where a share is estimated at 0 or 1, or, from 200 therapists
(``[models] variance_intervals``), delta-method intervals on the logit scale
(:mod:`alliance.mixed.variance_shares`). Reliability of a random coefficient
(Raudenbush & Bryk 2002, eq. 3.59, written with the conditional variances): the mean over
groups of ``1 - v_j / tau``, where ``v_j`` is the conditional (posterior) variance of group
``j``'s effect given the data and ``tau`` its variance. In a two-level random-intercept model
``v_j = tau sigma^2/n_j / (tau + sigma^2/n_j)``, so ``1 - v_j/tau = tau / (tau + sigma^2/n_j)``,
HLM's formula (checked in tests/study/test_models.py); with three levels and random slopes the
conditional variance accounts for the other effects. Undefined (NaN) for ``tau = 0``.

Growth models (REML, chosen coding), per rater:
``alliance ~ time * (personal_satisfactions + personal_burdens + covariates) +
(time | therapist/patient)``.

Random effects: ``(time | therapist/patient)`` is ``[models] random_effects = "full"``, the
default; ``"uncorrelated"`` is ``(time || therapist/patient)``, ``"intercepts"``
``(1 | therapist/patient)``, and explicit lme4 terms are used as written
(:attr:`alliance.study.config.ModelConfig.random_terms`). The null and growth models (and the
joint model, :mod:`alliance.study.joint`) use the same structure; the comparison of time
codings always uses the full structure (:data:`NULL_FORMULA`). A variance share whose
components are not in the fitted structure (the slope share without random slopes) is
undefined (NaN) and has no interval.

Centering (``[models] centering``, :func:`analysis_data`), per predictor:

* ``grand-mean`` (the default): minus the mean over the therapists of the analysis for
  therapist-level predictors, over its patients for patient-level ones;
* ``none``: as measured;
* ``group-mean`` (patient-level covariates only): the within/between decomposition (Enders &
  Tofighi 2007, Psychol Methods 12, 121-138; Raudenbush & Bryk 2002, ch. 5):
  ``x_within = x_ij - mean_j`` with ``mean_j`` the mean of ``x`` over therapist ``j``'s patients
  analysed, and ``x_between = mean_j - mean(mean_j)``, the therapist means centred over the
  therapists (as every therapist-level predictor); both enter the models in place of ``x``,
  with their interactions with time. ``x_within`` is the patient's effect within therapists,
  ``x_between`` the therapists' (contextual plus within) effect.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from alliance.errors import DataError, SpecificationError
from alliance.mixed import MixedResult, fit
from alliance.mixed.variance_shares import (
    VarianceIntervals,
    VarianceShare,
    share_estimates,
    standard_deviations,
)
from alliance.simulate.time_codings import DEFAULT_ORIGIN, TENS_OF_SESSIONS, TimeAxis
from alliance.study.config import (
    DEFAULT_CENTERING,
    FACTOR_NAMES,
    RANDOM_EFFECTS,
    RATERS,
    ModelConfig,
)
from alliance.study.factors import TherapistFactors
from alliance.study.load import StudyData
from alliance.study.scoring import ScoredStudy

#: The unconditional growth model with the full random structure (the time-coding comparison).
NULL_FORMULA = f"alliance ~ time + {RANDOM_EFFECTS['full']}"


@dataclass(frozen=True)
class AnalysisData:
    """The rows the models use and the centring applied to the predictors.

    Attributes
    ----------
    frame
        rater, patient, therapist, session, alliance and the centred predictors.
    predictors
        The therapist factors, then the covariates.
    centres
        Value subtracted from each predictor (its grand mean, or 0 when not centred); not
        given for the within-therapist parts of group-mean centred covariates.
    excluded
        ``{step, rows, reason}`` for administrations without a factor score or covariate.
    patient_predictors
        The predictors measured on patients (centred over patients, or within therapists);
        the others are measured on therapists (centred over therapists).
    centerings
        Each predictor's centering: ``"grand mean"``, ``"group mean"`` (a within-therapist
        part) or ``"none"``; predictors not listed are grand-mean centred.
    decomposed
        The within and between parts of a group-mean centred covariate -> its name.
    """

    frame: pd.DataFrame
    predictors: tuple[str, ...]
    centres: dict[str, float]
    excluded: tuple[dict[str, Any], ...]
    patient_predictors: tuple[str, ...] = ()
    centerings: Mapping[str, str] = field(default_factory=dict)
    decomposed: Mapping[str, str] = field(default_factory=dict)

    #: Where time is 0 and sessions per unit of linear time (:attr:`time_axis`).
    origin: str = DEFAULT_ORIGIN
    time_unit: float = TENS_OF_SESSIONS

    @property
    def time_axis(self) -> TimeAxis:
        """The origin and unit of time; the first assessment is the earliest session analysed."""
        return TimeAxis(self.origin, float(self.frame["session"].min()), self.time_unit)

    def timed(self, origin: str, time_unit: float) -> AnalysisData:
        """A copy whose time is 0 at ``origin``, linear time in units of ``time_unit``."""
        return replace(self, origin=origin, time_unit=time_unit)

    def rater_frame(self, rater: str, coding: str) -> pd.DataFrame:
        """One rater's rows with ``time`` under ``coding``."""
        frame = self.frame.loc[self.frame["rater"] == rater].reset_index(drop=True)
        return frame.assign(time=self.time_axis.time(frame["session"].to_numpy(), coding))

    def joint_frame(self, coding: str) -> pd.DataFrame:
        """Both raters' rows with ``time`` under ``coding``."""
        return self.frame.assign(time=self.time_axis.time(self.frame["session"].to_numpy(),
                                                          coding))


def analysis_data(
    data: StudyData,
    scored: ScoredStudy,
    factors: TherapistFactors,
    therapist_covariates: tuple[str, ...] = (),
    patient_covariates: tuple[str, ...] = (),
    centering: Mapping[str, str] | None = None,
) -> AnalysisData:
    """Attach factor scores and covariates to the scored administrations and centre them.

    Administrations whose therapist has no factor score (skipped QPL items) or that miss a
    covariate are excluded and counted. ``centering``: predictor -> ``"grand-mean"``,
    ``"none"`` or, for patient covariates, ``"group-mean"`` (module docstring); predictors not
    named are grand-mean centred.

    Raises
    ------
    DataError
        A group-mean centred covariate does not vary within any therapist (its within part
        would be 0 throughout).
    """
    chosen = dict(centering or {})
    frame = scored.alliance.merge(
        factors.scores.reset_index(), on="therapist", how="left", validate="many_to_one"
    )
    covariates = (*therapist_covariates, *patient_covariates)
    if therapist_covariates:
        frame = frame.merge(data.therapists[["therapist", *therapist_covariates]],
                            on="therapist", how="left", validate="many_to_one")
    if patient_covariates:
        frame = frame.merge(data.patients[["patient", *patient_covariates]],
                            on="patient", how="left", validate="many_to_one")
    excluded = []
    unscored = frame[list(FACTOR_NAMES)].isna().any(axis=1).to_numpy()
    if unscored.any():
        n_therapists = frame.loc[unscored, "therapist"].nunique()
        excluded.append({
            "step": "factor_scores",
            "rows": int(unscored.sum()),
            "reason": f"administrations of {n_therapists} therapist(s) without factor scores "
            "(QPL items skipped)",
        })
    frame = frame.loc[~unscored]
    if covariates:
        incomplete = frame[list(covariates)].isna().any(axis=1).to_numpy()
        if incomplete.any():
            missing = [c for c in covariates if frame[c].isna().any()]
            excluded.append({
                "step": "covariates",
                "rows": int(incomplete.sum()),
                "reason": f"administrations with a missing covariate ({', '.join(missing)})",
            })
        frame = frame.loc[~incomplete]
    frame = frame.reset_index(drop=True)
    therapists = frame.drop_duplicates("therapist")
    patients = frame.drop_duplicates("patient")
    centres: dict[str, float] = {}
    centerings: dict[str, str] = {}
    decomposed: dict[str, str] = {}
    predictors: list[str] = []
    patient_predictors: list[str] = []
    for name in (*FACTOR_NAMES, *therapist_covariates, *patient_covariates):
        how = chosen.get(name, DEFAULT_CENTERING)
        on_patients = name in patient_covariates
        if how == "group-mean":
            if not on_patients:
                raise SpecificationError(
                    f"[models] centering.{name} is 'group-mean', but {name} is measured on "
                    "therapists; use 'grand-mean' or 'none'.")
            within, between = _within_between(frame, patients, name)
            frame[within.name], frame[between.name] = within, between
            centres[str(between.name)] = float(
                patients.groupby("therapist")[name].mean().mean())
            centerings.update({str(within.name): "group mean", str(between.name): "grand mean"})
            decomposed.update({str(within.name): name, str(between.name): name})
            predictors += [str(within.name), str(between.name)]
            patient_predictors.append(str(within.name))
            continue
        units = patients if on_patients else therapists
        centres[name] = float(units[name].mean()) if how == "grand-mean" else 0.0
        centerings[name] = "grand mean" if how == "grand-mean" else "none"
        frame[name] = frame[name] - centres[name]
        predictors.append(name)
        if on_patients:
            patient_predictors.append(name)
    return AnalysisData(
        frame=frame,
        predictors=tuple(predictors),
        centres=centres,
        excluded=tuple(excluded),
        patient_predictors=tuple(patient_predictors),
        centerings=centerings,
        decomposed=decomposed,
    )


def _within_between(frame: pd.DataFrame, patients: pd.DataFrame,
                    name: str) -> tuple[pd.Series, pd.Series]:
    """``<name>_within`` and ``<name>_between`` of every row of ``frame`` (module docstring);
    ``patients`` holds one row per patient analysed."""
    means = patients.groupby("therapist")[name].mean()
    row_means = frame["therapist"].map(means).to_numpy(dtype=float)
    within = frame[name].to_numpy(dtype=float) - row_means
    values = patients[name].to_numpy(dtype=float)
    deviations = values - patients["therapist"].map(means).to_numpy(dtype=float)
    # a therapist's mean of equal values differs from them by rounding only
    if np.abs(deviations).max() <= 1e-12 * max(1.0, float(np.abs(values).max())):
        raise DataError(
            f"the patient covariate {name!r} has the same value for every patient of each "
            "therapist analysed, so its within-therapist part is 0 throughout; group-mean "
            f"centering cannot separate its effects: set [models] centering.{name} to "
            "'grand-mean' or 'none'."
        )
    return (pd.Series(within, name=f"{name}_within", index=frame.index),
            pd.Series(row_means - float(means.mean()), name=f"{name}_between",
                      index=frame.index))


def null_shares(result: MixedResult) -> tuple[VarianceShare, ...]:
    """The variance shares of the module docstring, named as :meth:`NullModel.icc`'s keys."""
    patient_level, therapist_level = (level.name for level in result.spec.levels)
    t0, p0 = f"sd_(Intercept)|{therapist_level}", f"sd_(Intercept)|{patient_level}"
    t1, p1 = f"sd_time|{therapist_level}", f"sd_time|{patient_level}"
    return (
        VarianceShare("therapist_intercept", (t0,), (t0, p0, "sigma")),
        VarianceShare("patient_intercept", (t0, p0), (t0, p0, "sigma")),
        VarianceShare("therapist_slope_share", (t1,), (t1, p1)),
    )


def defined_shares(result: MixedResult) -> list[VarianceShare]:
    """The shares of :func:`null_shares` whose SDs are all in the fitted structure (module
    docstring: the others are undefined)."""
    fitted = set(standard_deviations(result).index)
    return [share for share in null_shares(result) if set(share.denominator) <= fitted]


@dataclass(frozen=True)
class NullModel:
    """The unconditional growth model of one rater, its variance shares and reliabilities.

    ``intervals``: bootstrap intervals of its variance components and shares
    (:meth:`with_intervals`), or None.
    """

    rater: str
    formula: str
    fit: MixedResult
    intervals: VarianceIntervals | None = None

    def icc(self) -> dict[str, float]:
        """Variance shares of the module docstring (powerlmm's definitions)."""
        estimates = share_estimates(self.fit, defined_shares(self.fit))
        return {share.name: float(estimates.get(share.name, np.nan))
                for share in null_shares(self.fit)}

    def with_intervals(self, n_boot: int, seed: int, level: float,
                       method: str = "auto") -> NullModel:
        """A copy with intervals of the variances and the shares: parametric bootstrap, or the
        large-sample delta method for large designs, as ``method`` and
        :func:`alliance.mixed.variance_shares.interval_method` choose. Shares whose
        components the fitted structure lacks (module docstring) get no interval."""
        return replace(self, intervals=self.fit.variance_intervals(
            defined_shares(self.fit), level=level, n_boot=n_boot, seed=seed, method=method))

    def reliability(self) -> dict[str, float]:
        """Mean ``1 - v_j / tau`` of each random coefficient (module docstring)."""
        return coefficient_reliability(self.fit)

    def to_dict(self) -> dict[str, Any]:
        return {"formula": self.formula, "fit": self.fit.to_dict(), "icc": self.icc(),
                "icc_intervals": None if self.intervals is None else self.intervals.to_dict(),
                "reliability": self.reliability()}


def coefficient_reliability(result: MixedResult) -> dict[str, float]:
    """Reliability of each random coefficient: mean over groups of ``1 - condvar / tau``.

    Keys ``<level>_<coefficient>``, the level named by the first part of its grouping factor
    (``patient:therapist`` -> ``patient``) and the coefficient ``intercept``, ``slope`` (for
    ``time``) or the term's name: ``therapist_intercept``, ``patient_slope``, ... NaN when
    ``tau = 0``.
    """
    modes = result.ranef(condvar=True)
    matrices = result.covariance_matrices()
    labels = {"(Intercept)": "intercept", "time": "slope"}
    out: dict[str, float] = {}
    for level in result.spec.levels:
        frame = modes[level.name]
        variances = np.diag(matrices[level.name].to_numpy())
        for term, tau in zip(level.column_names, variances, strict=True):
            key = f"{level.name.split(':')[0]}_{labels.get(term, term)}"
            conditional = frame[f"var({term})"].to_numpy()
            out[key] = float(np.mean(1.0 - conditional / tau)) if tau > 0 else float("nan")
    return out


@dataclass(frozen=True)
class CodingFit:
    """What the choice of a time coding keeps of one ML fit: its deviance, AIC, BIC and whether
    it is singular (at the boundary).

    The fits themselves (their data, cross-products and elimination, about a hundred MB each on
    a practice network's data) are not kept.
    """

    deviance: float
    aic: float
    bic: float
    singular: bool


@dataclass(frozen=True)
class TimeCodingComparison:
    """ML fits of the null model under each coding, and the coding chosen."""

    fits: dict[tuple[str, str], CodingFit]
    chosen: str
    #: The origin and unit of time the codings were fitted with.
    axis: TimeAxis

    def to_frame(self) -> pd.DataFrame:
        """One row per rater and coding: deviance, AIC, BIC, chosen."""
        return pd.DataFrame(self.to_list())

    def to_list(self) -> list[dict[str, Any]]:
        return [
            {"rater": rater, "coding": coding, "deviance": result.deviance, "aic": result.aic,
             "bic": result.bic, "chosen": coding == self.chosen}
            for (rater, coding), result in self.fits.items()
        ]


def compare_time_codings(analysis: AnalysisData, config: ModelConfig) -> TimeCodingComparison:
    """Fit the null model by ML under every candidate coding; choose by summed AIC."""
    fits = {}
    for rater in RATERS:
        for coding in config.time_codings:
            result = fit(NULL_FORMULA, analysis.rater_frame(rater, coding), reml=False,
                         df_method="residual")
            fits[(rater, coding)] = CodingFit(float(result.deviance), float(result.aic),
                                              float(result.bic), bool(result.singular))
    if config.time_coding != "auto":
        chosen = config.time_coding
    else:
        totals = {c: sum(fits[(r, c)].aic for r in RATERS) for c in config.time_codings}
        chosen = min(totals, key=lambda coding: totals[coding])
    return TimeCodingComparison(fits=fits, chosen=chosen, axis=analysis.time_axis)


def null_formula(random_terms: str = RANDOM_EFFECTS["full"]) -> str:
    """``alliance ~ time + <random_terms>``, the unconditional growth model."""
    return f"alliance ~ time + {random_terms}"


def fit_null(analysis: AnalysisData, rater: str, coding: str, config: ModelConfig) -> NullModel:
    """The REML null model of ``rater`` under ``coding``, with the configured random effects."""
    formula = null_formula(config.random_terms)
    result = fit(formula, analysis.rater_frame(rater, coding), df_method=config.df_method,
                 robust=config.robust_type,
                 confidence=config.confidence)
    return NullModel(rater=rater, formula=formula, fit=result)


def growth_formula(predictors: tuple[str, ...],
                   random_terms: str = RANDOM_EFFECTS["full"]) -> str:
    """``alliance ~ time * (x1 + x2 + ...) + <random_terms>``."""
    return f"alliance ~ time * ({' + '.join(predictors)}) + {random_terms}"


@dataclass(frozen=True)
class GrowthModel:
    """The growth model of one rater with the therapist factors (and covariates).

    ``to_dict`` repeats the fit's marginal and conditional R² (Nakagawa & Schielzeth 2013 with
    Johnson 2014, :mod:`alliance.mixed.r_squared`) as ``r2``.
    """

    rater: str
    formula: str
    fit: MixedResult

    def to_dict(self) -> dict[str, Any]:
        fitted = self.fit.to_dict()
        return {"formula": self.formula, "fit": fitted, "r2": fitted["r2"]}


def fit_growth(
    analysis: AnalysisData, rater: str, coding: str, config: ModelConfig
) -> GrowthModel:
    """The REML growth model of ``rater`` under ``coding``, with the configured random
    effects."""
    formula = growth_formula(analysis.predictors, config.random_terms)
    result = fit(formula, analysis.rater_frame(rater, coding), df_method=config.df_method,
                 robust=config.robust_type,
                 confidence=config.confidence)
    return GrowthModel(rater=rater, formula=formula, fit=result)
