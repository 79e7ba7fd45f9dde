"""Readable names for the variables, terms, raters and grouping levels of a results dictionary."""

from __future__ import annotations

import re

from alliance.apa import integer

RATER_LABELS = {"patient": "Patient-rated", "therapist": "Therapist-rated"}

TIME_CODINGS = {
    "log": "log time (growth per unit of log session)",
    "linear": "linear time (growth per time unit)",
}
TIME_ORIGINS = {
    "first-assessment": "time 0 at the first assessment",
    "session-1": "time 0 at session 1",
}

_SPECIAL_TERMS = {"(Intercept)": "Intercept", "time": "Time"}


def humanize(name: str) -> str:
    """``personal_burdens -> 'Personal Burdens'``; other words keep their case."""
    words = name.replace("_", " ").split()
    return " ".join(word[:1].upper() + word[1:] for word in words)


def rater_label(rater: str) -> str:
    """``patient -> 'Patient-rated'``; unknown raters are humanized."""
    return RATER_LABELS.get(rater, humanize(rater))


def _term_part(part: str) -> str:
    if part in _SPECIAL_TERMS:
        return _SPECIAL_TERMS[part]
    if part.startswith("rater") and part[len("rater"):] in RATER_LABELS:
        return RATER_LABELS[part[len("rater"):]]
    return humanize(part)


def term_label(term: str) -> str:
    """An lme4 term name for a table: ``time:personal_burdens -> 'Time × Personal Burdens'``.

    Terms of a joint model of both raters read ``raterpatient:time -> 'Patient-rated × Time'``;
    variance parameters (``var(...)``, ``cov(...)``) are kept as written, with ``Intercept``
    for ``(Intercept)``.
    """
    if re.fullmatch(r"(var|cov|sd|cor)\(.*\)", term):
        return term.replace("(Intercept)", "Intercept")
    return " \u00d7 ".join(_term_part(part) for part in term.split(":"))


def group_label(group: str) -> str:
    """A grouping level: ``patient:therapist -> 'Patients (within therapists)'``."""
    if group == "Residual":
        return "Occasions (residual)"
    parts = group.split(":")
    if len(parts) == 1:
        return humanize(group) + "s"
    inner, outer = parts[0], parts[-1]
    return f"{humanize(inner)}s (within {outer}s)"


def group_count_label(group: str, count: object) -> str:
    """Groups of a fit, counted: ``('patient:therapist', 227) -> '227 patients'``.

    The count and the noun are joined by a no-break space, so a table cell breaks only between
    groups.
    """
    name = group.split(":")[0].replace("_", " ")
    return f"{integer(count)}\u00a0{name}{'' if count == 1 else 's'}"


def time_coding_label(coding: str | None) -> str:
    """How the time variable was coded, in words."""
    if coding is None:
        return "time coding not recorded"
    return TIME_CODINGS.get(coding, f"time coded as '{coding}'")


def time_definition_label(coding: str | None, definition: str | None,
                          origin: str | None) -> str:
    """The coding with its formula and origin, e.g. ``log time (...), time = ln(session / 3),
    time 0 at the first assessment``; the coding alone when the formula is not recorded."""
    parts = [time_coding_label(coding)]
    if definition:
        parts.append(str(definition))
    if origin in TIME_ORIGINS:
        parts.append(TIME_ORIGINS[str(origin)])
    return ", ".join(parts)
