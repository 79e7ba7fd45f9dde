"""Step 5b: likelihood-ratio comparison of the null, unconditional and conditional growth models.

Each rater's rows under the chosen time coding are fitted by maximum likelihood as a nested
sequence, each model adding one kind of term to the one before it::

    null                  alliance ~ 1 + (1 | therapist/patient)              random intercepts
    fixed time            alliance ~ time + (1 | therapist/patient)           + fixed time slope
    patient slopes        alliance ~ time + (1 | therapist) + (time | patient:therapist)
    unconditional growth  alliance ~ time + (time | therapist/patient)        (the null model)
    conditional growth    alliance ~ time * (factors + covariates) + (time | therapist/patient)

Every model is compared with the one before it by ``chi2 = deviance_smaller - deviance_larger``
on ``df = n_params_larger - n_params_smaller`` (:func:`alliance.mixed.compare.lrt`, lme4's
``anova(m0, m1)``). The REML fits of the unconditional and conditional growth models are refitted
by ML first (:func:`alliance.mixed.compare.refit_ml`), as ``anova`` refits REML fits: REML
criteria of models with different fixed effects are not comparable. All models are ML fits, so
their deviance, AIC and BIC are comparable along the whole sequence.

Tests of fixed effects refer ``chi2`` to the chi-square distribution on ``df``. Tests of a
variance component (patient slopes, then therapist slopes: one added random effect with its
covariance with the intercept, ``df = 2``) put the null value on the boundary of the parameter
space (a variance of 0); their reference distribution is the 50:50 mixture
``0.5 chi2(df - 1) + 0.5 chi2(df)`` (Self & Liang 1987, J Am Stat Assoc 82, 605-610; Stram &
Lee 1994, Biometrics 50, 1171-1177), so ``p = 0.5 P(chi2_{df-1} > x) + 0.5 P(chi2_df > x)``
(``chi2_0`` is the point mass at 0). The sequence adds the slopes one level at a time because
the 50:50 mixture holds for one added random effect; adding both levels' slopes at once would
need a mixture with weights that depend on the information matrix. Checked against lme4's
``anova`` on tests/reference/data/alliance_sim.csv (tests/reference/model_comparison.json).

The sequence above is that of ``[models] random_effects = "full"``. The unconditional and
conditional growth models always carry the configured random structure
(:attr:`~alliance.study.config.ModelConfig.random_terms`); the smaller models depend on it
(:func:`comparison_sequence`, and the ``note`` of each rater's comparison says which was used):

* ``"uncorrelated"``: the same steps, the patient slopes uncorrelated with the intercepts
  (``(1 | therapist) + (time || patient:therapist)``), so each slope test adds one variance
  (``df = 1``, the mixture of ``chi2(0)`` and ``chi2(1)``);
* ``"intercepts"``: null, then the unconditional growth model (the fixed time slope; a test of
  fixed effects), then the conditional model: there are no random slopes to test;
* explicit random terms with a random intercept for therapists and for patients: null, fixed
  time, then the unconditional growth model, tested as one variance component (the mixture) if
  it adds random slopes at one level, and against the plain chi-square on ``df`` if it adds
  them at both levels at once (:data:`SEVERAL`: conservative for variances on the boundary, as
  the mixture's weights are not known; Stram & Lee 1994), as a fixed-effects test if it adds
  none; without an intercept at both levels the null model is not nested in it, and only the
  unconditional and conditional growth models are compared.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from scipy import special

from alliance.errors import SpecificationError
from alliance.mixed import MixedResult, fit
from alliance.mixed.compare import lrt, refit_ml
from alliance.study.config import RANDOM_EFFECTS
from alliance.study.models import AnalysisData, GrowthModel, NullModel, null_formula

FIXED = "fixed effects"
VARIANCE = "variance components"
#: Random slopes added at two levels at once (explicit random terms only).
SEVERAL = "variance components (two levels at once)"
#: Reference distribution of each kind of test, as the report names it.
REFERENCES = {
    FIXED: "chi-square",
    VARIANCE: "50:50 mixture of chi-square(df - 1) and chi-square(df)",
    SEVERAL: "chi-square (conservative for variances on the boundary)",
}
#: The models fitted here (name, formula, kind of its test against the previous model); the
#: unconditional and conditional growth models come from the pipeline's REML fits.
EXTRA_MODELS = (
    ("null", "alliance ~ 1 + (1 | therapist/patient)", None),
    ("fixed time", "alliance ~ time + (1 | therapist/patient)", FIXED),
    ("patient slopes", "alliance ~ time + (1 | therapist) + (time | patient:therapist)",
     VARIANCE),
)
UNCONDITIONAL = ("unconditional growth", VARIANCE)
CONDITIONAL = ("conditional growth", FIXED)
_UNCORRELATED_SLOPES = ("patient slopes",
                        "alliance ~ time + (1 | therapist) + (time || patient:therapist)",
                        VARIANCE)


def comparison_sequence(
    random_effects: str,
) -> tuple[tuple[tuple[str, str, str | None], ...], str, str]:
    """The smaller models, the kind of test of the unconditional growth model and a note, for
    ``[models] random_effects`` (a name or explicit random terms; module docstring)."""
    if random_effects == "full":
        return EXTRA_MODELS, UNCONDITIONAL[1], (
            "null, fixed time, patient slopes, unconditional and conditional growth")
    if random_effects == "uncorrelated":
        return (*EXTRA_MODELS[:2], _UNCORRELATED_SLOPES), UNCONDITIONAL[1], (
            "null, fixed time, uncorrelated patient slopes, unconditional growth with "
            "uncorrelated therapist slopes, conditional growth")
    if random_effects == "intercepts":
        return EXTRA_MODELS[:1], FIXED, (
            "null, unconditional growth (the fixed time slope; no random slopes to test), "
            "conditional growth")
    from alliance.mixed.formula import parse_formula

    terms = parse_formula(f"alliance ~ time + {random_effects}").random
    # True: a term of the therapist level, False: of the patient level
    intercepts = {term.grouping == ("therapist",) for term in terms if term.intercept}
    slopes = {term.grouping == ("therapist",) for term in terms if "time" in term.variables}
    if intercepts != {True, False}:
        return (), UNCONDITIONAL[1], (
            f"the configured random effects {random_effects} have no random intercept at "
            "both levels, so the null model is not nested in them: only the unconditional "
            "and conditional growth models are compared")
    if not slopes:
        return EXTRA_MODELS[:1], FIXED, (
            f"null, unconditional growth ({random_effects}: the fixed time slope, no random "
            "slopes to test), conditional growth")
    kind = VARIANCE if len(slopes) == 1 else SEVERAL
    return EXTRA_MODELS[:2], kind, (
        f"null, fixed time, unconditional growth ({random_effects}; {REFERENCES[kind]} test), "
        "conditional growth")


def mixture_p(chi_square: float, df: int) -> float:
    """Upper tail of ``0.5 chi2(df - 1) + 0.5 chi2(df)`` at ``chi_square`` (module docstring).

    ``chi2(0)`` is the point mass at 0: its upper tail is 1 at ``chi_square <= 0``, else 0.
    """
    if df < 1:
        raise SpecificationError(f"a variance-component test needs df >= 1, got {df}")
    lower = (1.0 if chi_square <= 0 else 0.0) if df == 1 else float(
        special.chdtrc(df - 1, chi_square))
    return 0.5 * lower + 0.5 * float(special.chdtrc(df, chi_square))


def compare_sequence(
    models: Sequence[tuple[str, MixedResult]], kinds: Sequence[str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Likelihood-ratio tests of each model against the one before it.

    Parameters
    ----------
    models
        ``(name, fit)`` in order, each nested in the next and fitted to the same rows; REML fits
        are refitted by ML.
    kinds
        For every model after the first, :data:`FIXED` or :data:`VARIANCE`: the kind of test
        against the previous model (module docstring).

    Returns
    -------
    models, tests
        ``{name, formula, n_params, deviance, aic, bic, singular}`` of each ML fit, and
        ``{smaller, larger, kind, reference, chi_square, df, p}`` plus the deviance, AIC and BIC
        of both models (``smaller_deviance``, ..., ``larger_bic``) of each comparison.
    """
    if len(kinds) != len(models) - 1:
        raise SpecificationError(f"{len(kinds)} test kinds for {len(models)} models")
    unknown = sorted(set(kinds) - set(REFERENCES))
    if unknown:
        raise SpecificationError(f"unknown test kind(s) {unknown}; use {sorted(REFERENCES)}")
    fits = [(name, refit_ml(result)) for name, result in models]
    listed = [{"name": name, "formula": result.spec.formula.formula,
               "n_params": int(result.n_parameters), "deviance": float(result.deviance),
               "aic": float(result.aic), "bic": float(result.bic),
               "singular": bool(result.singular)} for name, result in fits]
    tests = []
    for (small_name, small), (large_name, large), kind, small_row, large_row in zip(
            fits[:-1], fits[1:], kinds, listed[:-1], listed[1:], strict=True):
        if large.n_parameters <= small.n_parameters:
            raise SpecificationError(
                f"'{large_name}' ({large.n_parameters} parameters) does not extend "
                f"'{small_name}' ({small.n_parameters}); list the models smallest first")
        row = lrt(small, large, refit=False).iloc[1]
        chi_square, df = float(row["chisq"]), int(row["df"])
        tests.append({
            "smaller": small_name, "larger": large_name, "kind": kind,
            "reference": REFERENCES[kind], "chi_square": chi_square, "df": df,
            "p": mixture_p(chi_square, df) if kind == VARIANCE else float(row["p"]),
            **{f"smaller_{key}": small_row[key] for key in ("deviance", "aic", "bic")},
            **{f"larger_{key}": large_row[key] for key in ("deviance", "aic", "bic")},
        })
    return listed, tests


