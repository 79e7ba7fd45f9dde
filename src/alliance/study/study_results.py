"""The results of a study: every step's result object, and the results.json contract.

:meth:`StudyResults.to_dict` produces the structure documented in docs/results-schema.md (the
report's only input); :meth:`StudyResults.tables` the CSV tables of the output folder. Both
leave the numbers at full precision. No patient identifier appears in either; therapist
identifiers appear only in the caterpillar data and only with ``report.show_identifiers``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from alliance.mixed import MixedResult
from alliance.mixed.variance_shares import VarianceIntervals
from alliance.study.comparison import ModelComparison
from alliance.study.config import RATERS
from alliance.study.factors import TherapistFactors
from alliance.study.joint import JointModel
from alliance.study.models import AnalysisData, GrowthModel, NullModel, TimeCodingComparison
from alliance.study.scoring import ScoredStudy


@dataclass(frozen=True)
class StudyResults:
    """Everything the pipeline estimated, with the metadata of the run.

    Attributes
    ----------
    meta
        Version, time, seed, whether the data were simulated, the configuration, package
        versions, the chosen time coding, the raters and the warnings raised on the way.
    data_summary
        Sample sizes, sessions and every exclusion (``{step, rows, reason}``).
    scoring, factors, analysis, time_coding, null, growth, model_comparison, joint
        The result of each step.
    recovery
        Estimates beside true values (simulated data), else None.
    findings
        Plain sentences with numbers.
    figures
        The data of the report's figures.
    """

    meta: dict[str, Any]
    data_summary: dict[str, Any]
    scoring: ScoredStudy
    factors: TherapistFactors
    analysis: AnalysisData
    time_coding: TimeCodingComparison
    null: dict[str, NullModel]
    growth: dict[str, GrowthModel]
    model_comparison: dict[str, ModelComparison]
    joint: JointModel
    recovery: pd.DataFrame | None
    findings: tuple[str, ...]
    figures: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """The results.json structure (docs/results-schema.md)."""
        return {
            "meta": self.meta,
            "data_summary": self.data_summary,
            "scoring": self.scoring.to_dict(),
            "instruments": self._instruments(),
            "efa": self.factors.efa_dict(),
            "therapist_factors": self.factors.therapist_factors_dict(),
            "models": {
                "null": {rater: self.null[rater].to_dict() for rater in RATERS},
                "time_coding": self.time_coding.to_list(),
                "predictors": self._predictors(),
                "growth": {rater: {**self.growth[rater].to_dict(),
                                   "variance_reduction": variance_reduction(
                                       self.null[rater].fit, self.growth[rater].fit)}
                           for rater in RATERS},
                "model_comparison": {rater: self.model_comparison[rater].to_dict()
                                     for rater in RATERS},
                "joint": self.joint.to_dict(),
            },
            "recovery": None if self.recovery is None else [
                {key: _plain(value) for key, value in row.items()}
                for row in self.recovery.to_dict(orient="records")
            ],
            "findings": list(self.findings),
            "figures": self.figures,
        }

    def tables(self) -> dict[str, pd.DataFrame]:
        """The CSV tables of the output folder, by file stem."""
        loadings = self.factors.loadings().reset_index()
        loadings["communality"] = self.factors.efa.communality
        tables = {
            "factor_loadings": loadings,
            "reliability": self.factors.reliability_frame(),
            "variance_components": self._variance_components(),
            "icc": self._icc(),
            "time_coding": self.time_coding.to_frame(),
            "model_comparison": pd.DataFrame(
                [{"rater": rater, **test} for rater in RATERS
                 for test in self.model_comparison[rater].tests]),
            "fixed_effects": self._fixed_effects(),
            "joint_tests": self.joint.difference_tests,
        }
        if self.recovery is not None:
            tables["recovery"] = self.recovery
        return tables

    def _instruments(self) -> list[dict[str, Any]]:
        """Name, title and citation of every instrument scored, with what it measured."""
        used = [(self.scoring.wai[rater].instrument, f"{rater}-rated alliance")
                for rater in RATERS]
        used.append((self.scoring.qpl_study.instrument, "therapist factors"))
        return [{"name": instrument.name, "title": instrument.title,
                 "citation": instrument.citation, "measures": measures}
                for instrument, measures in used]

    def _predictors(self) -> list[dict[str, Any]]:
        """Each predictor of the growth models: its level, centring (``"grand mean"``,
        ``"group mean"`` or ``"none"``), the value subtracted (None for a within-therapist
        part) and the covariate it is the within or between part of (or None)."""
        analysis = self.analysis
        patient = set(analysis.patient_predictors)
        return [{"name": name, "level": "patient" if name in patient else "therapist",
                 "centring": analysis.centerings.get(name, "grand mean"),
                 "centre": analysis.centres.get(name),
                 "decomposes": analysis.decomposed.get(name)}
                for name in analysis.predictors]

    def _variance_components(self) -> pd.DataFrame:
        """Every model's random effects; the null models' variances with their intervals
        (``ci_low``, ``ci_high`` of the variance, ``interval`` naming the method, ``note``)."""
        frames = []
        for model, fits in (("null", self.null), ("growth", self.growth)):
            for rater in RATERS:
                frame = fits[rater].fit.random_effects.assign(rater=rater, model=model)
                if model == "null":
                    frame = _with_variance_intervals(frame, self.null[rater].intervals)
                frames.append(frame)
        frames.append(self.joint.fit.random_effects.assign(rater="both", model="joint"))
        frame = pd.concat(frames, ignore_index=True)
        return frame[["model", "rater", *[c for c in frame.columns if c not in ("model", "rater")]]]

    def _icc(self) -> pd.DataFrame:
        """Shares (with their intervals) and reliabilities of the null models."""
        rows = []
        for rater in RATERS:
            model = self.null[rater]
            intervals = model.intervals
            limits: dict[str, dict[str, Any]] = {}
            if intervals is not None:
                limits = {str(row["quantity"]): {
                    "ci_low": row["ci_low"], "ci_high": row["ci_high"],
                    "interval": _interval_label(intervals), "note": row["note"],
                } for row in intervals.to_dict()["shares"]}
            rows += [{"rater": rater, "kind": "icc", "quantity": name, "value": value,
                      **limits.get(name, {})} for name, value in model.icc().items()]
            rows += [{"rater": rater, "kind": "reliability", "quantity": name, "value": value}
                     for name, value in model.reliability().items()]
        return pd.DataFrame(rows)

    def _fixed_effects(self) -> pd.DataFrame:
        frames = [self.growth[rater].fit.fixed_effects.assign(model="growth", rater=rater)
                  for rater in RATERS]
        frames += [self.null[rater].fit.fixed_effects.assign(model="null", rater=rater)
                   for rater in RATERS]
        frames.append(self.joint.fit.fixed_effects.assign(model="joint", rater="both"))
        frame = pd.concat(frames, ignore_index=True)
        return frame[["model", "rater", *[c for c in frame.columns if c not in ("model", "rater")]]]


def variance_reduction(unconditional: MixedResult,
                       conditional: MixedResult) -> list[dict[str, Any]]:
    """Proportional reduction in each variance from the unconditional to the conditional model.

    ``(tau_unconditional - tau_conditional) / tau_unconditional`` for every variance (random
    effects and the residual) of both models, the "proportion of variance explained" of
    Raudenbush & Bryk (2002, Hierarchical Linear Models, 2nd ed., ch. 4 and 8). It is not
    a proportion of anything: the estimates of two models can make it negative (a variance
    larger in the conditional model), and it is None where the unconditional variance is 0.
    Rows ``{group, term, unconditional, conditional, proportional_reduction}``.
    """
    def variances(result: MixedResult) -> dict[tuple[str, str | None], float]:
        frame = result.random_effects
        rows = frame.loc[frame["term2"].isna()]
        return {(str(group), None if pd.isna(term) else str(term)): float(value)
                for group, term, value in zip(rows["group"], rows["term1"], rows["vcov"],
                                              strict=True)}

    before, after = variances(unconditional), variances(conditional)
    out = []
    for (group, term), tau in before.items():
        if (group, term) not in after:
            continue
        reduced = after[(group, term)]
        out.append({"group": group, "term": term, "unconditional": tau, "conditional": reduced,
                    "proportional_reduction": (tau - reduced) / tau if tau > 0 else None})
    return out


def _interval_label(intervals: VarianceIntervals) -> str:
    """``95% CI, parametric bootstrap, 1,000 samples, seed 2013``."""
    return f"{intervals.describe()}, seed {intervals.seed}"


def _with_variance_intervals(frame: pd.DataFrame,
                             intervals: VarianceIntervals | None) -> pd.DataFrame:
    """``frame`` (a ``random_effects`` table) with the intervals of its variance rows."""
    if intervals is None:
        return frame
    limits = intervals.components.assign(
        term1=intervals.components["term"].where(intervals.components["term"].notna(), None),
        interval=_interval_label(intervals),
    )[["group", "term1", "ci_low", "ci_high", "interval", "note"]]
    variances = frame["term2"].isna()
    merged = frame.loc[variances].merge(limits, on=["group", "term1"], how="left",
                                        validate="one_to_one")
    merged.index = frame.index[variances]
    return pd.concat([merged, frame.loc[~variances]]).sort_index()


def _plain(value: Any) -> Any:
    """pandas' missing values as None, numpy scalars as Python ones."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value

