"""Linear mixed models for strictly nested data (sessions in patients in therapists).

The engine is a chain of typed stages: :func:`build_spec` (formula + data -> validated arrays)
-> :func:`compute_statistics` (per-group cross-products, one pass) -> :class:`ProfiledDeviance`
(deviance and exact gradient) -> :func:`minimise` -> :class:`MixedResult`.

Most names below are imported from their modules on first use (PEP 562), so that
``from alliance.mixed import fit`` does not pay for the bootstrap, the likelihood-ratio tests
or the profile intervals: a command-line fit starts in a fraction of a second less. ``fit``,
``predict`` and ``r_squared`` are imported at once: they share their names with their modules, and
importing such a module later would otherwise leave the module, not the function, under
the package's name.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from alliance.mixed.fit import fit, fit_spec
from alliance.mixed.predict import predict
from alliance.mixed.r_squared import RSquared, r_squared

if TYPE_CHECKING:
    from alliance.mixed.bootstrap import BootstrapResult, parametric_bootstrap
    from alliance.mixed.compare import likelihood_ratio_test, lrt
    from alliance.mixed.formula import parse_formula
    from alliance.mixed.intervals import (
        confidence_intervals,
        profile_intervals,
        variance_parameters,
        wald_intervals,
    )
    from alliance.mixed.minimiser import FitInfo, minimise
    from alliance.mixed.objective import ProfiledDeviance
    from alliance.mixed.result import MixedResult
    from alliance.mixed.spec import MixedModelSpec, build_spec
    from alliance.mixed.statistics import compute_statistics

#: Public name -> the module that defines it.
_HOMES = {
    "BootstrapResult": "bootstrap",
    "parametric_bootstrap": "bootstrap",
    "likelihood_ratio_test": "compare",
    "lrt": "compare",
    "parse_formula": "formula",
    "confidence_intervals": "intervals",
    "profile_intervals": "intervals",
    "variance_parameters": "intervals",
    "wald_intervals": "intervals",
    "ProfiledDeviance": "objective",
    "FitInfo": "minimiser",
    "minimise": "minimiser",
    "MixedResult": "result",
    "MixedModelSpec": "spec",
    "build_spec": "spec",
    "compute_statistics": "statistics",
}

__all__ = [
    "BootstrapResult",
    "FitInfo",
    "MixedResult",
    "MixedModelSpec",
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


def __getattr__(name: str) -> Any:
    """Import a public name from its module the first time it is asked for."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'alliance.mixed' has no attribute '{name}'")
    value = getattr(import_module(f"alliance.mixed.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOMES))
