"""The methods section: the three-level growth model in plain math, and the analysis in words.

Equations are HTML with ``<sub>``/``<sup>`` (no LaTeX, no script): sessions ``t`` within
patients ``i`` within therapists ``j``, written as in Raudenbush & Bryk (2002, ch. 8) and as the
reference study (Nissen-Lie et al., 2013) states its model.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

from alliance import apa
from alliance.report.labels import humanize, rater_label, time_definition_label
from alliance.report.notices import model_name
from alliance.report.results_reader import factor_names, lookup, model_fits
from alliance.report.scale_tables import naming_note
from alliance.report.score_scales import factor_scale

DF_METHODS = {"satterthwaite": "Satterthwaite", "containment": "containment (HLM)",
              "residual": "residual (n \u2212 p)"}


@dataclass(frozen=True)
class Equation:
    """One level of the model: its name and its equations, one HTML line each."""

    level: str
    lines: tuple[Markup, ...]


def sub(symbol: str, index: str) -> Markup:
    return Markup("{}<sub>{}</sub>").format(symbol, index)


def _predictors(names: Sequence[str], first: str, unit: str) -> Markup:
    """`` + γ_{first}1·X1_unit + γ_{first}2·X2_unit + ...`` (``γ`` at level 3, ``β`` at 2)."""
    symbol = "\u03b3" if unit == "j" else "\u03b2"
    suffix = "" if unit == "j" else "j"
    terms = [
        Markup("{}\u00b7{}").format(sub(symbol, f"{first}{k}{suffix}"),
                                     sub(escape(humanize(name)), unit))
        for k, name in enumerate(names, start=1)
    ]
    return Markup("").join(Markup(" + ") + term for term in terms)


def growth_equations(factors: Sequence[str], therapist_covariates: Sequence[str] = (),
                     patient_covariates: Sequence[str] = ()) -> list[Equation]:
    """Level 1 (sessions), level 2 (patients) and level 3 (therapists) of the growth model.

    Therapist factors and therapist covariates (index ``j``) predict the therapist-level
    coefficients; patient covariates (index ``ij``) enter the patient-level equations, with
    effects fixed at level 3 (``β_0qj = γ_0q0``), never the therapist-level ones.
    """
    pi0, pi1 = sub("\u03c0", "0ij"), sub("\u03c0", "1ij")
    b00, b10 = sub("\u03b2", "00j"), sub("\u03b2", "10j")
    r0, r1, u0, u1 = sub("r", "0ij"), sub("r", "1ij"), sub("u", "00j"), sub("u", "10j")
    e = sub("e", "tij")
    therapist = [*factors, *therapist_covariates]
    level3 = [
        Markup("{} = {}{} + {}").format(b00, sub("\u03b3", "000"),
                                      _predictors(therapist, "00", "j"), u0),
        Markup("{} = {}{} + {}").format(b10, sub("\u03b3", "100"),
                                      _predictors(therapist, "10", "j"), u1),
    ]
    level3 += [
        Markup("{} = {}, {} = {}").format(sub("\u03b2", f"0{q}j"), sub("\u03b3", f"0{q}0"),
                                          sub("\u03b2", f"1{q}j"), sub("\u03b3", f"1{q}0"))
        for q in range(1, len(patient_covariates) + 1)
    ]
    return [
        Equation("Level 1 (sessions)", (
            Markup("{} = {} + {}\u00b7{} + {}").format(sub("Y", "tij"), pi0, pi1,
                                                       sub("time", "tij"), e),
            Markup("{} ~ N(0, \u03c3<sup>2</sup>)").format(e),
        )),
        Equation("Level 2 (patients)", (
            Markup("{} = {}{} + {}").format(pi0, b00, _predictors(patient_covariates, "0", "ij"),
                                          r0),
            Markup("{} = {}{} + {}").format(pi1, b10, _predictors(patient_covariates, "1", "ij"),
                                          r1),
            Markup("({}, {}) ~ N(0, {})").format(r0, r1, sub("T", "\u03c0")),
        )),
        Equation("Level 3 (therapists)", (
            *level3,
            Markup("({}, {}) ~ N(0, {})").format(u0, u1, sub("T", "\u03b2")),
        )),
    ]


def predictor_levels(results: Mapping[str, Any]) -> tuple[list[str], list[str], list[str]]:
    """Covariates measured on therapists, on patients, and those whose level is not recorded.

    The levels come from ``models.predictors``; covariates of the growth models missing there
    (results written before it was recorded) are returned as unplaced.
    """
    factors = set(factor_names(results))
    recorded = {str(entry.get("name")): str(entry.get("level"))
                for entry in lookup(results, "models", "predictors") or []
                if isinstance(entry, Mapping)}
    found = covariates(results)
    therapist = [name for name in found if recorded.get(name) == "therapist"]
    patient = [name for name in found if recorded.get(name) == "patient"]
    unplaced = [name for name in found if name not in recorded and name not in factors]
    return therapist, patient, unplaced


def covariates(results: Mapping[str, Any]) -> list[str]:
    """Predictors of the growth models other than time and the therapist factors."""
    factors = set(factor_names(results))
    found: dict[str, None] = {}
    for name, _, entry in model_fits(results):
        if name != "growth" or not isinstance(lookup(entry, "fit"), Mapping):
            continue
        for row in entry["fit"].get("fixed_effects") or []:
            term = str(row.get("term"))
            if ":" not in term and term not in ("(Intercept)", "time") and term not in factors:
                found[term] = None
    return list(found)


def model_formulas(results: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(model name, formula) of every model, as given in the results."""
    listed = []
    for name, rater, entry in model_fits(results):
        formula = None
        if isinstance(entry, Mapping):
            formula = entry.get("formula") or lookup(entry, "fit", "formula")
        listed.append((model_name(name, rater), formula or "formula not recorded"))
    return listed


