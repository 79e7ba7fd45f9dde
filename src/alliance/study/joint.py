"""Step 5: both raters in one three-level model, and tests of patient-therapist differences.

The joint model (REML, chosen time coding) stacks the patient- and therapist-rated
administrations::

    alliance ~ 0 + rater + rater:time + rater:x + rater:time:x + ...
               + (0 + rater + rater:time | therapist/patient),   residual variance by rater

so that each rater has its own intercept, slope, predictor effects and residual variance, and
the four random effects (patient- and therapist-rated intercept and slope) are correlated at
the patient and at the therapist level: the cross-rater correlations say how far the two
perspectives agree about a patient's or a therapist's alliance.

The random part follows ``[models] random_effects`` of the per-rater models, term by term
(:func:`joint_random_terms`): a random intercept becomes the two raters' intercepts
(``rater``), a random time slope their two slopes (``rater:time``), and the bar and grouping
are kept. ``"full"`` gives the model above; ``"uncorrelated"`` (``||``) makes all four effects
of a level uncorrelated, the cross-rater ones included; ``"intercepts"`` gives
``(0 + rater | therapist/patient)``, the two raters' intercepts correlated. Occasion residuals of the two
raters at the same session are taken as independent (their covariance is absorbed by the
patient-level random effects only in part; see the recovery table for simulated data).

Difference tests (Wald): for an effect ``b`` of a therapist factor on level or growth,
``d = b_patient - b_therapist = L beta`` with ``L`` a contrast of +1 and -1, ``SE = sqrt(L V
L')`` with ``V`` the REML covariance of the fixed effects, ``t = d / SE`` on the df of the
contrast by :func:`alliance.mixed.inference.denominator_df`: Satterthwaite df (lmerTest's
``contest1D``) or, with ``df_method = "containment"``, the fewer containment df of the two
terms (the patient- and therapist-rated terms have the same place in the model, hence the same
df); ``p`` two-sided. ``statistic`` is that t (its square is the 1-df F). With
``df_method = "kenward-roger"`` or ``robust = "cr2"``, ``V`` is Kenward-Roger's adjusted or the
CR2 cluster-robust covariance (``MixedResult.vcov_fixed``) and the df are theirs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from alliance.errors import SpecificationError
from alliance.mixed import MixedResult, fit
from alliance.mixed.inference import denominator_df
from alliance.study.config import FACTOR_NAMES, RANDOM_EFFECTS, RATERS, ModelConfig
from alliance.study.models import AnalysisData

TEST_COLUMNS = ("effect", "patient", "therapist", "difference", "std_error", "statistic", "df",
                "p")


#: A bar term ``(effects | grouping)`` or ``(effects || grouping)`` of the random terms.
_BAR = re.compile(r"\(([^()|]*?)(\|\|?)([^()|]+)\)")


def joint_random_terms(terms: str = RANDOM_EFFECTS["full"]) -> str:
    """The joint model's random part for the per-rater random ``terms`` (module docstring).

    ``terms`` are lme4 random terms in ``1`` and ``time`` only, as the study configuration's
    reader checks them: ``(time | therapist/patient)`` ->
    ``(0 + rater + rater:time | therapist/patient)``, ``(1 | therapist:patient)`` ->
    ``(0 + rater | therapist:patient)``.
    """
    translated = []
    for lhs, bar, grouping in _BAR.findall(terms):
        parts = [part for part in lhs.replace(" ", "").replace("-", "+-").split("+") if part]
        intercept = not any(part in ("0", "-1") for part in parts)
        effects = (["rater"] if intercept else []) + (["rater:time"] if "time" in parts else [])
        translated.append(f"(0 + {' + '.join(effects)} {bar} {grouping.strip()})")
    return " + ".join(translated)


def joint_formula(predictors: tuple[str, ...], random_terms: str = RANDOM_EFFECTS["full"]) -> str:
    """The joint model's formula for ``predictors`` and the per-rater ``random_terms``
    (module docstring)."""
    fixed = ["0", "rater", "rater:time", *(f"rater:{x}" for x in predictors),
             *(f"rater:time:{x}" for x in predictors)]
    return f"alliance ~ {' + '.join(fixed)} + {joint_random_terms(random_terms)}"


def joint_term(rater: str, term: str) -> str:
    """The joint model's name of a per-rater model term: ``time:x`` -> ``raterpatient:time:x``."""
    prefix = f"rater{rater}"
    return prefix if term == "(Intercept)" else f"{prefix}:{term}"


@dataclass(frozen=True)
class JointModel:
    """The joint model and its patient-versus-therapist difference tests."""

    formula: str
    fit: MixedResult
    difference_tests: pd.DataFrame

    def to_dict(self) -> dict[str, Any]:
        return {
            "formula": self.formula,
            "fit": self.fit.to_dict(),
            "difference_tests": [
                {key: (value if key == "effect" else float(value)) for key, value in row.items()}
                for row in self.difference_tests.to_dict(orient="records")
            ],
        }


def fit_joint(analysis: AnalysisData, coding: str, config: ModelConfig) -> JointModel:
    """Fit the joint model under ``coding`` and test each factor effect's rater difference."""
    formula = joint_formula(analysis.predictors, config.random_terms)
    result = fit(formula, analysis.joint_frame(coding), residual_groups="rater",
                 df_method=config.df_method, confidence=config.confidence,
                 robust=config.robust_type)
    effects = [*FACTOR_NAMES, *(f"time:{x}" for x in FACTOR_NAMES)]
    return JointModel(formula=formula, fit=result,
                      difference_tests=difference_tests(result, effects, result.df_method))


def difference_tests(result: MixedResult, effects: list[str], df_method: str) -> pd.DataFrame:
    """Wald tests of ``patient - therapist`` for each per-rater term in ``effects``, with the
    df of ``df_method`` (the fit's own, or another one for the same fit)."""
    names = list(result.spec.fixed_names)
    contrasts = np.zeros((len(effects), len(names)))
    for row, effect in enumerate(effects):
        for rater, sign in zip(RATERS, (1.0, -1.0), strict=True):
            term = joint_term(rater, effect)
            if term not in names:
                raise SpecificationError(
                    f"the joint model has no term {term!r} (its terms: {', '.join(names)}); "
                    "the rater column must hold 'patient' and 'therapist'."
                )
            contrasts[row, names.index(term)] = sign
    difference = contrasts @ result.beta
    tested = result if result.df_method == df_method else replace(result, df_method=df_method)
    # the covariance that goes with the df: Kenward-Roger's adjusted or the CR2 one if chosen
    std_error = np.sqrt(np.einsum("ki,ij,kj->k", contrasts, tested.vcov_fixed, contrasts))
    df = denominator_df(tested, contrasts)
    statistic = difference / std_error
    estimates = result.fixed_effects.set_index("term")["estimate"]
    return pd.DataFrame({
        "effect": effects,
        "patient": [float(estimates[joint_term("patient", e)]) for e in effects],
        "therapist": [float(estimates[joint_term("therapist", e)]) for e in effects],
        "difference": difference,
        "std_error": std_error,
        "statistic": statistic,
        "df": df,
        "p": 2.0 * special.stdtr(df, -np.abs(statistic)),
    }, columns=list(TEST_COLUMNS))
