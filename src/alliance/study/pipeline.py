"""The study pipeline: configuration in, :class:`StudyResults` out.

``run_study`` reads and checks all data first (:mod:`.load`; and a truth file against the data
files it was simulated with, :mod:`.truth_check`: nothing is estimated before every check has
passed), then runs the steps in order: scoring -> therapist factors -> time codings
-> null models (with bootstrap intervals of their variance shares, seed ``config.seed`` for the
first rater and ``config.seed + 1`` for the second) -> growth models and the figures' data ->
model comparison (likelihood-ratio tests of null, unconditional and conditional growth models,
:mod:`.comparison`) -> joint model -> recovery (simulated data) -> findings. It never prints:
progress goes to the optional callback, warnings raised by the steps and every warning of every
reported fit are collected into ``meta.warnings``.
"""

from __future__ import annotations

import platform
import warnings
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

import numpy as np

import alliance
from alliance.errors import BoundaryWarning
from alliance.simulate.time_codings import SIMULATION_ORIGIN, TENS_OF_SESSIONS
from alliance.study.comparison import compare_models
from alliance.study.config import RATERS, StudyConfig
from alliance.study.estimable import require_estimable
from alliance.study.factors import therapist_factors
from alliance.study.figures import (
    caterpillar,
    forest,
    implied_trajectories,
    individual_trajectories,
    observed_trajectories,
    residual_diagnostics,
)
from alliance.study.findings import findings
from alliance.study.joint import JointModel, fit_joint
from alliance.study.load import StudyData, load_study
from alliance.study.models import (
    AnalysisData,
    GrowthModel,
    NullModel,
    analysis_data,
    compare_time_codings,
    fit_growth,
    fit_null,
)
from alliance.study.recovery import estimates, recovery_table, truth_axis_estimates
from alliance.study.scoring import ScoredStudy, score_study
from alliance.study.study_results import StudyResults
from alliance.study.truth_check import check_truth_matches

#: ``progress(description, completed, total)``: called before each step and once at the end.
Progress = Callable[[str, int, int], None]

STEPS = (
    "Reading and checking the data",
    "Scoring the WAI and QPL items",
    "Factor analysis of the reference sample",
    "Comparing time codings",
    "Null models",
    "Growth models",
    "Comparing models",
    "Joint model",
    "Parameter recovery",
    "Findings",
)
#: The first step that fits a mixed model: before it, nothing needs the compiled engine, so a
#: caller that must compile it first (a new installation) can do so here, after every check
#: of the configuration and the data.
FIRST_FITTING_STEP = STEPS[3]
#: Packages whose versions are recorded with the results.
PACKAGES = ("numpy", "scipy", "pandas", "formulaic", "numba", "typer", "rich", "jinja2",
            "matplotlib")


