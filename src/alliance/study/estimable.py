"""Whether the study's models can be estimated on the rows analysed, said in the user's terms.

Run after scoring and the factor scores, before any model is fitted: a study whose models
cannot be estimated is refused with what it needs and what the data have, naming the rater,
the file and the configuration entry, never a formula the user did not write. Each rater's
growth models need

- administrations with a WAI total score;
- at least two therapists (the variance between therapists);
- WAI at two or more different sessions (growth);

and every predictor (factor score, covariate) must differ between the therapists (patients)
analysed, or its effect cannot be estimated.
"""

from __future__ import annotations

import numpy as np

from alliance.errors import DataError
from alliance.study.config import RATERS
from alliance.study.load import StudyData
from alliance.study.models import AnalysisData


def require_estimable(data: StudyData, analysis: AnalysisData) -> None:
    """Refuse, before any fit, a study whose models cannot be estimated.

    Raises
    ------
    DataError
        Naming the rater, the file and what the study needs.
    """
    frame = analysis.frame
    for rater in RATERS:
        source = data.wai[rater].source
        rows = frame.loc[frame["rater"] == rater]
        if rows.empty:
            raise DataError(
                f"{source}: no {rater}-rated administration has a WAI total score (its items "
                "are empty, too many are missing, or its therapist has no factor score), so "
                f"the {rater}-rated alliance cannot be analysed. Check that wai.{rater} reads "
                "the right file and item columns (item_prefix or items)."
            )
        therapists = rows["therapist"].unique()
        if len(therapists) < 2:
            raise DataError(
                f"{source}: the {rater}-rated administrations come from {len(therapists)} "
                "therapist only; differences between therapists need at least two (studies of "
                "therapist effects have dozens). Add the other therapists' data."
            )
        sessions = np.unique(rows["session"].to_numpy(dtype=float))
        if len(sessions) < 2:
            raise DataError(
                f"{source}: every {rater}-rated administration is at session {sessions[0]:g}; "
                "the growth of the alliance needs WAI at two or more different sessions."
            )
    for name in analysis.predictors:
        values = frame[name].to_numpy(dtype=float)
        if len(values) and np.ptp(values) == 0:
            raise DataError(
                f"{_describe(data, name)} has the same value "
                f"({values[0] + analysis.centres.get(name, 0.0):g}) for every "
                f"{'patient' if name in _patient_covariates(data) else 'therapist'} analysed, "
                "so its effect cannot be estimated. Remove it from the configuration or check "
                "the file."
            )


def _patient_covariates(data: StudyData) -> set[str]:
    patients = data.patients
    return set() if patients is None else set(patients.columns) - {"patient", "therapist", "row"}


def _describe(data: StudyData, name: str) -> str:
    if name in _patient_covariates(data):
        return f"{data.sources['patients']}: patient covariate {name!r}"
    if name in data.therapists.columns:
        return f"{data.sources['therapists']}: therapist covariate {name!r}"
    return f"the therapist factor score {name!r}"
