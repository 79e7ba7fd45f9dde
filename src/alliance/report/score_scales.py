"""One statement of the scale of each score the tables show, shared with the Methods text.

Two scores appear in the tables: the alliance (the mean item score of each rater's WAI form,
on the form's response scale) and the therapist factor scores (standardized on the reference
sample: M = 0 and SD = 1 among the reference therapists; results.json
``therapist_factors.scale``). Every table note that shows or models a score names its scale
with these sentences, so that the tables and the Methods say the same thing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from alliance.report import apa
from alliance.report.labels import humanize
from alliance.report.results import lookup

ALLIANCE_SCALE = (
    "Alliance = mean item score of each rater's Working Alliance Inventory form, on the form's "
    "response scale."
)
FACTOR_SCALE = (
    "Therapist factor scores are standardized on the reference sample (M = 0, SD = 1 among the "
    "reference therapists), so factor effects are per reference-sample SD."
)


def raw_reference_sds(results: Mapping[str, Any]) -> str:
    """``'SD of the raw scores in the reference sample: Personal Burdens 0.92; ...'`` or ''."""
    reference = lookup(results, "therapist_factors", "reference") or {}
    parts = [f"{humanize(str(name))} {apa.number(values['raw_sd'])}"
             for name, values in reference.items()
             if isinstance(values, Mapping) and values.get("raw_sd") is not None]
    if not parts:
        return ""
    return ("Before standardization, the factor scores had SD " + "; ".join(parts)
            + " in the reference sample.")
