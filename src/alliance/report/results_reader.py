"""Reading the results dictionary (docs/results-schema.md): tolerant of absent sections.

Every accessor returns ``None``, an empty list or a reason instead of raising when a section is
absent, so that the report can say what is missing rather than fail.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from alliance.report.labels import rater_label

#: Errors met when a section does not have the documented shape; the table or figure that
#: needed it is then shown as unavailable, with the error.
MALFORMED = (KeyError, TypeError, ValueError, AttributeError, IndexError)

MODEL_NAMES = {"null": "Unconditional growth", "growth": "Conditional growth",
               "joint": "Joint (both raters)"}


def lookup(results: Mapping[str, Any], *path: str) -> Any:
    """``results[path[0]][path[1]]...``, or ``None`` where any step is absent or null."""
    node: Any = results
    for key in path:
        if not isinstance(node, Mapping) or node.get(key) is None:
            return None
        node = node[key]
    return node


def confidence_level(results: Mapping[str, Any]) -> float | None:
    """The level of the models' intervals (``[models] confidence``), None when not recorded."""
    level = lookup(results, "meta", "config", "models", "confidence")
    if isinstance(level, int | float) and not isinstance(level, bool):
        return float(level)
    return None


def raters(results: Mapping[str, Any]) -> list[str]:
    """The raters in ``meta.raters``, else those of the growth models, in that order."""
    listed = lookup(results, "meta", "raters")
    if listed:
        return [str(rater) for rater in listed]
    return [str(rater) for rater in lookup(results, "models", "growth") or {}]


def factor_names(results: Mapping[str, Any]) -> list[str]:
    """The therapist factors: ``efa.factor_names``, else those of the forest data."""
    names = lookup(results, "efa", "factor_names")
    if names:
        return [str(name) for name in names]
    forest = lookup(results, "figures", "forest") or []
    return list(dict.fromkeys(str(row["factor"]) for row in forest))


def model_failure(entry: Any) -> str:
    """Why a model entry has no fit (``error`` if given), or ``""`` when it has one."""
    if isinstance(entry, Mapping) and isinstance(entry.get("fit"), Mapping):
        return ""
    if isinstance(entry, Mapping) and entry.get("error"):
        return f"the model could not be fitted ({entry['error']})"
    return "the model could not be fitted (no result recorded)"


def model_label(model: str) -> str:
    """A recorded model name for a table: ``growth (patient)`` or ``growth.patient`` ->
    ``'Conditional growth (patient-rated)'``; unknown names are kept."""
    match = re.fullmatch(r"(\w+)\s*(?:\((\w+)\)|[./:](\w+))", model.strip())
    if match and match.group(1) in MODEL_NAMES:
        rater = match.group(2) or match.group(3)
        return f"{MODEL_NAMES[match.group(1)]} ({rater_label(rater).lower()})"
    return MODEL_NAMES.get(model, model)


def model_fits(results: Mapping[str, Any]) -> list[tuple[str, str, Any]]:
    """Every model entry as (model name, rater or ``""``, entry), in the report's order."""
    models = lookup(results, "models") or {}
    listed: list[tuple[str, str, Any]] = []
    for name in ("null", "growth"):
        for rater in raters(results):
            if rater in (models.get(name) or {}):
                listed.append((name, rater, models[name][rater]))
    if models.get("joint") is not None:
        listed.append(("joint", "", models["joint"]))
    return listed