@dataclass(frozen=True)
class ModelComparison:
    """The model sequence of one rater and its likelihood-ratio tests (module docstring)."""

    rater: str
    models: tuple[dict[str, Any], ...]
    tests: tuple[dict[str, Any], ...]
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"method": "ML", "models": list(self.models), "tests": list(self.tests),
                "note": self.note}


def compare_models(
    analysis: AnalysisData, rater: str, coding: str, null: NullModel, growth: GrowthModel,
    random_effects: str = "full",
) -> ModelComparison:
    """Fit the smaller models of ``rater`` by ML and test the sequence of the module docstring.

    ``null`` must be the unconditional growth model with the random structure of
    ``random_effects`` (``[models] random_effects``) and ``growth`` the conditional one, both
    fitted to ``rater``'s rows under ``coding``.
    """
    expected = null_formula(RANDOM_EFFECTS.get(random_effects, random_effects))
    if null.formula != expected:
        raise SpecificationError(
            f"the unconditional growth model must be '{expected}', not '{null.formula}'")
    extra, unconditional_kind, note = comparison_sequence(random_effects)
    frame = analysis.rater_frame(rater, coding)
    models = [(name, fit(formula, frame, reml=False, df_method="residual"))
              for name, formula, _ in extra]
    models += [(UNCONDITIONAL[0], null.fit), (CONDITIONAL[0], growth.fit)]
    kinds = [kind for _, _, kind in extra[1:] if kind is not None]
    kinds += [unconditional_kind, CONDITIONAL[1]] if extra else [CONDITIONAL[1]]
    listed, tests = compare_sequence(models, kinds)
    return ModelComparison(rater=rater, models=tuple(listed), tests=tuple(tests),
                           note=f"Models compared: {note}.")
