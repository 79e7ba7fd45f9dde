"""Simulation-based power analysis for therapist-nested growth designs.

``power_analysis(design)`` draws studies of a :class:`PowerDesign` from the three-level growth
model, fits each with the engine (:mod:`alliance.mixed`), tests the therapist-level effects and
reports power with Monte Carlo CIs, the type I error under the null, bias and coverage, beside
the large-sample power (:func:`analytic_power`), on local processes or a Dask cluster.
"""

from alliance.power.analysis import DEFAULT_SEED, GRID_ALIASES, Grid, power_analysis
from alliance.power.analytic import (
    AnalyticPower,
    analytic_power,
    closed_form_variances,
    gls_covariance,
    z_power,
)
from alliance.power.caseload import Caseload
from alliance.power.design import DF_METHODS, PowerDesign
from alliance.power.effects import Effect, Predictor
from alliance.power.generate import Layout, draw_layout, draw_response
from alliance.power.model import ModelBuilder, model_formula
from alliance.power.power_result import PowerResult
from alliance.power.replicate import REPLICATE_COLUMNS, Task, replicate_rng, run_task
from alliance.power.schedule import Schedule, Treatment
from alliance.power.store import ReplicateStore
from alliance.power.summary import SUMMARY_COLUMNS, wilson_interval
from alliance.power.variance import VarianceComponents

__all__ = [
    "DEFAULT_SEED",
    "DF_METHODS",
    "GRID_ALIASES",
    "REPLICATE_COLUMNS",
    "SUMMARY_COLUMNS",
    "AnalyticPower",
    "Caseload",
    "Effect",
    "Grid",
    "Layout",
    "ModelBuilder",
    "PowerDesign",
    "PowerResult",
    "Predictor",
    "ReplicateStore",
    "Schedule",
    "Task",
    "Treatment",
    "VarianceComponents",
    "analytic_power",
    "closed_form_variances",
    "draw_layout",
    "draw_response",
    "gls_covariance",
    "model_formula",
    "power_analysis",
    "replicate_rng",
    "run_task",
    "wilson_interval",
    "z_power",
]