def _plural(count: Any, word: str) -> str:
    return f"{apa.integer(count)} {word}{'' if count == 1 else 's'}"


def data_paragraph(results: Mapping[str, Any]) -> str:
    """The sample and the measures, in one paragraph."""
    summary = lookup(results, "data_summary") or {}
    if not summary:
        return "No data summary is recorded in these results."
    parts = []
    if summary.get("n_therapists") is not None:
        parts.append(
            f"The study sample comprised {_plural(summary.get('n_patients'), 'patient')} treated "
            f"by {_plural(summary.get('n_therapists'), 'therapist')}."
        )
    administrations = summary.get("n_administrations") or {}
    if administrations:
        counts = ", ".join(
            f"{apa.integer(count)} {rater_label(str(rater)).lower()}"
            for rater, count in administrations.items()
        )
        sessions = ", ".join(str(session) for session in summary.get("sessions") or [])
        parts.append(
            f"Alliance ratings analysed: {counts}"
            + (f", at sessions {sessions}" if sessions else "")
            + "."
        )
    parts.append(_instrument_sentence(results))
    if summary.get("n_reference_therapists") is not None:
        parts.append(
            "The therapist factors were derived from the Quality of Personal Life items answered "
            f"by a reference sample of {_plural(summary['n_reference_therapists'], 'therapist')}."
        )
    parts.append(missing_data_sentence(results))
    return " ".join(part for part in parts if part)


def short_citation(citation: str) -> str:
    """``Hatcher & Gillaspy, 2006`` from an APA reference ``Hatcher, R. L., & Gillaspy, J. A.
    (2006). ...`` (``First et al., year`` for three or more authors); the reference itself
    when it has no ``(year)``."""
    match = re.search(r"\((\d{4})\)", citation)
    if not match:
        return citation
    surnames = re.findall(r"([^\s,&][^,&]*?), (?:[A-Z]\.\s?(?:-[A-Z]\.\s?)?)+",
                          citation[:match.start()])
    if not surnames:
        return citation
    authors = (surnames[0] if len(surnames) == 1 else
               f"{surnames[0]} & {surnames[1]}" if len(surnames) == 2 else
               f"{surnames[0]} et al.")
    return f"{authors}, {match.group(1)}"


def instrument_references(results: Mapping[str, Any]) -> list[str]:
    """The full references of the instruments used (``instruments``), without repeats."""
    return list(dict.fromkeys(str(entry["citation"]) for entry in _instruments(results)
                              if entry.get("citation")))


