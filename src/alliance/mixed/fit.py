"""``fit``: the chain spec -> statistics -> objective -> optimise -> result, and nothing else."""

from __future__ import annotations

import time
import warnings
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from alliance.errors import BoundaryWarning, ConvergenceWarning, SpecificationError
from alliance.mixed.minimiser import SINGULAR_TOLERANCE, FitInfo, minimise
from alliance.mixed.objective import ProfiledDeviance
from alliance.mixed.parameters import ParameterLayout
from alliance.mixed.result import MixedResult
from alliance.mixed.spec import MixedModelSpec, build_spec
from alliance.mixed.statistics import compute_statistics

if TYPE_CHECKING:
    from alliance.mixed.marginal import Clustering

DF_METHODS = ("satterthwaite", "containment", "residual", "kenward-roger")

#: The df method of a result with CR2 cluster-robust standard errors.
ROBUST_DF_METHOD = "bell-mccaffrey"


def check_inference_options(
    df_method: str, *, reml: bool, robust: str | None = None, cluster: str | None = None
) -> None:
    """Refuse a df method, robust type or combination that ``fit`` cannot honour.

    Kenward-Roger is defined for REML fits only (lmerTest refuses ML fits too); CR2
    cluster-robust SEs come with their own Satterthwaite (Bell-McCaffrey) df, so they take no
    other df method; a cluster column only means something with robust SEs.
    """
    if df_method not in DF_METHODS:
        raise SpecificationError(f"df_method must be one of {DF_METHODS}, not '{df_method}'")
    if df_method == "kenward-roger" and not reml:
        raise SpecificationError(
            "Kenward-Roger df are defined for REML fits only; fit by REML or choose "
            "Satterthwaite df"
        )
    if robust is not None:
        # imported here: the robust and marginal-model modules (and scipy.linalg) are loaded
        # only by fits that ask for them
        from alliance.mixed.robust import ROBUST_TYPES

        if robust not in ROBUST_TYPES:
            raise SpecificationError(f"robust must be one of {ROBUST_TYPES}, not '{robust}'")
    if robust is not None and df_method != "satterthwaite":
        raise SpecificationError(
            f"robust='{robust}' tests with its own Satterthwaite (Bell-McCaffrey) df; "
            f"df_method '{df_method}' cannot be combined with it"
        )
    if cluster is not None and robust is None:
        raise SpecificationError(
            f"cluster='{cluster}' chooses the clusters of robust standard errors; "
            "ask for them with robust='cr2'"
        )


def fit(
    formula: str,
    data: pd.DataFrame,
    *,
    reml: bool = True,
    df_method: str = "satterthwaite",
    residual_groups: str | None = None,
    start: np.ndarray | None = None,
    confidence: float = 0.95,
    robust: str | None = None,
    cluster: str | None = None,
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
    df_method : {"satterthwaite", "containment", "residual", "kenward-roger"}
        Denominator df for the fixed-effect t tests: Satterthwaite as lmerTest, the HLM
        containment rule, ``n - p``, or Kenward-Roger as pbkrtest (REML only; the table's
        SEs are then those of the adjusted covariance, :mod:`alliance.mixed.kenward_roger`).
    residual_groups : str, optional
        Column whose levels each get their own residual variance (nlme's ``varIdent``).
    start : numpy.ndarray, optional
        Starting ``[theta, rho]``; lme4's default (identity factors) when omitted.
    confidence : float
        Level of the fixed-effect confidence intervals (t-based with the chosen df).
    robust : {"cr2"}, optional
        Cluster-robust standard errors: ``"cr2"`` gives the fixed-effects table clubSandwich's
        CR2 SEs with Satterthwaite (Bell-McCaffrey) df (:mod:`alliance.mixed.robust`); the
        result's ``df_method`` is then ``"bell-mccaffrey"``. Takes only the default df_method.
    cluster : str, optional
        With ``robust``: the column whose values are the independent clusters; it must hold
        whole groups of the outermost grouping factor. Default: that factor's groups.

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
    check_inference_options(df_method, reml=reml, robust=robust, cluster=cluster)
    spec = build_spec(formula, data, residual_groups=residual_groups)
    clustering = None
    if cluster is not None:
        from alliance.mixed.marginal import column_clustering

        clustering = column_clustering(spec, data, cluster)
    return fit_spec(spec, reml=reml, df_method=df_method, start=start, confidence=confidence,
                    began=began, robust=robust, clustering=clustering)


def fit_spec(
    spec: MixedModelSpec,
    *,
    reml: bool = True,
    df_method: str = "satterthwaite",
    start: np.ndarray | None = None,
    confidence: float = 0.95,
    began: float | None = None,
    robust: str | None = None,
    clustering: Clustering | None = None,
    inverse_hessian: np.ndarray | None = None,
) -> MixedResult:
    """Fit an already validated :class:`MixedModelSpec` (used by refits and the bootstrap).

    ``robust`` and ``clustering`` (from :func:`alliance.mixed.marginal.column_clustering`;
    the outermost groups when None) as in :func:`fit`; ``inverse_hessian``, with ``start``,
    the starting quasi-Newton matrix of a refit (:func:`alliance.mixed.minimiser.minimise`).
    """
    began = time.perf_counter() if began is None else began
    objective = ProfiledDeviance(compute_statistics(spec), ParameterLayout.from_spec(spec), reml)
    params, info = minimise(objective, start, inverse_hessian=inverse_hessian)
    if robust is not None:
        df_method = ROBUST_DF_METHOD
    return assemble(spec, objective, params, info, df_method, confidence, began, clustering)


def assemble(
    spec: MixedModelSpec,
    objective: ProfiledDeviance,
    params: np.ndarray,
    info: FitInfo,
    df_method: str,
    confidence: float,
    began: float,
    clustering: Clustering | None = None,
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
        clustering=clustering,
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
