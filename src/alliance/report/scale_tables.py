"""Tables of the psychometric part: factor loadings, reliability, therapist factor scores."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from alliance import apa
from alliance.report.apa_table import CI, Table, unavailable
from alliance.report.labels import humanize
from alliance.report.results_reader import factor_names, lookup
from alliance.report.score_scales import factor_scale, raw_reference_sds

LOADING_CUTOFF = 0.30


def therapist_factor_table(results: Mapping[str, Any]) -> Table:
    """Reference and study means and SDs of the therapist factor scores."""
    key, title = "therapist-factors", "Therapist Factor Scores"
    section = lookup(results, "therapist_factors")
    if not section:
        return unavailable(key, title, "No therapist factor scores in these results.")
    reference, study = section.get("reference") or {}, section.get("study") or {}
    rows = [
        {
            "Factor": humanize(name),
            "Reference|M": (reference.get(name) or {}).get("mean"),
            "Reference|SD": (reference.get(name) or {}).get("sd"),
            "Study therapists|M": (study.get(name) or {}).get("mean"),
            "Study therapists|SD": (study.get(name) or {}).get("sd"),
            "Study therapists|Min": (study.get(name) or {}).get("min"),
            "Study therapists|Max": (study.get(name) or {}).get("max"),
        }
        for name in factor_names(results) or list(study)
    ]
    note = " ".join(part for part in (factor_scale(results), raw_reference_sds(results)) if part)
    pairs = correlation_pairs(section.get("correlation"), factor_names(results))
    if pairs:
        note += " Correlation among the study therapists: " + "; ".join(pairs) + "."
    formats = {column: "number" for column in rows[0] if column != "Factor"} if rows else {}
    return Table(key, title, pd.DataFrame(rows), formats, note)


def correlation_pairs(correlation: Any, names: list[str]) -> list[str]:
    """``'A with B, r = −.25'`` for a single correlation or each pair of a matrix."""
    if correlation is None:
        return []
    if not isinstance(correlation, list):
        return [f"r = {apa.bounded(correlation)}"]
    labels = [humanize(name) for name in names] or [str(i + 1) for i in range(len(correlation))]
    return [
        f"{labels[i]} with {labels[j]}, r = {apa.bounded(correlation[i][j])}"
        for i in range(len(correlation))
        for j in range(i + 1, len(correlation))
    ]


def loadings_table(results: Mapping[str, Any]) -> Table:
    """Pattern loadings and communalities; loadings of at least .30 in absolute value in bold."""
    key, title = "loadings", "Factor Loadings of the Quality of Personal Life Items"
    efa = lookup(results, "efa")
    if not efa or not efa.get("loadings"):
        return unavailable(key, title, "No factor analysis in these results.")
    names = factor_names(results)
    communalities = efa.get("communalities") or {}
    marks = {
        marker["item"]: humanize(str(factor["factor"]))
        for factor in lookup(efa, "naming", "factors") or []
        for marker in factor.get("markers") or []
    }
    rows = []
    for entry in efa["loadings"]:
        row: dict[str, Any] = {"Item": entry["item"]}
        row.update({humanize(name): entry.get(name) for name in names})
        row["h\u00b2"] = communalities.get(entry["item"])
        if marks:
            row["Marker of"] = marks.get(entry["item"], "")
        rows.append(row)
    frame = pd.DataFrame(rows)
    loading_columns = [humanize(name) for name in names]
    bold = pd.DataFrame(False, index=frame.index, columns=frame.columns)
    for column in loading_columns:
        values = pd.to_numeric(frame[column], errors="coerce").abs().round(2)
        bold[column] = values >= LOADING_CUTOFF
    formats = {column: "bounded" for column in [*loading_columns, "h\u00b2"]}
    return Table(key, title, frame, formats, _loadings_note(efa, names), bold=bold)


def naming_note(naming: Mapping[str, Any] | None) -> str:
    """The evidence for each factor name: its source, Tucker congruence and marker loadings."""
    if not naming or not naming.get("factors"):
        return "The record does not say how the factors were named."
    parts = []
    for factor in naming["factors"]:
        name = str(factor["factor"])
        markers = factor.get("markers") or []
        own = [m[name] for m in markers if m.get(name) is not None]
        other = [abs(v) for m in markers for key, v in m.items()
                 if key not in ("item", "target", name) and v is not None]
        text = (f"{humanize(name)} is rotated factor {factor.get('efa_factor')} (Tucker "
                f"congruence with its target {apa.bounded(factor.get('congruence'))}")
        if own:
            text += (f"; its {len(own)} marker item(s) load {apa.bounded(min(own))} to "
                     f"{apa.bounded(max(own))} on it")
            if other:
                text += f" and at most {apa.bounded(max(other))} on the other factor"
        parts.append(text + ")")
    return (f"Factor names from {naming.get('evidence')}, required congruence "
            f"{apa.bounded(naming.get('min_congruence'))}: " + "; ".join(parts) + ".")


def _loadings_note(efa: Mapping[str, Any], names: list[str]) -> str:
    parts = [
        f"Pattern loadings from {efa.get('method', 'an unrecorded')} extraction with "
        f"{efa.get('rotation', 'unrecorded')} rotation, n = {apa.integer(efa.get('n_obs'))}. "
        "Loadings of .30 or more in absolute value are in bold. h\u00b2 = communality.",
        naming_note(efa.get("naming")),
    ]
    pairs = correlation_pairs(efa.get("factor_correlations"), names)
    if pairs:
        parts.append("Factor correlation: " + "; ".join(pairs) + ".")
    explained = efa.get("variance_explained") or []
    if explained:
        parts.append(
            "Variance explained: "
            + "; ".join(
                f"{humanize(str(row['factor']))} {apa.number(100 * row['proportion'], 1)}%"
                for row in explained
            )
            + f" (cumulative {apa.number(100 * explained[-1]['cumulative'], 1)}%)."
        )
    fit = efa.get("fit") or {}
    if fit.get("chi_square") is not None:
        level = fit.get("rmsea_level")
        rmsea_ci = (f"{100 * level:g}% CI" if isinstance(level, int | float)
                    else "CI (level not recorded)")
        parts.append(
            f"Model fit: \u03c7\u00b2({apa.degrees_of_freedom(fit.get('df'))}) = "
            f"{apa.number(fit['chi_square'])}, {apa.p_phrase(fit.get('p'))}, RMSEA = "
            f"{apa.bounded(fit.get('rmsea'), 3)}, {rmsea_ci} "
            f"{apa.interval(fit.get('rmsea_ci_low'), fit.get('rmsea_ci_high'), 'bounded3')}, "
            f"TLI = {apa.bounded(fit.get('tli'))}."
        )
    suggested = lookup(efa, "parallel_analysis", "suggested_factors")
    if suggested is not None:
        parts.append(f"Parallel analysis suggested {suggested} factor(s).")
    return " ".join(parts)


def reliability_table(results: Mapping[str, Any]) -> Table:
    """Cronbach's alpha with its confidence interval and omega total per factor."""
    key, title = "reliability", "Reliability of the Therapist Factor Scales"
    section = lookup(results, "efa", "reliability")
    if not section:
        return unavailable(key, title, "No reliability estimates in these results.")
    rows = [
        {
            "Scale": humanize(name),
            "Items": values.get("n_items"),
            "\u03b1": values.get("alpha"),
            f"{CI}|LL": values.get("alpha_ci_low"),
            f"{CI}|UL": values.get("alpha_ci_high"),
            "\u03c9 total": values.get("omega_total"),
        }
        for name, values in section.items()
    ]
    items = "; ".join(
        f"{humanize(name)}: {', '.join(values.get('items') or [])}"
        for name, values in section.items()
        if values.get("items")
    )
    note = (
        "\u03b1 = Cronbach's alpha with its 95% confidence interval; \u03c9 total = McDonald's "
        "omega total."
    )
    if items:
        note += f" Items: {items}."
    formats = {"Items": "integer", "\u03b1": "bounded", f"{CI}|LL": "bounded",
               f"{CI}|UL": "bounded", "\u03c9 total": "bounded"}
    return Table(key, title, pd.DataFrame(rows), formats, note)
