"""Tables of the mixed models: variance components (with their proportional reduction in the
conditional models), ICCs, time codings, likelihood-ratio model comparisons, fixed effects (with
R²), rater differences, parameter recovery and the list of models fitted."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from alliance import apa
from alliance.report.apa_table import CI, Table, unavailable
from alliance.report.labels import (
    group_count_label,
    group_label,
    humanize,
    rater_label,
    term_label,
)
from alliance.report.results_reader import (
    MODEL_NAMES,
    confidence_level,
    lookup,
    model_failure,
    model_fits,
    model_label,
    raters,
)
from alliance.report.score_scales import ALLIANCE_SCALE, factor_scale


def variance_table(results: Mapping[str, Any]) -> Table:
    """Variance components of the null growth model of each rater, beside the same variances
    in the conditional growth model and their proportional reduction (Raudenbush & Bryk 2002:
    ``(unconditional - conditional) / unconditional``, ``models.growth.<rater>.variance_reduction``).
    """
    key = "variance-components"
    title = "Variance Components of the Unconditional and Conditional Growth Models"
    null = lookup(results, "models", "null")
    if not null:
        return unavailable(key, title, "No null (unconditional) models in these results.")
    rows: list[dict[str, Any]] = []
    failures = []
    intervals = []
    missing_reduction: list[str] = []
    for rater in raters(results):
        entry = null.get(rater)
        reason = model_failure(entry)
        if reason:
            failures.append(f"{rater_label(rater)}: {reason}.")
            continue
        reduction = lookup(results, "models", "growth", rater, "variance_reduction")
        if reduction is None:
            missing_reduction.append(rater_label(rater))
        rows.extend(_variance_rows(rater, entry["fit"], entry.get("icc_intervals"),
                                   reduction or []))
        intervals.append(entry.get("icc_intervals"))
    label = _ci_label(intervals)
    note = (
        "Variance and SD of each random effect in the unconditional growth model; r = its "
        "correlation with the first term of the same level (the intercept). Conditional = the "
        "same variance in the conditional growth model (with the therapist factors and "
        "covariates); PRV = proportional reduction in variance, (unconditional − "
        "conditional) / unconditional (Raudenbush & Bryk, 2002), the share of that variance "
        "accounted for by the predictors; it can be negative (the two variances are separate "
        "estimates) and is undefined where the unconditional variance is 0. "
        f"{_interval_note(intervals, label)} {ALLIANCE_SCALE}"
    )
    if missing_reduction:
        note += (" No conditional model variances are recorded for "
                 f"{' and '.join(missing_reduction).lower()} ratings.")
    if any([row.pop("one_sided") for row in rows]):  # every row's flag removed
        note += " " + ONE_SIDED_NOTE
    if failures:
        note += " " + " ".join(failures)
    if not rows:
        return unavailable(key, title, " ".join(failures))
    frame = pd.DataFrame(rows).rename(columns={"LL": f"{label}|LL", "UL": f"{label}|UL"})
    formats = {"Variance": "number3", f"{label}|LL": "number3", f"{label}|UL": "number3",
               "SD": "number3", "r": "bounded", "Conditional": "number3", "PRV": "number"}
    return Table(key, title, frame, formats, note, group="Rater")


#: Marks a statistic whose interval is one-sided; explained by :data:`ONE_SIDED_NOTE`.
ONE_SIDED_MARK = "\u1d43"
ONE_SIDED_NOTE = (
    f"{ONE_SIDED_MARK} One-sided interval: the estimate is on or next to the boundary (a "
    "variance estimated at or near 0, a share at or near 0 or 1; next to: outside its own "
    "equal-tailed bootstrap interval), so the interval is [0, upper limit] or "
    "[lower limit, 1], with the coverage of the two-sided ones (for 95%: the 95th or the 5th "
    "percentile of the bootstrap samples)."
)


def _ci_label(intervals: list[Mapping[str, Any] | None]) -> str:
    """``95% CI`` at the level of the recorded intervals (the report's CI otherwise)."""
    levels = {entry.get("level") for entry in intervals if isinstance(entry, Mapping)}
    if len(levels) == 1 and isinstance(level := levels.pop(), int | float):
        return f"{100 * level:g}% CI"
    return CI


def _interval_note(intervals: list[Mapping[str, Any] | None], label: str) -> str:
    """How the intervals were computed: method, samples, seeds, failed refits."""
    recorded = [entry for entry in intervals if isinstance(entry, Mapping)]
    if not recorded:
        return "No intervals are recorded in these results."
    methods = sorted({str(entry.get("method")) for entry in recorded})
    samples = sorted({int(entry["n_boot"]) for entry in recorded if entry.get("n_boot")})
    kind = " percentile interval" if samples else " interval"
    text = f"{label} = {' and '.join(methods)}{kind}"
    if samples:
        seeds = ", ".join(str(entry.get("seed")) for entry in recorded)
        failed = sum(int(entry.get("n_failed") or 0) for entry in recorded)
        text += (f" ({' and '.join(apa.integer(n) for n in samples)} samples per model, seeds "
                 f"{seeds}; {apa.integer(failed)} failed refits left out)")
    return text + "."


def _variance_rows(rater: str, fit: Mapping[str, Any], intervals: Mapping[str, Any] | None,
                   reduction: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    limits = {(item.get("group"), item.get("term")): item
              for item in (intervals or {}).get("components") or [] if isinstance(item, Mapping)}
    reduced = {(item.get("group"), item.get("term")): item
               for item in reduction if isinstance(item, Mapping)}
    entries = fit.get("random_effects") or []
    correlations = {
        (entry["group"], entry["term2"]): entry.get("correlation")
        for entry in entries
        if entry.get("term2") is not None
    }
    first_term: dict[str, str] = {}
    rows = []
    for entry in entries:
        if entry.get("term2") is not None:
            continue
        group, term = entry["group"], entry.get("term1")
        first_term.setdefault(group, term)
        correlation = None
        if term != first_term[group]:
            correlation = correlations.get((group, term))
        interval = limits.get((group, term), {})
        one_sided = interval.get("boundary") in ("lower", "upper")
        rows.append(
            {
                "Rater": rater_label(rater),
                "Level": group_label(group),
                "Term": ("" if term is None else term_label(term))
                + (ONE_SIDED_MARK if one_sided else ""),
                "Variance": entry.get("variance"),
                "LL": interval.get("ci_low"),
                "UL": interval.get("ci_high"),
                "SD": entry.get("sd"),
                "r": correlation,
                "Conditional": reduced.get((group, term), {}).get("conditional"),
                "PRV": reduced.get((group, term), {}).get("proportional_reduction"),
                "one_sided": one_sided,
            }
        )
    return rows


ICC_LABELS = {
    "therapist_intercept": "Therapist ICC",
    "patient_intercept": "Patient ICC",
    "therapist_slope_share": "Therapist share of slope variance",
}


def icc_table(results: Mapping[str, Any]) -> Table:
    """Intraclass correlations with their intervals (and reliabilities) of each rater's null
    growth model.

    Rows grouped by rater: the statistic, its estimate and interval (one-sided ones marked);
    values that are not proportions (e.g. a mean caseload recorded beside a reliability) are
    given in the note.
    """
    key, title = "icc", "Intraclass Correlations of the Unconditional Growth Models"
    null = lookup(results, "models", "null")
    if not null:
        return unavailable(key, title, "No null (unconditional) models in these results.")
    rows: list[dict[str, Any]] = []
    others: list[str] = []
    intervals = []
    one_sided = False
    for rater in raters(results):
        entry = null.get(rater)
        if not isinstance(entry, Mapping) or not entry.get("icc"):
            continue
        recorded = entry.get("icc_intervals")
        intervals.append(recorded)
        limits = {item.get("quantity"): item
                  for item in (recorded or {}).get("shares") or [] if isinstance(item, Mapping)}
        for name, value in entry["icc"].items():
            interval = limits.get(name, {})
            marked = interval.get("boundary") in ("lower", "upper")
            one_sided = one_sided or marked
            rows.append({"Rater": rater_label(rater),
                         "Statistic": ICC_LABELS.get(name, humanize(name))
                         + (ONE_SIDED_MARK if marked else ""),
                         "Estimate": value, "LL": interval.get("ci_low"),
                         "UL": interval.get("ci_high")})
        for name, value in (entry.get("reliability") or {}).items():
            if value is not None and (not isinstance(value, int | float)
                                      or isinstance(value, bool)):
                continue
            if value is None or not abs(value) > 1:  # NaN and None shown as missing
                rows.append({"Rater": rater_label(rater),
                             "Statistic": "Reliability: " + name.replace("_", " "),
                             "Estimate": value, "LL": None, "UL": None})
            else:
                label = f"{humanize(name)}, {rater_label(rater).lower()}"
                others.append(f"{label}: {apa.number(value)}")
    if not rows:
        return unavailable(key, title, "No intraclass correlations in these results.")
    label = _ci_label(intervals)
    note = (
        "Therapist ICC = share of the variance of the intercept (alliance at time 0) that lies "
        "between therapists; Patient ICC = share that lies between patients, therapists "
        "included (the correlation of two ratings of the same patient); therapist share of "
        "slope variance = share of the variance of growth that lies between therapists; "
        "reliability = mean reliability of the estimated random coefficients of each level. "
        + _interval_note(intervals, label)
    )
    if one_sided:
        note += " " + ONE_SIDED_NOTE
    if others:
        note += " " + "; ".join(others) + "."
    frame = pd.DataFrame(rows).rename(columns={"LL": f"{label}|LL", "UL": f"{label}|UL"})
    formats = {"Estimate": "bounded", f"{label}|LL": "bounded", f"{label}|UL": "bounded"}
    return Table(key, title, frame, formats, note, group="Rater")


def confidence_heading(results: Mapping[str, Any]) -> str:
    """``90% CI`` etc.: the level of the models' intervals (``[models] confidence``), or the
    report's default heading when the results do not record it."""
    level = confidence_level(results)
    return CI if level is None else f"{100 * level:g}% CI"


def fixed_formats(label: str = CI) -> dict[str, str]:
    """Formats of the fixed-effects columns, the intervals under the heading ``label``."""
    return {"b": "number3", "SE": "number3", "df": "df", "t": "number", "p": "p",
            f"{label}|LL": "number3", f"{label}|UL": "number3"}


def fixed_effects_rows(fit: Mapping[str, Any], label: str = CI) -> list[dict[str, Any]]:
    """Rows of an ``alliance fit --json`` fixed-effects list, with APA column names; the
    interval columns under the heading ``label``."""
    return [
        {
            "Term": term_label(str(row["term"])),
            "b": row.get("estimate"),
            "SE": row.get("std_error"),
            "df": row.get("df"),
            "t": row.get("t"),
            "p": row.get("p"),
            f"{label}|LL": row.get("ci_low"),
            f"{label}|UL": row.get("ci_high"),
        }
        for row in fit.get("fixed_effects") or []
    ]


def fixed_effects_table(results: Mapping[str, Any]) -> Table:
    """Fixed effects of each rater's growth model (level and growth on the therapist factors)."""
    key = "fixed-effects"
    title = "Fixed Effects of the Therapist Factors on Alliance Level and Growth"
    growth = lookup(results, "models", "growth")
    if not growth:
        return unavailable(key, title, "No growth models in these results.")
    label = confidence_heading(results)
    rows: list[dict[str, Any]] = []
    failures: list[str] = []
    formulas: list[str] = []
    explained: list[str] = []
    for rater in raters(results):
        entry = growth.get(rater)
        reason = model_failure(entry)
        if reason:
            failures.append(f"{rater_label(rater)}: {reason}.")
            continue
        fit = entry["fit"]
        rows.extend({"Rater": rater_label(rater), **row}
                    for row in fixed_effects_rows(fit, label))
        formula = entry.get("formula") or fit.get("formula")
        df_method = f" (df: {fit['df_method']})" if fit.get("df_method") else ""
        formulas.append(f"{rater_label(rater)}: {formula}{df_method}")
        r2 = entry.get("r2") or fit.get("r2")
        if isinstance(r2, Mapping):
            explained.append(
                f"{rater_label(rater).lower()}, marginal R\u00b2 = "
                f"{apa.bounded(r2.get('marginal'), 3)}, conditional R\u00b2 = "
                f"{apa.bounded(r2.get('conditional'), 3)}")
    if not rows:
        return unavailable(key, title, " ".join(failures))
    note = (
        f"b = unstandardized coefficient. {ALLIANCE_SCALE} {factor_scale(results)} "
        "Main effects of the factors are effects on the alliance level (at time 0); "
        "interactions with time are effects on its growth. Models: " + "; ".join(formulas) + "."
    )
    if explained:
        note += (
            " Explained variance (Nakagawa & Schielzeth, 2013; Johnson, 2014): "
            + "; ".join(explained) + ". Marginal R\u00b2 = share of the alliance variance "
            "explained by the fixed effects; conditional R\u00b2 = by the fixed and random "
            "effects together."
        )
    if failures:
        note += " " + " ".join(failures)
    return Table(key, title, pd.DataFrame(rows), fixed_formats(label), note, group="Rater")


def time_coding_table(results: Mapping[str, Any]) -> Table:
    """ML deviance, AIC and BIC of the unconditional growth model under each time coding."""
    key, title = "time-coding", "Comparison of Time Codings"
    entries = lookup(results, "models", "time_coding")
    if not entries:
        return unavailable(key, title, "No comparison of time codings in these results.")
    frame = pd.DataFrame(
        {
            "Rater": rater_label(str(entry.get("rater"))),
            "Coding": entry.get("coding"),
            "Deviance": entry.get("deviance"),
            "AIC": entry.get("aic"),
            "BIC": entry.get("bic"),
            "Selected": entry.get("chosen"),
        }
        for entry in entries
    )
    best = frame.groupby("Rater", sort=False)["AIC"].transform("min")
    frame.insert(list(frame.columns).index("AIC") + 1, "\u0394AIC", frame["AIC"] - best)
    note = (
        "Unconditional growth models fitted by maximum likelihood; \u0394AIC = difference from "
        "the lowest AIC of the same rater. Selected coding: "
        f"{lookup(results, 'meta', 'time_coding')}."
    )
    formats = {"Deviance": "number", "AIC": "number", "\u0394AIC": "number", "BIC": "number",
               "Selected": "yes_no"}
    return Table(key, title, frame, formats, note, group="Rater")


#: Labels of the compared models (``models.model_comparison.<rater>.models[].name``).
COMPARED_MODELS = {
    "null": "Null (random intercepts)",
    "fixed time": "+ Fixed time slope",
    "patient slopes": "+ Patient random slopes",
    "unconditional growth": "Unconditional growth (+ therapist random slopes)",
    "conditional growth": "Conditional growth (+ factors and covariates)",
}
#: Marks a test of a variance component; explained in the model-comparison note.
MIXTURE_MARK = "\u1d47"


def model_comparison_table(results: Mapping[str, Any]) -> Table:
    """Deviance, AIC and BIC of the nested model sequence of each rater, each model tested
    against the one above it by a likelihood ratio (``models.model_comparison``)."""
    key, title = "model-comparison", "Likelihood-Ratio Comparison of the Growth Models"
    comparison = lookup(results, "models", "model_comparison")
    if not comparison:
        return unavailable(key, title, "No model comparison in these results.")
    rows: list[dict[str, Any]] = []
    mixture = False
    formulas: dict[str, str] = {}
    for rater in raters(results):
        entry = comparison.get(rater)
        if not isinstance(entry, Mapping):
            continue
        tests = {test.get("larger"): test for test in entry.get("tests") or []
                 if isinstance(test, Mapping)}
        for model in entry.get("models") or []:
            name = str(model.get("name"))
            formulas.setdefault(name, str(model.get("formula")))
            test = tests.get(name, {})
            marked = "mixture" in str(test.get("reference", ""))
            mixture = mixture or marked
            rows.append({
                "Rater": rater_label(rater),
                "Model": COMPARED_MODELS.get(name, humanize(name))
                + (MIXTURE_MARK if marked else ""),
                "Parameters": model.get("n_params"),
                "Deviance": model.get("deviance"),
                "AIC": model.get("aic"),
                "BIC": model.get("bic"),
                "\u03c7\u00b2": test.get("chi_square"),
                "df": test.get("df"),
                "p": test.get("p"),
            })
    if not rows:
        return unavailable(key, title, "No model comparison in these results.")
    note = (
        "Each model is tested against the model above it: \u03c7\u00b2 = likelihood-ratio "
        "statistic (the difference in deviance, \u22122 log-likelihood), df = the number of "
        "parameters added. All models were fitted by maximum likelihood: the REML fits of the "
        "unconditional and conditional growth models were refitted by ML for these tests, as "
        "lme4's anova() refits REML fits, because REML criteria of models with different fixed "
        "effects are not comparable; deviance, AIC and BIC are therefore comparable down the "
        "table. Tests of fixed effects refer \u03c7\u00b2 to the \u03c7\u00b2 distribution."
    )
    if mixture:
        note += (
            f" {MIXTURE_MARK} Test of a variance component (one added random slope with its "
            "covariance with the intercept): the null value, a variance of 0, lies on the "
            "boundary of the parameter space, so p is from the 50:50 mixture of "
            "\u03c7\u00b2(df \u2212 1) and \u03c7\u00b2(df) (Self & Liang, 1987; Stram & Lee, "
            "1994); the plain \u03c7\u00b2(df) p would be too large."
        )
    note += " Models: " + "; ".join(
        f"{COMPARED_MODELS.get(name, humanize(name))}: {formula}"
        for name, formula in formulas.items()) + "."
    formats = {"Parameters": "integer", "Deviance": "number", "AIC": "number", "BIC": "number",
               "\u03c7\u00b2": "number", "df": "integer", "p": "p"}
    return Table(key, title, pd.DataFrame(rows), formats, note, group="Rater")


def joint_table(results: Mapping[str, Any]) -> Table:
    """Tests of patient-therapist differences in the factor effects (joint model)."""
    key, title = "joint", "Differences Between Patient- and Therapist-Rated Effects"
    joint = lookup(results, "models", "joint")
    if not joint:
        return unavailable(key, title, "No joint model of both raters in these results.")
    tests = joint.get("difference_tests") or []
    if not tests:
        reason = model_failure(joint) or "no difference tests were recorded"
        return unavailable(key, title, f"Joint model: {reason}.")
    frame = pd.DataFrame(
        {
            "Effect": term_label(str(test.get("effect"))),
            "Patient-rated b": test.get("patient"),
            "Therapist-rated b": test.get("therapist"),
            "Difference": test.get("difference"),
            "SE": test.get("std_error"),
            "t": test.get("statistic"),
            "df": test.get("df"),
            "p": test.get("p"),
        }
        for test in tests
    )
    note = (
        "Difference = patient-rated minus therapist-rated effect, tested in one model of both "
        f"raters' alliance: {joint.get('formula') or lookup(joint, 'fit', 'formula')}. "
        f"{ALLIANCE_SCALE} {factor_scale(results)}"
    )
    formats = {"Patient-rated b": "number3", "Therapist-rated b": "number3",
               "Difference": "number3", "SE": "number3", "t": "number", "df": "df", "p": "p"}
    return Table(key, title, frame, formats, note)


def recovery_table(results: Mapping[str, Any]) -> Table:
    """True values beside their estimates, for simulated data."""
    key, title = "recovery", "Recovery of the Simulated Parameters"
    entries = results.get("recovery")
    if not entries:
        return unavailable(
            key, title,
            "Parameter recovery applies to simulated data only; none is recorded in these results.",
        )
    label = confidence_heading(results)
    frame = pd.DataFrame(
        {
            "Model": model_label(str(entry.get("model"))),
            "Parameter": term_label(str(entry.get("parameter"))),
            "True value": entry.get("true"),
            "Estimate": entry.get("estimate"),
            f"{label}|LL": entry.get("ci_low"),
            f"{label}|UL": entry.get("ci_high"),
            "Covered": entry.get("covered"),
        }
        for entry in entries
    )
    with_interval = [bool(value) for value in frame["Covered"] if value is not None
                     and value == value]
    note = (
        f"Covered = the confidence interval contains the true value ({sum(with_interval)} of "
        f"{len(with_interval)} parameters with an interval). True fixed effects are exact on "
        "the mean-score metric of the alliance (the expected mean of the ordinal item scores), "
        "per SD of the true factor scores for factor effects. True variance components are "
        "approximate (before the items are rounded to categories) and are not counted as "
        "recovered."
    )
    formats = {"True value": "number3", "Estimate": "number3", f"{label}|LL": "number3",
               f"{label}|UL": "number3", "Covered": "yes_no"}
    return Table(key, title, frame, formats, note, group="Model")


def models_table(results: Mapping[str, Any]) -> Table:
    """Every model fitted: estimation method, observations, groups, fit and status."""
    key, title = "models", "Models Fitted"
    rows = []
    for name, rater, entry in model_fits(results):
        fit = entry.get("fit") if isinstance(entry, Mapping) else None
        fit = fit if isinstance(fit, Mapping) else {}
        groups = fit.get("groups") or {}
        rows.append(
            {
                "Model": MODEL_NAMES.get(name, humanize(name)),
                "Rater": humanize(rater) if rater else "Both",
                "Method": fit.get("method"),
                "N": fit.get("n_obs"),
                "Groups": ", ".join(group_count_label(g, n) for g, n in groups.items()),
                "Deviance": fit.get("deviance"),
                "AIC": fit.get("aic"),
                "Converged": fit.get("converged"),
                "Singular": fit.get("singular"),
            }
        )
    if not rows:
        return unavailable(key, title, "No models in these results.")
    note = (
        "N = observations (ratings) analysed. Deviance = \u22122 log-likelihood (the REML "
        "criterion under REML)."
    )
    formats = {"N": "integer", "Deviance": "number", "AIC": "number",
               "Converged": "yes_no", "Singular": "yes_no"}
    return Table(key, title, pd.DataFrame(rows), formats, note)
