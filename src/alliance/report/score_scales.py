"""One statement of the scale of each score the tables show, shared with the Methods text.

Two scores appear in the tables: the alliance (the mean item score of each rater's WAI form,
on the form's response scale) and the therapist factor scores, whose metric depends on how
their error was handled (results.json ``therapist_factors.correction`` and ``scale``):
Croon-corrected scores on the factors' own metric (the default), or, in a naive factor-score
regression, scores standardized on the reference sample. Every table note that shows or models a score names its scale
with these sentences, so that the tables and the Methods say the same thing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from alliance import apa
from alliance.report.labels import humanize
from alliance.report.results_reader import lookup

ALLIANCE_SCALE = (
    "Alliance = mean item score of each rater's Working Alliance Inventory form, on the form's "
    "response scale."
)
FACTOR_SCALES = {
    "croon": (
        "Therapist factor scores are Croon-corrected: calibrated to the factors' own metric "
        "under the reference measurement model (each factor has SD 1 in the reference "
        "population; the scores, being predictions, vary less), so factor effects are per SD of "
        "the factor and are not attenuated by the error in the scores."
    ),
    "none": (
        "Therapist factor scores are standardized on the reference sample (M = 0, SD = 1 among "
        "the reference therapists) and used as if measured without error (naive factor-score "
        "regression), so factor effects are per reference-sample SD of the scores."
    ),
}


def factor_scale(results: Mapping[str, Any]) -> str:
    """The sentence on the factor scores' scale for these results (naive when unrecorded)."""
    correction = lookup(results, "therapist_factors", "correction")
    return FACTOR_SCALES.get(str(correction), FACTOR_SCALES["none"])


def raw_reference_sds(results: Mapping[str, Any]) -> str:
    """``'SD of the raw scores in the reference sample: Personal Burdens 0.92; ...'`` or ''."""
    reference = lookup(results, "therapist_factors", "reference") or {}
    parts = [f"{humanize(str(name))} {apa.number(values['raw_sd'])}"
             for name, values in reference.items()
             if isinstance(values, Mapping) and values.get("raw_sd") is not None]
    if not parts:
        return ""
    return ("Before calibration or standardization, the factor scores had SD "
            + "; ".join(parts) + " in the reference sample.")
