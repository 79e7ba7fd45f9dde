"""Steps 3 and 4: the analysis data, time codings, null models and growth models per rater.

Time codings (the same definitions as :data:`alliance.simulate.TIME_SCALES`): ``log``,
``time = ln(session)`` (0 at session 1); ``linear``, ``time = session / 10`` (tens of
sessions); ``sessions``, ``time = session``. They are compared by maximum likelihood: the
unconditional growth model ``alliance ~ time + (time | therapist/patient)`` of each rater is
fitted with ML under each coding; the codings have equally many parameters, so the coding
with the smallest AIC summed over both raters (equivalently the smallest deviance) is chosen
unless the configuration fixes one.

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
(time | therapist/patient)``, every predictor grand-mean centred: therapist-level predictors
over the therapists of the analysis, patient-level ones over its patients.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from alliance.mixed import MixedResult, fit
from alliance.mixed.variance_shares import (
    VarianceIntervals,
    VarianceShare,
    share_estimates,
)
from alliance.study.config import FACTOR_NAMES, RATERS, ModelConfig
from alliance.study.factors import TherapistFactors
from alliance.study.load import StudyData
from alliance.study.scoring import ScoredStudy

#: Time coding name -> (definition, function of the session number).
TIME_CODINGS: dict[str, tuple[str, Callable[[np.ndarray], np.ndarray]]] = {
    "log": ("time = ln(session)", np.log),
    "linear": ("time = session / 10", lambda session: session / 10.0),
    "sessions": ("time = session", lambda session: session * 1.0),
}
NULL_FORMULA = "alliance ~ time + (time | therapist/patient)"


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
        Value subtracted from each predictor (its grand mean).
    excluded
        ``{step, rows, reason}`` for administrations without a factor score or covariate.
    patient_predictors
        The predictors measured on patients (centred over patients); the others are measured
        on therapists (centred over therapists).
    """

    frame: pd.DataFrame
    predictors: tuple[str, ...]
    centres: dict[str, float]
    excluded: tuple[dict[str, Any], ...]
    patient_predictors: tuple[str, ...] = ()

    def rater_frame(self, rater: str, coding: str) -> pd.DataFrame:
        """One rater's rows with ``time`` under ``coding``."""
        frame = self.frame.loc[self.frame["rater"] == rater].reset_index(drop=True)
        return frame.assign(time=time_of(frame["session"].to_numpy(), coding))

    def joint_frame(self, coding: str) -> pd.DataFrame:
        """Both raters' rows with ``time`` under ``coding``."""
        return self.frame.assign(time=time_of(self.frame["session"].to_numpy(), coding))


def time_of(sessions: np.ndarray, coding: str) -> np.ndarray:
    """The time of each session under ``coding`` (see the module docstring)."""
    return np.asarray(TIME_CODINGS[coding][1](np.asarray(sessions, dtype=float)), dtype=float)


def analysis_data(
    data: StudyData,
    scored: ScoredStudy,
    factors: TherapistFactors,
    therapist_covariates: tuple[str, ...] = (),
    patient_covariates: tuple[str, ...] = (),
) -> AnalysisData:
    """Attach factor scores and covariates to the scored administrations and centre them.

    Administrations whose therapist has no factor score (skipped QPL items) or that miss a
    covariate are excluded and counted.
    """
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
    centres: dict[str, float] = {}
    for name in (*FACTOR_NAMES, *therapist_covariates):
        centres[name] = float(frame.drop_duplicates("therapist")[name].mean())
    for name in patient_covariates:
        centres[name] = float(frame.drop_duplicates("patient")[name].mean())
    for name, centre in centres.items():
        frame[name] = frame[name] - centre
    return AnalysisData(
        frame=frame,
        predictors=(*FACTOR_NAMES, *covariates),
        centres=centres,
        excluded=tuple(excluded),
        patient_predictors=tuple(patient_covariates),
    )


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
        return {str(name): float(value)
                for name, value in share_estimates(self.fit, null_shares(self.fit)).items()}

    def with_intervals(self, n_boot: int, seed: int, level: float,
                       method: str = "auto") -> NullModel:
        """A copy with intervals of the variances and the shares: parametric bootstrap, or the
        large-sample delta method for large designs, as ``method`` and
        :func:`alliance.mixed.variance_shares.interval_method` choose."""
        return replace(self, intervals=self.fit.variance_intervals(
            list(null_shares(self.fit)), level=level, n_boot=n_boot, seed=seed, method=method))

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
class TimeCodingComparison:
    """ML fits of the null model under each coding, and the coding chosen."""

    fits: dict[tuple[str, str], MixedResult]
    chosen: str

    def to_frame(self) -> pd.DataFrame:
        """One row per rater and coding: deviance, AIC, BIC, chosen."""
        return pd.DataFrame([
            {"rater": rater, "coding": coding, "deviance": result.deviance, "aic": result.aic,
             "bic": result.bic, "chosen": coding == self.chosen}
            for (rater, coding), result in self.fits.items()
        ])

    def to_list(self) -> list[dict[str, Any]]:
        return [
            {"rater": rater, "coding": coding, "deviance": float(result.deviance),
             "aic": float(result.aic), "bic": float(result.bic), "chosen": coding == self.chosen}
            for (rater, coding), result in self.fits.items()
        ]


def compare_time_codings(analysis: AnalysisData, config: ModelConfig) -> TimeCodingComparison:
    """Fit the null model by ML under every candidate coding; choose by summed AIC."""
    fits = {
        (rater, coding): fit(NULL_FORMULA, analysis.rater_frame(rater, coding), reml=False,
                             df_method="residual")
        for rater in RATERS
        for coding in config.time_codings
    }
    if config.time_coding != "auto":
        chosen = config.time_coding
    else:
        totals = {c: sum(fits[(r, c)].aic for r in RATERS) for c in config.time_codings}
        chosen = min(totals, key=lambda coding: totals[coding])
    return TimeCodingComparison(fits=fits, chosen=chosen)


def fit_null(analysis: AnalysisData, rater: str, coding: str, config: ModelConfig) -> NullModel:
    """The REML null model of ``rater`` under ``coding``."""
    result = fit(NULL_FORMULA, analysis.rater_frame(rater, coding), df_method=config.df_method,
                 robust=config.robust_type,
                 confidence=config.confidence)
    return NullModel(rater=rater, formula=NULL_FORMULA, fit=result)


def growth_formula(predictors: tuple[str, ...]) -> str:
    """``alliance ~ time * (x1 + x2 + ...) + (time | therapist/patient)``."""
    return f"alliance ~ time * ({' + '.join(predictors)}) + (time | therapist/patient)"


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
    """The REML growth model of ``rater`` under ``coding``."""
    formula = growth_formula(analysis.predictors)
    result = fit(formula, analysis.rater_frame(rater, coding), df_method=config.df_method,
                 robust=config.robust_type,
                 confidence=config.confidence)
    return GrowthModel(rater=rater, formula=formula, fit=result)
