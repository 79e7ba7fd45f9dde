"""The study's findings as plain sentences with their numbers (the report leads with them).

An effect is called a finding when its confidence interval excludes 0; otherwise the sentence
says that it was not distinguishable from 0 and still gives the numbers. Numbers are rounded
here, for reading only, in APA style by :mod:`alliance.apa` (the report's tables use the same
rules); results.json keeps them at full precision elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from alliance import apa
from alliance.simulate.time_codings import TimeAxis
from alliance.study.config import FACTOR_NAMES, RATERS
from alliance.study.factors import TherapistFactors
from alliance.study.joint import JointModel
from alliance.study.models import GrowthModel, NullModel, TimeCodingComparison

LABELS = {"personal_satisfactions": "Personal Satisfactions",
          "personal_burdens": "Personal Burdens"}


def data_sentence(summary: Mapping[str, Any]) -> str:
    counts = summary["n_administrations"]
    sessions = summary["sessions"]
    excluded = summary["excluded"]
    text = (
        f"The models used {apa.integer(counts['patient'])} patient-rated and "
        f"{apa.integer(counts['therapist'])} "
        f"therapist-rated WAI administrations from {apa.integer(summary['n_patients'])} patients of "
        f"{apa.integer(summary['n_therapists'])} therapists (sessions {apa.integer(min(sessions))} to "
        f"{apa.integer(max(sessions))})"
    )
    if not excluded:
        return text + "; no administration was excluded."
    parts = "; ".join(f"{apa.integer(entry['rows'])} {entry['reason']}" for entry in excluded)
    return text + f"; excluded: {parts}."


def factor_sentence(factors: TherapistFactors) -> str:
    result = factors.efa
    suggested = result.parallel.suggested_factors if result.parallel is not None else None
    alphas = [rel.alpha if rel is not None else None for rel in factors.reliability.values()]
    alpha_text = " and ".join("n/a" if a is None else apa.bounded(a) for a in alphas)
    opening = (
        f"Parallel analysis of the {len(result.items)} QPL items in {result.n_obs} reference "
        f"therapists suggested {suggested} factor{'s' if suggested != 1 else ''}; two"
        if suggested is not None else f"In {result.n_obs} reference therapists, two"
    )
    congruence = " and ".join(apa.bounded(c) for c in factors.naming.congruence)
    scores = (
        "Factor scores were Croon-corrected for their error, so effects are per SD of the "
        "factor." if factors.correction == "croon" else
        "Factor scores entered the models as if measured without error (naive factor-score "
        "regression): effects are per SD of the scores, attenuated, with too narrow intervals."
    )
    return (
        f"{opening} factors ({result.method}, {result.rotation} rotation) were named Personal "
        f"Satisfactions and Personal Burdens from {factors.naming.target.source} (Tucker "
        f"congruence {congruence}; factor correlation r = {apa.bounded(factors.phi[0, 1])}; "
        f"Cronbach's alpha {alpha_text}). {scores}"
    )


def share_text(share: float, row: Mapping[str, Any] | None, level: float) -> str:
    """A share as a percentage with its interval: ``12.0% (95% CI 5.0%–22.0%)``; the interval
    says when it is one-sided (the estimate on the boundary)."""
    if pd.isna(share):
        return "an undefined share (no such variance at either level)"
    if row is None:
        return apa.percent(share)
    if row["ci_low"] is None or row["ci_high"] is None:
        return f"{apa.percent(share)} (no interval: no bootstrap sample gave this share)"
    interval = f"{round(100 * level)}% CI {apa.percent(row['ci_low'])}\u2013{apa.percent(row['ci_high'])}"
    if row.get("boundary") in ("lower", "upper"):
        where = "next to" if "next to the boundary" in str(row.get("note")) else "on"
        interval += f", one-sided: the estimate is {where} the boundary"
    return f"{apa.percent(share)} ({interval})"


def origin_text(axis: TimeAxis) -> str:
    """Where time is 0, e.g. ``session 3``."""
    return f"session {axis.origin_session:g}"


def unit_text(coding: str, axis: TimeAxis) -> str:
    """One unit of time, e.g. ``unit of ln(session)`` or ``10 sessions``."""
    if coding == "log":
        return "unit of ln(session)"
    return "session" if axis.unit == 1 else f"{axis.unit:g} sessions"


def variance_sentence(model: NullModel, axis: TimeAxis) -> str:
    """The therapists' shares of the variance of one rater's null model, with their intervals."""
    icc = model.icc()
    intervals = model.intervals
    rows: dict[str, Mapping[str, Any]] = {}
    level = 0.95
    if intervals is not None:
        rows = {str(row["quantity"]): row for row in intervals.to_dict()["shares"]}
        level = intervals.level

    def share(name: str) -> str:
        return share_text(icc[name], rows.get(name), level)

    sentence = (
        f"In the {model.rater}-rated alliance, therapists accounted for "
        f"{share('therapist_intercept')} of the variance at {origin_text(axis)} and for "
        f"{share('therapist_slope_share')} of the variance in growth between patients; "
        f"patients and their therapists together for {share('patient_intercept')} of "
        "the variance at that time"
    )
    if intervals is not None:
        sentence += f" (intervals: {intervals.describe().split(', ', 1)[1]})"
    sentence += "."
    if model.fit.singular:
        sentence += (
            " This model is a boundary fit (a variance or correlation estimated at its limit), "
            "so these shares are uncertain; a simpler random-effects structure ([models] "
            "random_effects = \"uncorrelated\" or \"intercepts\") may fit without it."
        )
    return sentence


def time_sentence(comparison: TimeCodingComparison, fixed: bool) -> str:
    frame = comparison.to_frame()
    totals = frame.groupby("coding")["aic"].sum().sort_values()
    chosen = comparison.chosen
    others = ", ".join(f"{coding} {apa.number(aic, 1)}" for coding, aic in totals.items()
                       if coding != chosen)
    how = "as configured" if fixed else "the coding with the smallest AIC"
    compared = f" (summed AIC {apa.number(totals[chosen], 1)}; {others})" if others else ""
    return f"Time was coded as {comparison.axis.definition(chosen)}, {how}{compared}."


def effect_sentence(rater: str, factor: str, outcome: str, row: Mapping[str, float],
                    coding: str, confidence: float, axis: TimeAxis) -> str:
    """One factor's effect on the level or growth of one rater's alliance."""
    unit = (f"per SD of the factor per {unit_text(coding, axis)}" if outcome == "growth"
            else "per SD of the factor")
    numbers = (f"b = {apa.number(row['estimate'], 3)} {unit}, {round(100 * confidence)}% CI "
               f"{apa.number(row['ci_low'], 3)} to {apa.number(row['ci_high'], 3)}, "
               f"{apa.p_phrase(row['p'])}")
    name = LABELS[factor]
    what = "growth" if outcome == "growth" else f"level at {origin_text(axis)}"
    if row["ci_low"] > 0 or row["ci_high"] < 0:
        if outcome == "growth":
            direction = "faster" if row["estimate"] > 0 else "slower"
        else:
            direction = "a higher" if row["estimate"] > 0 else "a lower"
        return f"{name} predicted {direction} {what} of the {rater}-rated alliance ({numbers})."
    return (f"{name} did not predict the {what} of the {rater}-rated alliance distinguishably "
            f"from 0 ({numbers}).")


def difference_sentence(row: Mapping[str, Any], confidence: float) -> str:
    effect = str(row["effect"])
    outcome = "growth" if effect.startswith("time:") else "level"
    name = LABELS[effect.removeprefix("time:")]
    numbers = (f"difference = {apa.number(row['difference'], 3)}, "
               f"t({apa.degrees_of_freedom(row['df'])}) = "
               f"{apa.number(row['statistic'])}, {apa.p_phrase(row['p'])}")
    if row["p"] < 1 - confidence:
        return (f"The effect of {name} on alliance {outcome} differed between patient and "
                f"therapist ratings ({numbers}).")
    return (f"The effect of {name} on alliance {outcome} did not differ distinguishably between "
            f"patient and therapist ratings ({numbers}).")


def recovery_sentence(recovery: pd.DataFrame, confidence: float) -> str:
    fixed = recovery.loc[recovery["covered"].notna()]
    covered = int(fixed["covered"].astype(bool).sum())
    return (
        f"On these simulated data, {covered} of {len(fixed)} true fixed effects lay inside their "
        f"{round(100 * confidence)}% confidence intervals (expected about "
        f"{apa.integer(confidence * len(fixed))})."
    )


def findings(
    summary: Mapping[str, Any],
    factors: TherapistFactors,
    null: Mapping[str, NullModel],
    comparison: TimeCodingComparison,
    time_fixed: bool,
    growth: Mapping[str, GrowthModel],
    joint: JointModel,
    recovery: pd.DataFrame | None,
    confidence: float,
) -> list[str]:
    """All findings, in the order the report presents them."""
    coding = comparison.chosen
    sentences = [data_sentence(summary), factor_sentence(factors)]
    sentences += [variance_sentence(null[rater], comparison.axis) for rater in RATERS]
    sentences.append(time_sentence(comparison, time_fixed))
    for outcome, prefix in (("growth", "time:"), ("level", "")):
        for rater in RATERS:
            rows = {str(row["term"]): row
                    for row in growth[rater].fit.to_dict()["fixed_effects"]}
            for factor in FACTOR_NAMES:
                sentences.append(effect_sentence(rater, factor, outcome,
                                                 rows[f"{prefix}{factor}"], coding, confidence,
                                                 comparison.axis))
    for row in joint.to_dict()["difference_tests"]:
        sentences.append(difference_sentence(row, confidence))
    if recovery is not None and len(recovery):
        sentences.append(recovery_sentence(recovery, confidence))
    return sentences