def _instruments(results: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [entry for entry in results.get("instruments") or [] if isinstance(entry, Mapping)]


def _instrument_sentence(results: Mapping[str, Any]) -> str:
    """Each instrument by its title with its citation (ids where titles are not recorded)."""
    listed = _instruments(results)
    if listed:
        return "Instruments: " + "; ".join(
            f"{entry.get('measures')}: {entry.get('title') or entry.get('name')}"
            + (f" ({short_citation(str(entry['citation']))})" if entry.get("citation") else "")
            for entry in listed) + "."
    wai = lookup(results, "scoring", "wai", "instrument") or {}
    if not wai:
        return ""
    return ("Instruments: "
            + ", ".join(f"{rater_label(str(r)).lower()} {name}" for r, name in wai.items())
            + " (titles and citations not recorded in these results).")


def missing_data_sentence(results: Mapping[str, Any]) -> str:
    """How missing ratings were handled, with the exclusions counted in ``data_summary``."""
    excluded = [entry for entry in lookup(results, "data_summary", "excluded") or []
                if isinstance(entry, Mapping)]
    prorated = lookup(results, "scoring", "wai", "n_prorated") or {}
    text = (
        "Missing data: the mixed models use every rating available for a patient, whatever "
        "the number of sessions rated, and no rating was imputed; REML estimates are valid if "
        "the missing ratings are missing at random (MAR) given the variables in the model."
    )
    if excluded:
        text += " Excluded before the analysis: " + "; ".join(
            f"{apa.integer(entry.get('rows'))} {entry.get('reason')}" for entry in excluded) + "."
    else:
        text += " No administration was excluded."
    counts = [f"{apa.integer(n)} {rater_label(str(rater)).lower()}"
              for rater, n in prorated.items() if n]
    if counts:
        text += (" Administrations with a few items missing were scored on the items answered "
                 f"(prorated: {', '.join(counts)}).")
    return text


def analysis_paragraph(results: Mapping[str, Any]) -> str:
    """Factor analysis, time coding and estimation, in one paragraph."""
    parts = []
    efa = lookup(results, "efa") or {}
    factors = factor_names(results)
    if efa:
        parts.append(
            f"An exploratory factor analysis ({efa.get('method')} extraction, "
            f"{efa.get('rotation')} rotation) of {len(efa.get('items') or [])} items gave "
            f"{len(factors)} factors ({', '.join(humanize(name) for name in factors)}); the "
            f"number of factors was checked by parallel analysis. {factor_scale(results)} "
            + naming_note(efa.get("naming"))
        )
    parts.append(
        "Time: " + time_definition_label(lookup(results, "meta", "time_coding"),
                                         lookup(results, "meta", "time_definition"),
                                         lookup(results, "meta", "config", "models", "origin"))
        + "; the coding was chosen by comparing maximum-likelihood fits of the unconditional "
        "growth model."
    )
    fits = [entry["fit"] for _, _, entry in model_fits(results)
            if isinstance(entry, Mapping) and isinstance(entry.get("fit"), Mapping)]
    methods = sorted({str(fit.get("method")) for fit in fits if fit.get("method")})
    df_methods = sorted({DF_METHODS.get(str(fit["df_method"]), str(fit["df_method"]))
                         for fit in fits if fit.get("df_method")})
    if methods:
        growth = lookup(results, "models", "growth") or {}
        formula = next((str(entry.get("formula") or lookup(entry, "fit", "formula"))
                        for entry in growth.values() if isinstance(entry, Mapping)), "")
        parts.append(
            f"Models were estimated by {' and '.join(methods)}"
            + (f", with {' and '.join(df_methods)} degrees of freedom for the t tests"
               if df_methods else "")
            + ". Each rater's alliance was modelled separately (sessions within patients "
            f"within therapists; random effects as fitted: {random_structure(formula)}); a "
            "joint model of both raters tested whether the factor effects differ between them."
        )
    parts.append(centring_sentence(results))
    if lookup(results, "models", "model_comparison"):
        parts.append(
            "The null (random-intercept), unconditional and conditional growth models were "
            "compared by likelihood-ratio tests of maximum-likelihood fits (REML fits refitted "
            "by ML, as lme4's anova() does); tests of a random slope used the 50:50 mixture of "
            "\u03c7\u00b2 distributions for a variance on the boundary (Self & Liang, 1987; "
            "Stram & Lee, 1994)."
        )
    parts.append(interval_levels_sentence(results))
    parts.append(_interval_sentence(results))
    return " ".join(part for part in parts if part)


_BAR = re.compile(r"\(([^()|]*?)(\|\|?)([^()|]+)\)")


def random_structure(formula: str) -> str:
    """The random effects of an lme4 formula in words.

    ``(time | therapist/patient)`` -> "correlated random intercepts and time slopes for
    therapists and for patients within therapists"; ``||`` gives uncorrelated effects,
    ``0 +`` (or ``- 1``) no intercept; ``a:b`` is read as ``a`` within ``b``.
    """
    described = []
    for lhs, bar, groups in _BAR.findall(formula):
        terms = [term.strip() for term in lhs.split("+") if term.strip()]
        intercept = not any(term in ("0", "-1") or term.endswith("- 1") for term in terms)
        slopes = [term.removesuffix("- 1").strip() for term in terms
                  if term not in ("0", "1", "-1")]
        effects = (["intercepts"] if intercept else []) + [f"{term} slopes" for term in slopes]
        several = len(effects) > 1
        kind = ("correlated " if bar == "|" and several else
                "uncorrelated " if several else "") + "random " + " and ".join(effects)
        described.append(f"{kind} for {_grouping(groups.strip())}")
    return "; ".join(described) if described else "none recorded"


def _grouping(groups: str) -> str:
    """``therapist/patient`` -> "therapists and for patients within therapists"."""
    if "/" in groups:
        outer, inner = (part.strip() for part in groups.split("/", 1))
        return f"{_grouping(outer)} and for {inner}s within {outer}s"
    if ":" in groups:
        inner, outer = (part.strip() for part in groups.split(":", 1))
        return f"{inner}s within {outer}s"
    return f"{groups}s"


def centring_sentence(results: Mapping[str, Any]) -> str:
    """How each predictor was centred, over which units (``models.predictors``): grand mean,
    none, or the within/between decomposition of a group-mean centred patient covariate."""
    predictors = [entry for entry in lookup(results, "models", "predictors") or []
                  if isinstance(entry, Mapping)]
    if not predictors:
        return ""
    grand: dict[str, list[str]] = {}
    uncentred: list[str] = []
    decomposed: dict[str, list[str]] = {}
    for entry in predictors:
        name, centring = str(entry["name"]), str(entry.get("centring") or "grand mean")
        if entry.get("decomposes"):
            decomposed.setdefault(str(entry["decomposes"]), []).append(humanize(name))
        elif centring == "none":
            uncentred.append(humanize(name))
        else:
            grand.setdefault(str(entry.get("level")), []).append(humanize(name))
    text = ""
    if grand:
        text = "Predictors were grand-mean centred (" + "; ".join(
            f"{', '.join(names)} over the {level}s analysed" for level, names in grand.items()
        ) + ")"
    if uncentred:
        text += f"{'; ' if text else ''}{', '.join(uncentred)} entered uncentred"
    if grand:
        text += (", so the intercept and the time slope are those of a patient of a therapist "
                 f"at the mean of every {'centred ' if uncentred else ''}predictor")
    if text:
        text += ("; therapist-level predictors enter the therapist-level equations, "
                 "patient-level ones the patient-level equations.")
    for covariate, parts_of in decomposed.items():
        within, between = parts_of
        text += (
            f" {humanize(covariate)} was centred within therapists (group-mean centring): "
            f"{within} is a patient's deviation from the mean of their therapist's patients "
            f"(a patient-level predictor), and {between} that therapist mean, grand-mean "
            "centred over the therapists (a therapist-level predictor); both entered with "
            "their interactions with time, separating the within-therapist from the "
            "between-therapist effect."
        )
    return text.strip()


def interval_levels_sentence(results: Mapping[str, Any]) -> str:
    """The level and kind of every interval the report shows."""
    parts = []
    confidence = lookup(results, "meta", "config", "models", "confidence")
    if isinstance(confidence, int | float):
        parts.append(f"fixed effects: {100 * confidence:g}% confidence intervals (t "
                     "distribution with the degrees of freedom of the t tests)")
    levels = sorted({float(entry["icc_intervals"]["level"])
                     for entry in (lookup(results, "models", "null") or {}).values()
                     if isinstance(entry, Mapping)
                     and isinstance(entry.get("icc_intervals"), Mapping)
                     and entry["icc_intervals"].get("level") is not None})
    if levels:
        parts.append("variance components and shares: "
                     + " and ".join(f"{100 * level:g}%" for level in levels)
                     + " parametric-bootstrap intervals")
    if lookup(results, "efa", "reliability"):
        parts.append("Cronbach's \u03b1: 95% intervals (Feldt, 1965)")
    rmsea_level = lookup(results, "efa", "fit", "rmsea_level")
    if isinstance(rmsea_level, int | float):
        parts.append(f"RMSEA: {100 * rmsea_level:g}% interval")
    return ("Interval levels: " + "; ".join(parts) + ".") if parts else ""


def _interval_sentence(results: Mapping[str, Any]) -> str:
    """How the intervals of the variance components and shares were computed (if recorded)."""
    null = lookup(results, "models", "null")
    recorded: list[Mapping[str, Any]] = [
        entry["icc_intervals"] for entry in (null.values() if isinstance(null, Mapping) else [])
        if isinstance(entry, Mapping) and isinstance(entry.get("icc_intervals"), Mapping)
    ]
    if not recorded:
        return ""
    samples = sorted({int(entry["n_boot"]) for entry in recorded if entry.get("n_boot")})
    if not samples:  # the large-sample intervals of a large design
        return (
            "Intervals for the variance components and the variance shares (ICCs) of the "
            f"unconditional growth models are {recorded[0].get('method')}, from the Hessian of "
            "the deviance: with this many therapists the parametric bootstrap's refits would "
            "add computing time but not accuracy."
        )
    count = f" ({' and '.join(apa.integer(n) for n in samples)} samples per model)"
    return (
        "Intervals for the variance components and the variance shares (ICCs) of the "
        f"unconditional growth models are {recorded[0].get('method')} percentile intervals"
        f"{count}, one-sided where an estimate lies on or next to the boundary (a variance at or "
        "near 0)."
    )