def run_study(
    config: StudyConfig,
    progress: Progress | None = None,
    figures_ready: Callable[[dict[str, Any]], None] | None = None,
) -> StudyResults:
    """Run the whole study described by ``config``.

    ``figures_ready``, when given, is called once the figures' data are complete (with the
    growth models), with the sections of the results that the report's figures read:
    ``meta`` (its warnings still empty), ``efa`` and ``figures``, as the final results hold
    them. The figures can then be drawn while the later steps run.

    Raises
    ------
    DataError
        A data file cannot be read or fails a check, or the models cannot be estimated on the
        rows analysed (raised before any model is fitted).
    SpecificationError
        The configuration, an instrument or a model cannot be used.
    """
    report = progress or (lambda description, completed, total: None)
    caught: list[str] = []
    total = len(STEPS)

    def step(index: int) -> AbstractContextManager[None]:
        report(STEPS[index], index, total)
        return _collecting(STEPS[index], caught)

    with step(0):
        data = load_study(config)
        if data.truth is not None:
            check_truth_matches(data.truth, config, {"reference_items": len(data.reference),
                                                     "therapists": len(data.therapists)})
    with step(1):
        scored = score_study(data)
    with step(2):
        factors = therapist_factors(data.reference, data.therapists, data.qpl, config.factors,
                                    config.seed, data.sources["reference"])
        analysis = analysis_data(data, scored, factors, config.therapist_covariates,
                                 config.patient_covariates, config.models.centering)
        analysis = analysis.timed(config.models.origin, config.models.time_unit)
        require_estimable(data, analysis)
    with step(3):
        comparison = compare_time_codings(analysis, config.models)
    coding = comparison.chosen
    with step(4):
        null = {rater: fit_null(analysis, rater, coding, config.models).with_intervals(
                    config.models.bootstrap_samples, config.seed + index, config.models.confidence,
                    config.models.variance_intervals)
                for index, rater in enumerate(RATERS)}
    with step(5):
        growth = {rater: fit_growth(analysis, rater, coding, config.models) for rater in RATERS}
        figures = {
            "observed_trajectories": observed_trajectories(analysis),
            "implied_trajectories": implied_trajectories(growth, analysis, coding),
            "forest": forest(growth),
            "caterpillar": caterpillar(null, config.models.confidence, config.show_identifiers),
            "individual_trajectories": individual_trajectories(analysis, config.seed),
            "residual_diagnostics": residual_diagnostics(growth),
        }
        if figures_ready is not None:
            figures_ready({"meta": _meta(config, coding, data.truth is not None, []),
                           "efa": factors.efa_dict(), "figures": figures})
    with step(6):
        model_comparison = {rater: compare_models(analysis, rater, coding, null[rater],
                                                  growth[rater], config.models.random_effects)
                            for rater in RATERS}
    with step(7):
        joint = fit_joint(analysis, coding, config.models)
    with step(8):
        recovery = None
        if data.truth is not None:
            # the models of the truth's time: its coding, origin and unit
            time = data.truth["time"]
            scale = str(time["coding"])
            truth_analysis = analysis.timed(str(time.get("origin", SIMULATION_ORIGIN)),
                                            float(time.get("unit", TENS_OF_SESSIONS)))
            fits = {**{rater: growth[rater].fit for rater in RATERS}, "joint": joint.fit}
            found = None
            if scale == coding:
                shift, factor = analysis.time_axis.affine_map(truth_analysis.time_axis, coding)
                found = truth_axis_estimates(fits, shift, factor)
            if found is None:
                # another coding, or models that are no reparameterisation: fit them again
                refits = {**{rater: fit_growth(truth_analysis, rater, scale, config.models).fit
                             for rater in RATERS},
                          "joint": fit_joint(truth_analysis, scale, config.models).fit}
                found = {name: estimates(fit) for name, fit in refits.items()}
            recovery = recovery_table(data.truth, {rater: found[rater] for rater in RATERS},
                                      found["joint"])
    with step(9):
        summary = data_summary(data, scored, analysis)
        sentences = findings(summary, factors, null, comparison, config.models.time_coding != "auto",
                             growth, joint, recovery, config.models.confidence)
    report("Done", total, total)
    caught.extend(w for w in _model_warnings(null, growth, joint) if w not in caught)
    return StudyResults(
        meta={**_meta(config, coding, data.truth is not None, caught),
              "time_definition": comparison.axis.definition(coding)},
        data_summary=summary,
        scoring=scored,
        factors=factors,
        analysis=analysis,
        time_coding=comparison,
        null=null,
        growth=growth,
        model_comparison=model_comparison,
        joint=joint,
        recovery=recovery,
        findings=tuple(sentences),
        figures=figures,
    )


def data_summary(data: StudyData, scored: ScoredStudy, analysis: AnalysisData) -> dict[str, Any]:
    """The ``data_summary`` section: sample sizes, sessions, every exclusion."""
    frame = analysis.frame
    sessions = np.unique(frame["session"].to_numpy())
    return {
        "n_reference_therapists": int(len(data.reference)),
        "n_therapists": int(frame["therapist"].nunique()),
        "n_patients": int(frame["patient"].nunique()),
        "n_administrations": {rater: int((frame["rater"] == rater).sum()) for rater in RATERS},
        "sessions": [int(s) if float(s).is_integer() else float(s) for s in sessions],
        "excluded": [*data.excluded, *scored.excluded, *analysis.excluded],
    }


def _model_warnings(null: dict[str, NullModel], growth: dict[str, GrowthModel],
                    joint: JointModel) -> list[str]:
    """Every warning of every reported fit, as ``step: model: warning``."""
    fits = [(STEPS[4], f"null model ({rater}-rated)", model.fit) for rater, model in null.items()]
    fits += [(STEPS[5], f"growth model ({rater}-rated)", model.fit)
             for rater, model in growth.items()]
    fits.append((STEPS[7], "joint model", joint.fit))
    return [f"{step}: {label}: {warning}" for step, label, fit in fits for warning in fit.warnings]


@contextmanager
def _collecting(step: str, caught: list[str]) -> Iterator[None]:
    """Keep the warnings a step raises (once each) instead of printing them.

    Singular fits (:class:`~alliance.errors.BoundaryWarning`) are not repeated here: every
    reported fit says so itself (``singular`` and ``warnings`` of its ``fit``).
    """
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        yield
    for record in records:
        if issubclass(record.category, BoundaryWarning):
            continue
        message = f"{step}: {record.message}"
        if message not in caught:
            caught.append(message)


def _meta(config: StudyConfig, coding: str, simulated: bool, caught: list[str]) -> dict[str, Any]:
    packages: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = None
    return {
        "alliance_version": alliance.__version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "seed": config.seed,
        "simulated": simulated,
        "config": config.to_dict(),
        "python": platform.python_version(),
        "packages": packages,
        "time_coding": coding,
        "raters": list(RATERS),
        "warnings": caught,
    }
