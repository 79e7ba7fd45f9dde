"""Simulate a complete study of the reference design: raw item data plus the truth behind it.

Order of generation (each part has its own random stream, see :data:`STREAMS`):
a reference sample of therapists answers the QPL items; the study therapists are drawn from the
same population (true factor scores, QPL items, years of experience); patients are shared among
them (caseloads) with treatment lengths and pre-treatment severity; random effects and occasion
residuals give the latent patient- and therapist-rated alliance at every scheduled session;
WAI items are drawn from it, then responses go missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from alliance.defaults import SIMULATION_SEED as DEFAULT_SEED
from alliance.simulate.design import StudyDesign
from alliance.simulate.design_alliance import RATERS
from alliance.simulate.population import draw_factor_scores, draw_qpl_responses
from alliance.simulate.sample import allocate_caseloads, draw_gamma, draw_treatment_lengths
from alliance.simulate.trajectories import simulate_latent_alliance
from alliance.simulate.truth import build_truth
from alliance.simulate.wai_items import draw_missing, draw_wai_responses

#: Independent random streams, spawned in this order from ``SeedSequence(seed)``. New streams
#: are only ever appended, so that existing ones keep their numbers; and because each part
#: draws from its own stream, changing one part's size (e.g. the reference sample) leaves the
#: others unchanged.
STREAMS = (
    "reference",
    "therapist_factors",
    "therapist_items",
    "experience",
    "caseloads",
    "treatment_lengths",
    "severity",
    "therapist_effects",
    "patient_effects",
    "residuals",
    "wai_items",
    "missing",
)


@dataclass(frozen=True)
class SimulatedStudy:
    """Raw data of one simulated study, the truth behind them and the design that made them.

    Attributes
    ----------
    reference_items
        ``respondent``, then the QPL items (integers on the QPL scale): the reference sample.
    therapists
        ``therapist``, the QPL items and ``experience`` (years).
    patients
        ``patient``, ``therapist``, ``n_sessions`` and ``severity`` (pre-treatment).
    wai
        One row per scheduled administration and rater: ``therapist``, ``patient``, ``rater``
        (``"patient"``/``"therapist"``), ``session`` and the WAI items (nullable integers;
        all items missing for a missed administration).
    truth
        Every parameter and true value: see :func:`alliance.simulate.truth.build_truth` and the
        notes on metrics in :mod:`alliance.simulate.truth`.
    design
        The :class:`StudyDesign` simulated.
    """

    reference_items: pd.DataFrame
    therapists: pd.DataFrame
    patients: pd.DataFrame
    wai: pd.DataFrame
    truth: dict[str, Any]
    design: StudyDesign


def make_ids(prefix: str, count: int, min_width: int) -> list[str]:
    """``prefix`` + 1-based zero-padded numbers: ``make_ids("T", 70, 3) -> ["T001", ...]``."""
    width = max(min_width, len(str(count)))
    return [f"{prefix}{number:0{width}d}" for number in range(1, count + 1)]


def spawn_streams(seed: int) -> dict[str, np.random.Generator]:
    """One independent Generator per part of the simulation (:data:`STREAMS`)."""
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    return {
        name: np.random.default_rng(child) for name, child in zip(STREAMS, children, strict=True)
    }


def _items_frame(
    id_column: str, ids: list[str], items: tuple[str, ...], values: np.ndarray
) -> pd.DataFrame:
    frame = pd.DataFrame(values, columns=list(items))
    frame.insert(0, id_column, ids)
    return frame


def simulate_study(design: StudyDesign | None = None, seed: int = DEFAULT_SEED) -> SimulatedStudy:
    """Simulate one study of ``design`` (default: the reference study) from ``seed``.

    Deterministic: the same design and seed give identical data on any machine with the same
    numpy bit generators (PCG64). Checked in tests/simulate/test_study.py: shapes, ranges,
    caseload constraints, determinism, stream independence; and, over 20 seeds, that the
    default design shows the published pattern (Nissen-Lie et al., 2013).
    """
    design = StudyDesign.default() if design is None else design
    streams = spawn_streams(seed)
    qpl, sample = design.qpl, design.sample

    reference_scores = draw_factor_scores(qpl, streams["reference"], sample.n_reference)
    reference = _items_frame(
        "respondent",
        make_ids("R", sample.n_reference, 4),
        qpl.items,
        draw_qpl_responses(qpl, streams["reference"], reference_scores),
    )

    therapist_ids = make_ids("T", sample.n_therapists, 3)
    factor_scores = draw_factor_scores(qpl, streams["therapist_factors"], sample.n_therapists)
    therapists = _items_frame(
        "therapist",
        therapist_ids,
        qpl.items,
        draw_qpl_responses(qpl, streams["therapist_items"], factor_scores),
    )
    covariates = design.covariates
    experience = np.rint(
        np.minimum(
            draw_gamma(
                covariates.experience_mean,
                covariates.experience_sd,
                streams["experience"],
                sample.n_therapists,
            ),
            covariates.experience_max,
        )
    )
    therapists["experience"] = experience.astype(np.int64)

    # Patients are numbered in order of intake, not grouped by therapist.
    caseloads = allocate_caseloads(sample, streams["caseloads"])
    therapist_of_patient = streams["caseloads"].permutation(
        np.repeat(np.arange(sample.n_therapists), caseloads)
    )
    patient_ids = make_ids("P", sample.n_patients, 4)
    n_sessions = draw_treatment_lengths(
        design.treatment, streams["treatment_lengths"], sample.n_patients
    )
    severity = np.round(
        draw_gamma(
            covariates.severity_mean, covariates.severity_sd, streams["severity"], sample.n_patients
        ),
        2,
    )
    patients = pd.DataFrame(
        {
            "patient": patient_ids,
            "therapist": [therapist_ids[j] for j in therapist_of_patient],
            "n_sessions": n_sessions,
            "severity": severity,
        }
    )

    patient_predictors = np.column_stack(
        [
            factor_scores[therapist_of_patient],
            experience[therapist_of_patient] - covariates.experience_mean,
            severity - covariates.severity_mean,
        ]
    )
    latent = simulate_latent_alliance(
        design.alliance,
        design.predictors,
        patient_predictors,
        therapist_of_patient,
        sample.n_therapists,
        design.schedule,
        n_sessions,
        streams,
    )
    responses = draw_wai_responses(design.wai, latent.alliance, streams["wai_items"])
    missing_administration, missing_item = draw_missing(
        design.missing, responses.shape, streams["missing"]
    )
    wai = _wai_frame(
        design,
        latent.patient_index,
        latent.session,
        responses,
        missing_item,
        patient_ids,
        therapist_ids,
        therapist_of_patient,
    )

    scheduled = int(latent.session.size)
    counts = {
        "scheduled_administrations_per_rater": scheduled,
        "patients_without_administrations": int(
            sample.n_patients - np.unique(latent.patient_index).size
        ),
        **{
            f"missing_{rater}_administrations": int(missing_administration[:, column].sum())
            for column, rater in enumerate(RATERS)
        },
        "missing_items_in_completed_administrations": int(
            (missing_item & ~missing_administration[..., None]).sum()
        ),
    }
    truth = build_truth(
        design,
        seed,
        therapist_ids,
        factor_scores,
        latent.therapist_effects,
        patient_ids,
        latent.patient_effects,
        counts,
    )
    return SimulatedStudy(
        reference_items=reference,
        therapists=therapists,
        patients=patients,
        wai=wai,
        truth=truth,
        design=design,
    )


def _wai_frame(
    design: StudyDesign,
    patient_index: np.ndarray,
    session: np.ndarray,
    responses: np.ndarray,
    missing: np.ndarray,
    patient_ids: list[str],
    therapist_ids: list[str],
    therapist_of_patient: np.ndarray,
) -> pd.DataFrame:
    """Long table, one row per administration and rater, sorted by patient, rater, session."""
    n_administrations, n_raters, n_items = responses.shape
    rater_index = np.tile(np.arange(n_raters), n_administrations)
    rows_patient = np.repeat(patient_index, n_raters)
    rows_session = np.repeat(session, n_raters)
    order = np.lexsort((rows_session, rater_index, rows_patient))
    values = responses.reshape(-1, n_items)[order]
    absent = missing.reshape(-1, n_items)[order]
    patient_array = np.asarray(patient_ids, dtype=object)
    therapist_array = np.asarray(therapist_ids, dtype=object)
    rows = rows_patient[order]
    frame = pd.DataFrame(
        {
            "therapist": therapist_array[therapist_of_patient[rows]],
            "patient": patient_array[rows],
            "rater": np.asarray(RATERS, dtype=object)[rater_index[order]],
            "session": rows_session[order],
        }
    )
    for k, item in enumerate(design.wai.items):
        frame[item] = pd.arrays.IntegerArray(values[:, k].astype(np.int64), absent[:, k])
    return frame
