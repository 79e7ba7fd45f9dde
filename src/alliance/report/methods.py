"""The methods section: the three-level growth model in plain math, and the analysis in words.

Equations are HTML with ``<sub>``/``<sup>`` (no LaTeX, no script): sessions ``t`` within
patients ``i`` within therapists ``j``, written as in Raudenbush & Bryk (2002, ch. 8) and as the
reference study (Nissen-Lie et al., 2013) states its model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

from alliance.report import apa
from alliance.report.labels import humanize, rater_label, time_coding_label
from alliance.report.notices import model_name
from alliance.report.results import factor_names, lookup, model_fits
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


def _predictors(factors: list[str], first: str) -> Markup:
    """`` + γ_{first}1·F1_j + γ_{first}2·F2_j + ...`` for the therapist factors."""
    terms = [
        Markup("{}\u00b7{}").format(sub("\u03b3", f"{first}{k}"), sub(escape(humanize(name)), "j"))
        for k, name in enumerate(factors, start=1)
    ]
    return Markup("").join(Markup(" + ") + term for term in terms)


def growth_equations(factors: list[str]) -> list[Equation]:
    """Level 1 (sessions), level 2 (patients) and level 3 (therapists) of the growth model."""
    pi0, pi1 = sub("\u03c0", "0ij"), sub("\u03c0", "1ij")
    b00, b10 = sub("\u03b2", "00j"), sub("\u03b2", "10j")
    r0, r1, u0, u1 = sub("r", "0ij"), sub("r", "1ij"), sub("u", "00j"), sub("u", "10j")
    e = sub("e", "tij")
    return [
        Equation("Level 1 (sessions)", (
            Markup("{} = {} + {}\u00b7{} + {}").format(sub("Y", "tij"), pi0, pi1,
                                                       sub("time", "tij"), e),
            Markup("{} ~ N(0, \u03c3<sup>2</sup>)").format(e),
        )),
        Equation("Level 2 (patients)", (
            Markup("{} = {} + {}").format(pi0, b00, r0),
            Markup("{} = {} + {}").format(pi1, b10, r1),
            Markup("({}, {}) ~ N(0, {})").format(r0, r1, sub("T", "\u03c0")),
        )),
        Equation("Level 3 (therapists)", (
            Markup("{} = {}{} + {}").format(b00, sub("\u03b3", "000"), _predictors(factors, "00"),
                                          u0),
            Markup("{} = {}{} + {}").format(b10, sub("\u03b3", "100"), _predictors(factors, "10"),
                                          u1),
            Markup("({}, {}) ~ N(0, {})").format(u0, u1, sub("T", "\u03b2")),
        )),
    ]


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
    wai = lookup(results, "scoring", "wai", "instrument") or {}
    if wai:
        parts.append(
            "Instruments: "
            + ", ".join(f"{rater_label(str(r)).lower()} {name}" for r, name in wai.items())
            + "."
        )
    if summary.get("n_reference_therapists") is not None:
        parts.append(
            "The therapist factors were derived from the Quality of Personal Life items answered "
            f"by a reference sample of {_plural(summary['n_reference_therapists'], 'therapist')}."
        )
    return " ".join(parts)


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
        f"Time: {time_coding_label(lookup(results, 'meta', 'time_coding'))}; the coding was "
        "chosen by comparing maximum-likelihood fits of the unconditional growth model."
    )
    fits = [entry["fit"] for _, _, entry in model_fits(results)
            if isinstance(entry, Mapping) and isinstance(entry.get("fit"), Mapping)]
    methods = sorted({str(fit.get("method")) for fit in fits if fit.get("method")})
    df_methods = sorted({DF_METHODS.get(str(fit["df_method"]), str(fit["df_method"]))
                         for fit in fits if fit.get("df_method")})
    if methods:
        parts.append(
            f"Models were estimated by {' and '.join(methods)}"
            + (f", with {' and '.join(df_methods)} degrees of freedom for the t tests"
               if df_methods else "")
            + ". Each rater's alliance was modelled separately (sessions within patients "
            "within therapists, random intercepts and time slopes at both upper levels); a joint "
            "model of both raters tested whether the factor effects differ between them."
        )
    parts.append(_interval_sentence(results))
    return " ".join(part for part in parts if part)


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
    count = f" ({' and '.join(apa.integer(n) for n in samples)} samples per model)" if samples \
        else ""
    return (
        "Intervals for the variance components and the variance shares (ICCs) of the "
        f"unconditional growth models are {recorded[0].get('method')} percentile intervals"
        f"{count}, one-sided where an estimate lies on or next to the boundary (a variance at or "
        "near 0)."
    )
