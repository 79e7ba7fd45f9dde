"""Linear mixed models for strictly nested data (sessions in patients in therapists).

The engine is a chain of typed stages: :func:`build_spec` (formula + data -> validated arrays)
-> :func:`compute_statistics` (per-group cross-products, one pass) -> :class:`ProfiledDeviance`
(deviance and exact gradient) -> :func:`minimise` -> :class:`MixedResult`.
"""

from alliance.mixed.bootstrap import BootstrapResult, parametric_bootstrap
from alliance.mixed.compare import likelihood_ratio_test, lrt
from alliance.mixed.fit import fit, fit_spec
from alliance.mixed.formula import parse_formula
from alliance.mixed.intervals import (
    confidence_intervals,
    profile_intervals,
    variance_parameters,
    wald_intervals,
)
from alliance.mixed.objective import ProfiledDeviance
from alliance.mixed.optimize import FitInfo, minimise
from alliance.mixed.predict import predict
from alliance.mixed.r_squared import RSquared, r_squared
from alliance.mixed.result import MixedResult
from alliance.mixed.spec import ModelSpec, build_spec
from alliance.mixed.statistics import compute_statistics

__all__ = [
    "BootstrapResult",
    "FitInfo",
    "MixedResult",
    "ModelSpec",
    "ProfiledDeviance",
    "RSquared",
    "build_spec",
    "compute_statistics",
    "confidence_intervals",
    "fit",
    "fit_spec",
    "likelihood_ratio_test",
    "lrt",
    "minimise",
    "parametric_bootstrap",
    "parse_formula",
    "predict",
    "profile_intervals",
    "r_squared",
    "variance_parameters",
    "wald_intervals",
]
