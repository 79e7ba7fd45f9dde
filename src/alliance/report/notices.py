"""Warnings the report shows near its top: exclusions, failed or non-converged and singular fits.

Nothing a reader should know is left in the JSON only: every exclusion counted in
``data_summary.excluded``, every warning the run recorded (``meta.warnings``), every model that
failed or ended on a boundary, and a disagreement between parallel analysis and the number of
factors analysed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from alliance import apa
from alliance.report.labels import humanize, rater_label
from alliance.report.results_reader import MODEL_NAMES, lookup, model_failure, model_fits


def model_name(name: str, rater: str) -> str:
    """``('growth', 'patient') -> 'Conditional growth model (patient-rated)'``."""
    label = MODEL_NAMES.get(name, humanize(name))
    return f"{label} model ({rater_label(rater).lower()})" if rater else f"{label} model"


def exclusion_notices(results: Mapping[str, Any]) -> list[str]:
    """One notice per exclusion step that removed rows."""
    notices = []
    for entry in lookup(results, "data_summary", "excluded") or []:
        rows = entry.get("rows") or 0
        if rows:
            notices.append(
                f"{apa.integer(rows)} row{'s' if rows != 1 else ''} excluded at step "
                f"\u201c{entry.get('step', 'unrecorded')}\u201d: "
                f"{entry.get('reason', 'no reason recorded')}."
            )
    return notices


#: The remedy for boundary fits, named by its configuration key.
SIMPLER_STRUCTURE = (
    "A boundary fit's variance shares and intervals are uncertain; a simpler random-effects "
    'structure may fit without it: [models] random_effects = "uncorrelated" or "intercepts" '
    "in the study configuration."
)


def model_notices(results: Mapping[str, Any]) -> list[str]:
    """Failed, non-converged and singular fits, and every warning a fit recorded."""
    notices = []
    any_singular = False
    for name, rater, entry in model_fits(results):
        label = model_name(name, rater)
        failure = model_failure(entry)
        if failure:
            notices.append(f"{label}: {failure}.")
            continue
        fit = entry["fit"]
        any_singular = any_singular or bool(fit.get("singular"))
        if fit.get("converged") is False:
            message = lookup(fit, "fit_info", "message") or "no message"
            notices.append(f"{label} did not converge ({message}).")
        notices.extend(f"{label}: {warning}." if not str(warning).endswith(".")
                       else f"{label}: {warning}" for warning in fit.get("warnings") or [])
        if fit.get("singular") and not any("singular" in str(w) for w in fit.get("warnings") or []):
            notices.append(f"{label}: boundary (singular) fit.")
    if any_singular:
        notices.append(SIMPLER_STRUCTURE)
    for entry in lookup(results, "models", "time_coding") or []:
        if entry.get("converged") is False:
            notices.append(
                f"Time-coding comparison: the {entry.get('coding')} coding of the "
                f"{rater_label(str(entry.get('rater'))).lower()} model did not converge."
            )
    return notices


def factor_notices(results: Mapping[str, Any]) -> list[str]:
    """Parallel analysis suggesting another number of factors than was analysed."""
    suggested = lookup(results, "efa", "parallel_analysis", "suggested_factors")
    names = lookup(results, "efa", "factor_names") or []
    if suggested is not None and names and suggested != len(names):
        return [
            f"Parallel analysis suggested {suggested} factor(s); the analysis used {len(names)}."
        ]
    return []


def run_notices(results: Mapping[str, Any]) -> list[str]:
    """Warnings the analysis raised on its way (``meta.warnings``), as recorded, except those
    of the model fits, which :func:`model_notices` lists beside their model."""
    of_fits = {str(warning) for _, _, entry in model_fits(results)
               for warning in (entry.get("fit") or {}).get("warnings") or []}
    return [str(warning) for warning in lookup(results, "meta", "warnings") or []
            if not any(str(warning).endswith(f": {text}") for text in of_fits)]


@dataclass(frozen=True)
class NoticeGroup:
    """Warnings of one kind, under a heading."""

    heading: str
    notices: tuple[str, ...]


def group_notices(results: Mapping[str, Any]) -> list[NoticeGroup]:
    """The non-empty groups of warnings: exclusions, then the run's, the models', the factors'."""
    groups = [
        NoticeGroup("Excluded data", tuple(exclusion_notices(results))),
        NoticeGroup("Recorded during the analysis", tuple(run_notices(results))),
        NoticeGroup("Model fits", tuple(model_notices(results))),
        NoticeGroup("Number of factors", tuple(factor_notices(results))),
    ]
    return [group for group in groups if group.notices]

