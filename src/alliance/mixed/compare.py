"""Likelihood-ratio tests between nested mixed models (lme4's ``anova(m0, m1)``).

For nested models fitted to the same rows, ``chisq = deviance_smaller - deviance_larger`` on
``df = n_params_larger - n_params_smaller`` degrees of freedom, referred to a chi-square
distribution. Models fitted by REML are refitted by maximum likelihood first, as lme4's
``anova`` does ("refitting model(s) with ML (instead of REML)"): REML criteria of models with
different fixed effects are likelihoods of different data (the residual contrasts differ)
and cannot be compared. Checked against ``anova(m0, m1)`` for sleepstudy
``(1 | Subject)`` against ``(Days | Subject)`` (tests/reference/mixed/sleepstudy_lrt.json:
chisq 42.139299 on 2 df).

Boundary caveat: when the smaller model sets a variance to zero, the null value lies on the
boundary of the parameter space and the chi-square reference is conservative (p too large).
For one variance the null distribution is the mixture ``0.5 chi2(df - 1) + 0.5 chi2(df)``
(Self & Liang 1987, J Am Stat Assoc 82, 605-610; Stram & Lee 1994, Biometrics 50,
1171-1177); lme4 and this function report the plain chi-square p value.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import special

from alliance.errors import SpecificationError
from alliance.mixed.fit import fit_spec
from alliance.mixed.minimiser import SINGULAR_TOLERANCE
from alliance.mixed.parameters import ParameterLayout
from alliance.mixed.result import MixedResult

LRT_COLUMNS = ["model", "n_params", "aic", "bic", "loglik", "deviance", "chisq", "df", "p"]


#: Where a refit restarts a relative SD that ended at zero.
INTERIOR_START = 0.1


def interior_start(layout: ParameterLayout, params: np.ndarray) -> np.ndarray:
    """``params`` with diagonal factor entries at zero moved to :data:`INTERIOR_START`.

    The deviance is even in a lone random effect's SD, so its gradient vanishes at zero: a
    gradient-based refit started there could never leave the boundary, whatever the new data
    or criterion say. A refit (ML after REML, a bootstrap replicate, a profile step) therefore
    starts from the previous optimum with such entries moved inside.
    """
    start = np.array(params, dtype=float)
    stuck = layout.is_diagonal() & (start < SINGULAR_TOLERANCE)
    start[stuck] = INTERIOR_START
    return start


def refit_ml(result: MixedResult) -> MixedResult:
    """The same model fitted by maximum likelihood, started from ``result``'s optimum and its
    search's curvature.

    A result that is already an ML fit is returned unchanged. Warnings of the refit
    (convergence, boundary) stay in the returned result's ``warnings``.
    """
    if not result.reml:
        return result
    start = interior_start(result.objective.layout, result.params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit_spec(result.spec, reml=False, df_method=result.df_method, start=start,
                        inverse_hessian=result.fit_info.inverse_hessian)


def _same_data(first: MixedResult, second: MixedResult) -> bool:
    a, b = first.spec, second.spec
    return (
        a.n_obs == b.n_obs
        and a.response == b.response
        and np.array_equal(a.row_index, b.row_index)
        and np.array_equal(a.y, b.y)
    )


def _check_comparable(results: Sequence[MixedResult], refit: bool) -> None:
    if len(results) < 2:
        raise SpecificationError(
            f"a likelihood-ratio test needs at least two models, got {len(results)}"
        )
    first = results[0]
    for other in results[1:]:
        if not _same_data(first, other):
            raise SpecificationError(
                "the models were not fitted to the same observations: "
                f"'{first.spec.formula.formula}' uses {first.n_obs} rows of "
                f"'{first.spec.response}', '{other.spec.formula.formula}' uses {other.n_obs} rows "
                f"of '{other.spec.response}'. Fit both to the same rows (drop the rows with "
                "missing values in any variable of either model first)"
            )
    if refit:
        return
    methods = {result.method for result in results}
    if len(methods) > 1:
        raise SpecificationError(
            "the models were fitted by different methods (REML and ML); use refit=True to "
            "compare their maximum-likelihood fits"
        )
    if methods == {"REML"}:
        names = {result.spec.fixed_names for result in results}
        if len(names) > 1 or any(
            result.spec.x.shape != first.spec.x.shape or not np.allclose(result.spec.x, first.spec.x)
            for result in results[1:]
        ):
            raise SpecificationError(
                "REML criteria can be compared only between models with identical fixed "
                f"effects; these have {[list(n) for n in names]}. Use refit=True (the "
                "default) to compare maximum-likelihood fits"
            )


def lrt(
    *results: MixedResult, refit: bool = True, names: Sequence[str] | None = None
) -> pd.DataFrame:
    """Likelihood-ratio tests of a sequence of nested models, like lme4's ``anova(m0, m1, ...)``.

    Models are ordered by their number of parameters and each is tested against the one
    before it (see the module docstring for the statistic and its boundary caveat).

    Parameters
    ----------
    *results : MixedResult
        Two or more models fitted to the same rows, each nested in the next larger one.
        Nesting of the formulas is the caller's responsibility (as in lme4).
    refit : bool
        Refit REML fits by maximum likelihood (default, as lme4). ``refit=False`` compares
        the fits as they are, which for REML fits is valid only when the fixed effects are
        identical (checked).
    names : sequence of str, optional
        Labels of the models, in the order given; their formulas by default.

    Returns
    -------
    pandas.DataFrame
        One row per model, smallest first: model, n_params, aic, bic, loglik, deviance
        (``-2 logLik`` of the compared fits; the REML criterion when ``refit=False`` on REML
        fits), and for every model after the first chisq, df, p against the previous one.
    """
    _check_comparable(results, refit)
    labels = list(names) if names is not None else [r.spec.formula.formula for r in results]
    if len(labels) != len(results):
        raise SpecificationError(f"{len(labels)} names for {len(results)} models")
    compared = [refit_ml(result) if refit else result for result in results]
    order = sorted(range(len(compared)), key=lambda i: compared[i].n_parameters)
    rows = []
    previous: MixedResult | None = None
    for index in order:
        model = compared[index]
        row: dict[str, object] = {
            "model": labels[index], "n_params": model.n_parameters, "aic": model.aic,
            "bic": model.bic, "loglik": model.loglik, "deviance": model.deviance,
            "chisq": np.nan, "df": np.nan, "p": np.nan,
        }
        if previous is not None:
            df = model.n_parameters - previous.n_parameters
            chisq = max(previous.deviance - model.deviance, 0.0)
            row.update(chisq=chisq, df=df, p=float(special.chdtrc(df, chisq)) if df > 0 else np.nan)
        rows.append(row)
        previous = model
    return pd.DataFrame(rows, columns=LRT_COLUMNS)


def likelihood_ratio_test(
    smaller: MixedResult, larger: MixedResult, *, refit: bool = True
) -> pd.DataFrame:
    """Likelihood-ratio test of ``smaller`` nested in ``larger``: :func:`lrt` of the two.

    Example: ``likelihood_ratio_test(fit("y ~ x + (1 | g)", d), fit("y ~ x + (x | g)", d))``
    gives lme4's ``anova(m0, m1)`` (both refitted by ML), chisq and p in the second row.
    Testing a variance against zero puts the null on the boundary: the chi-square p value is
    then conservative (see the module docstring).
    """
    if smaller.n_parameters > larger.n_parameters:
        raise SpecificationError(
            f"the smaller model has {smaller.n_parameters} parameters and the larger "
            f"{larger.n_parameters}; pass the smaller (nested) model first"
        )
    return lrt(smaller, larger, refit=refit)
