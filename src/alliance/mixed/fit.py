"""``fit``: the chain spec -> statistics -> objective -> optimise -> result, and nothing else."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd

from alliance.errors import BoundaryWarning, ConvergenceWarning, SpecificationError
from alliance.mixed.objective import ProfiledDeviance
from alliance.mixed.optimize import SINGULAR_TOLERANCE, FitInfo, minimise
from alliance.mixed.parameters import ParameterLayout
from alliance.mixed.result import MixedResult
from alliance.mixed.spec import ModelSpec, build_spec
from alliance.mixed.statistics import compute_statistics

DF_METHODS = ("satterthwaite", "containment", "residual")


def fit(
    formula: str,
    data: pd.DataFrame,
    *,
    reml: bool = True,
    df_method: str = "satterthwaite",
    residual_groups: str | None = None,
    start: np.ndarray | None = None,
    confidence: float = 0.95,
) -> MixedResult:
    """Fit a linear mixed model for strictly nested data.

    Parameters
    ----------
    formula : str
        lme4 syntax: fixed part with interactions and transforms, random parts
        ``(terms | g)``, ``(terms || g)``, ``(terms | g1/g2)``, ``(terms | g1:g2)``.
        Example: ``"wai ~ time * (burdens + satisfactions) + (time | therapist/patient)"``.
    data : pandas.DataFrame
        One row per observation. Rows with a missing value in a used column are excluded and
        counted (``result.n_dropped``).
    reml : bool
        REML (default, as lme4) or maximum likelihood.
    df_method : {"satterthwaite", "containment", "residual"}
        Denominator df for the fixed-effect t tests: Satterthwaite as lmerTest, the HLM
        containment rule, or ``n - p``.
    residual_groups : str, optional
        Column whose levels each get their own residual variance (nlme's ``varIdent``).
    start : numpy.ndarray, optional
        Starting ``[theta, rho]``; lme4's default (identity factors) when omitted.
    confidence : float
        Level of the fixed-effect confidence intervals (t-based with the chosen df).

    Returns
    -------
    MixedResult

    Notes
    -----
    Matches lme4::lmer and lmerTest (deviance, estimates, variance components, Satterthwaite
    df) on sleepstudy, Pastes, Dyestuff, Orthodont, Oxboys, Pixel and a three-level alliance
    study: see tests/mixed/test_lme4_parity.py.
    """
    began = time.perf_counter()
    if df_method not in DF_METHODS:
        raise SpecificationError(f"df_method must be one of {DF_METHODS}, not '{df_method}'")
    spec = build_spec(formula, data, residual_groups=residual_groups)
    return fit_spec(spec, reml=reml, df_method=df_method, start=start, confidence=confidence,
                    began=began)


def fit_spec(
    spec: ModelSpec,
    *,
    reml: bool = True,
    df_method: str = "satterthwaite",
    start: np.ndarray | None = None,
    confidence: float = 0.95,
    began: float | None = None,
) -> MixedResult:
    """Fit an already validated :class:`ModelSpec` (used by refits and the bootstrap)."""
    began = time.perf_counter() if began is None else began
    objective = ProfiledDeviance(compute_statistics(spec), ParameterLayout.from_spec(spec), reml)
    params, info = minimise(objective, start)
    return assemble(spec, objective, params, info, df_method, confidence, began)


def assemble(
    spec: ModelSpec,
    objective: ProfiledDeviance,
    params: np.ndarray,
    info: FitInfo,
    df_method: str,
    confidence: float,
    began: float,
) -> MixedResult:
    """Build the result at the optimum ``params``."""
    evaluation = objective.forward(params)
    deviance = objective.deviance_of(evaluation)
    sigma2 = evaluation.r2 / objective.residual_df
    sigma = float(np.sqrt(sigma2))
    vcov = sigma2 * evaluation.txx_inverse
    singular = _is_singular(objective.layout, params)
    result = MixedResult(
        spec=spec,
        method="REML" if objective.reml else "ML",
        params=params,
        beta=evaluation.beta,
        vcov_beta=vcov,
        sigma=sigma,
        deviance=deviance,
        df_method=df_method,
        confidence=confidence,
        singular=singular,
        fit_info=info,
        objective=objective,
        evaluation=evaluation,
        fit_seconds=time.perf_counter() - began,
    )
    if not info.converged:
        warnings.warn(info.warnings[0], ConvergenceWarning, stacklevel=3)
    if singular:
        warnings.warn("boundary (singular) fit: see result.warnings", BoundaryWarning,
                      stacklevel=3)
    return result


def _is_singular(layout: ParameterLayout, params: np.ndarray) -> bool:
    """lme4's ``isSingular``: a diagonal entry of a relative factor below 1e-4."""
    diagonal = layout.is_diagonal()[: layout.n_theta]
    return bool(np.any(params[: layout.n_theta][diagonal] < SINGULAR_TOLERANCE))
