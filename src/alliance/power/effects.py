"""Therapist-level predictors and the effects to be tested (raw and as Cohen's d).

A predictor ``x`` enters the growth model as ``... + g01 x + g11 x time``: ``g01`` is its
effect on the level (at the first wave, time 0) and ``g11`` on the growth. An effect is named
by its model term: ``x`` (level) or ``time:x`` (growth).

Standardised effects follow powerlmm's Cohen's d (Magnusson 2018, ``cohend`` with the default
``pretest_SD`` standardiser): the difference at the last wave between therapists one unit of
``x`` apart (1 SD of a normal predictor, therapists with and without a binary attribute),
divided by the total SD at the first wave ``s = sqrt(u0^2 + v0^2 + sigma^2)``::

    growth:  d = g11 * t_last / s        level:  d = g01 / s

(``t_last`` the coded time of the last wave; the level term's difference does not change
over time, so at the last wave it is still ``g01``.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from alliance.errors import SpecificationError

#: Predictor distributions.
PREDICTOR_DISTRIBUTIONS = ("normal", "binary")
#: Names used by the model itself.
RESERVED_NAMES = ("alliance", "time", "therapist", "patient", "Intercept")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Predictor:
    """A therapist-level predictor.

    Attributes
    ----------
    name : str
        Column name in the model (a Python identifier).
    distribution : {"normal", "binary"}
        ``normal``: standard normal scores (per SD, as the QPL factor scores). ``binary``: 0/1
        with exactly ``round(proportion * therapists)`` therapists at 1 in every replicate (a
        fixed allocation, as powerlmm's treatment arms).
    proportion : float
        Share of therapists at 1 (binary only).
    """

    name: str
    distribution: str = "normal"
    proportion: float = 0.5

    def __post_init__(self) -> None:
        check_name(self.name, f"predictors.{self.name}")
        if self.distribution not in PREDICTOR_DISTRIBUTIONS:
            raise SpecificationError(
                f"predictors.{self.name}.distribution is {self.distribution!r}; choose one of "
                f"{', '.join(PREDICTOR_DISTRIBUTIONS)}."
            )
        if not 0.0 < self.proportion < 1.0:
            raise SpecificationError(
                f"predictors.{self.name}.proportion is {self.proportion!r}, but it must lie "
                "strictly between 0 and 1."
            )

    @property
    def unit(self) -> str:
        """What one unit of the predictor is (for reports)."""
        return "1 SD" if self.distribution == "normal" else "1 vs 0"

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"distribution": self.distribution}
        if self.distribution == "binary":
            out["proportion"] = self.proportion
        return out


def check_name(name: str, field: str) -> None:
    """A predictor name must be a formula-safe identifier not used by the model."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise SpecificationError(
            f"{field}: {name!r} is not a valid predictor name; use letters, digits and "
            "underscores, starting with a letter (e.g. personal_burdens)."
        )
    if name in RESERVED_NAMES:
        raise SpecificationError(
            f"{field}: {name!r} is a name the model uses itself ({', '.join(RESERVED_NAMES)}); "
            "rename the predictor."
        )


@dataclass(frozen=True)
class Effect:
    """One tested fixed effect with its true value in both metrics.

    Attributes
    ----------
    term : str
        Model term, lme4 style: ``x`` (level) or ``time:x`` (growth).
    predictor : str
        The predictor ``x``.
    part : {"level", "growth"}
        What the predictor affects.
    value : float
        Raw coefficient (alliance units per unit of ``x``, per unit of time for growth).
    cohens_d : float
        Standardised effect (module docstring).
    """

    term: str
    predictor: str
    part: str
    value: float
    cohens_d: float


def parse_term(term: str, field: str) -> tuple[str, str]:
    """``"time:x"`` or ``"x:time"`` -> (``x``, "growth"); ``"x"`` -> (``x``, "level")."""
    parts = [part.strip() for part in str(term).split(":")]
    if len(parts) == 1:
        check_name(parts[0], field)
        return parts[0], "level"
    if len(parts) == 2 and "time" in parts and parts[0] != parts[1]:
        predictor = parts[1] if parts[0] == "time" else parts[0]
        check_name(predictor, field)
        return predictor, "growth"
    raise SpecificationError(
        f"{field}: {term!r} is not a term this design can test; write 'x' for the effect of a "
        "therapist-level predictor x on the level of the alliance or 'time:x' for its effect "
        "on the growth."
    )


def canonical_term(predictor: str, part: str) -> str:
    """The term as the engine names it: ``x`` or ``time:x``."""
    return predictor if part == "level" else f"time:{predictor}"


def standardiser(part: str, pretest_sd: float, last_time: float) -> float:
    """Raw coefficient per unit of Cohen's d: ``s / t_last`` (growth) or ``s`` (level)."""
    return pretest_sd / last_time if part == "growth" else pretest_sd


def make_effect(
    term: str, value: float, as_d: bool, pretest_sd: float, last_time: float, field: str
) -> Effect:
    """An :class:`Effect` from its raw value, or from its Cohen's d when ``as_d``."""
    predictor, part = parse_term(term, field)
    scale = standardiser(part, pretest_sd, last_time)
    raw = float(value) * scale if as_d else float(value)
    return Effect(canonical_term(predictor, part), predictor, part, raw,
                  raw / scale if scale > 0 else float(np.nan))
