"""Do the therapist-factor effects' intervals cover the truth? One simulated study's answer.

For one simulated study (written to a folder and read back with the example configuration,
as ``alliance replicate`` does), the therapist factors are scored under each factor-score
correction (``"croon"``, the default, and ``"none"``, the naive factor-score regression), the
growth models of both raters and the joint model are fitted on the truth's time scale, and
every therapist-factor effect is set beside its true value (exact on the mean-score metric,
:mod:`alliance.simulate.mean_score`): the level and growth effects of both factors for both
raters, and the joint model's patient-minus-therapist differences, whose interval is
``d +/- t(df) SE`` with the df of the difference test. ``benchmarks/factor_coverage.py``
repeats this over hundreds of seeds; the test suite over a few.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
from scipy import special

from alliance.simulate import SimulatedStudy, write_study
from alliance.simulate.time_codings import SIMULATION_ORIGIN, TENS_OF_SESSIONS
from alliance.study.config import FACTOR_NAMES, RATERS
from alliance.study.config_reader import example_config
from alliance.study.factors import therapist_factors
from alliance.study.joint import fit_joint
from alliance.study.load import load_study
from alliance.study.models import analysis_data, fit_growth
from alliance.study.scoring import score_study

#: The therapist-factor terms of each growth model.
FACTOR_TERMS = (*FACTOR_NAMES, *(f"time:{name}" for name in FACTOR_NAMES))
#: Factor-score corrections compared (``factors.correction``).
CORRECTIONS = ("croon", "none")
COVERAGE_COLUMNS = ("correction", "model", "effect", "true", "estimate", "ci_low", "ci_high")


def factor_effect_intervals(
    study: SimulatedStudy, folder: Path, corrections: tuple[str, ...] = CORRECTIONS,
    parallel_iterations: int = 1,
) -> pd.DataFrame:
    """Every therapist-factor effect of one study beside its true value, per correction.

    Parameters
    ----------
    study
        A study of :func:`alliance.simulate.simulate_study` (its design names its factors
        ``personal_satisfactions`` and ``personal_burdens``, odd QPL items satisfactions).
    folder
        A new folder to write the study into.
    corrections
        Values of ``factors.correction`` to compare.
    parallel_iterations
        Parallel-analysis draws of the factor analysis (not used by the effects).

    Returns
    -------
    pandas.DataFrame
        One row per correction, model (``growth (patient)``, ``growth (therapist)``,
        ``joint difference``) and effect: :data:`COVERAGE_COLUMNS`.
    """
    write_study(study, folder)
    config = example_config(folder).with_seed(int(study.truth["seed"]))
    data = load_study(config)
    scored = score_study(data)
    coding = str(study.truth["time"]["coding"])
    fixed = study.truth["fixed_effects"]
    rows: list[tuple[Any, ...]] = []
    for correction in corrections:
        settings = replace(config.factors, correction=correction,
                           parallel_iterations=parallel_iterations)
        factors = therapist_factors(data.reference, data.therapists, data.qpl, settings,
                                    config.seed, "reference")
        # the truth's time axis (its origin and unit), so that the level effects are the
        # truth's: time 0 at session 1 in the simulation, not at the first assessment
        time = study.truth["time"]
        analysis = analysis_data(data, scored, factors, config.therapist_covariates,
                                 config.patient_covariates).timed(
            str(time.get("origin", SIMULATION_ORIGIN)),
            float(time.get("unit", TENS_OF_SESSIONS)))
        for rater in RATERS:
            table = fit_growth(analysis, rater, coding, config.models).fit.fixed_effects
            table = table.set_index("term")
            rows += [
                (correction, f"growth ({rater})", term, fixed[rater][term],
                 table.loc[term, "estimate"], table.loc[term, "ci_low"],
                 table.loc[term, "ci_high"])
                for term in FACTOR_TERMS
            ]
        tests = fit_joint(analysis, coding, config.models).difference_tests
        for test in tests.itertuples(index=False):
            half = special.stdtrit(test.df, 0.5 + config.models.confidence / 2) * test.std_error
            true = fixed[RATERS[0]][test.effect] - fixed[RATERS[1]][test.effect]
            rows.append((correction, "joint difference", test.effect, true, test.difference,
                         test.difference - half, test.difference + half))
    return pd.DataFrame(rows, columns=list(COVERAGE_COLUMNS))
